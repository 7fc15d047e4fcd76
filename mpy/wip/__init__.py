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

from .errors import WipError
from .modem import Modem

# The socket constants, the same values as in wip.socket (defined twice so that `import wip`
# does not load wip.socket: RAM).
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

__all__ = [
    "AF_INET", "IP_TOS", "IP_TTL", "IPPROTO_IP", "IPPROTO_TCP", "IPPROTO_UDP",
    "Modem", "SHUT_RD", "SHUT_RDWR", "SHUT_WR", "SO_REUSEADDR", "SOCK_DGRAM", "SOCK_STREAM",
    "SOL_SOCKET", "Socket", "TCP_NODELAY", "WipError", "serial_stream", "tcp_stream",
]

# Imported on first use (RAM: a board with a UART never loads wip.streams; wip.socket comes
# with the first Modem.socket()).
_LAZY = {
    "Socket": ("socket", "Socket"),
    "tcp_stream": ("streams", "tcp_stream"),
    "serial_stream": ("streams", "serial_stream"),
    "FileTransfer": ("filexfer", "FileTransfer"),
    "Supervisor": ("supervisor", "Supervisor"),
    "supervisor": ("supervisor", None),
    "http": ("http", None),
    "ftp": ("ftp", None),
    "smtp": ("smtp", None),
    "pop3": ("pop3", None),
    "ping": ("ping", None),
    "shim": ("shim", None),
}


def __getattr__(name):
    entry = _LAZY.get(name)
    if entry is None:
        raise AttributeError(name)
    module = __import__("wip." + entry[0], None, None, ["*"])
    value = module if entry[1] is None else getattr(module, entry[1])
    globals()[name] = value
    return value
