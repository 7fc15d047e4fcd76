"""micropython-wip: internet sockets through a Wavecom module running WIP Soft.

    import wip
    m = wip.Modem(wip.tcp_stream("127.0.0.1", 7000), timeout=10, guard_time=1.0)
    m.start()
    ip = m.gprs("internet")
    with m.socket(wip.SOCK_STREAM) as s:
        s.connect(("127.0.0.1", 8000))
        s.sendall(b"hello")
        print(s.recv(512))

On a board pass ``machine.UART(1, 115200, tx=..., rx=..., rxbuf=4096)`` instead of
``tcp_stream``. How sockets map onto the AT interface: ``wip.modem``. Optional parts
(``wip.Supervisor``, the http/ftp/smtp/pop3/ping helpers, the socket shim) are imported on
first use.
"""

from .errors import WipError as WipError
from .modem import Modem as Modem
from .modem import _lookup

# The socket constants (here, not in wip.socket, which re-exports them: `import wip` does not
# load wip.socket, RAM).
AF_INET = 2
SOCK_STREAM = 1
SOCK_DGRAM = 2
IPPROTO_IP = 0
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
SO_REUSEADDR = 2
TCP_NODELAY = 1
IP_TOS = 1
IP_TTL = 2
SHUT_RD = 0
SHUT_WR = 1
SHUT_RDWR = 2

# Imported on first use, see wip.modem._lookup (RAM: a board with a UART never loads
# wip.streams; wip.socket comes with the first Modem.socket()). Submodules too (below).
_LAZY = (" Socket=socket tcp_stream=streams serial_stream=_serial:open FileTransfer=filexfer"
         " Supervisor=supervisor supervisor=supervisor: http=http: ftp=ftp: smtp=smtp:"
         " pop3=pop3: ping=ping: shim=shim: ")


def __getattr__(name):
    """A name of _LAZY, or a submodule not imported yet.

    The second as CPython does it: MicroPython asks the package's __getattr__ before it
    imports ``from wip import streams`` (or ``from . import x`` inside the package), so
    refusing would make that fail until something else had imported the submodule.
    """
    where = _lookup(_LAZY, name) or (name, "")
    full = "wip." + where[0]
    try:
        module = __import__(full, None, None, ["*"])
    except ImportError as exc:
        if full not in str(exc):  # the submodule exists but failed to import
            raise
        raise AttributeError(name) from None
    value = getattr(module, where[1]) if where[1] else module
    globals()[name] = value
    return value
