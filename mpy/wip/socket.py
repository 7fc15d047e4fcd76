"""Sockets over the module's channels: TCP client, TCP server, UDP (spec §1.2, §2.3-§2.7).

A Socket holds per-channel state only (index, pending bytes, URC bookkeeping); every byte
moves through its Modem. How CPython's socket calls map onto AT commands, which indices are
used, and what ``sendto`` can reach is explained in ``wip.modem``'s docstring.

Until it is connected, bound or used, a Socket has no module object (index 0).
Options set before that are applied right after ``+WIPCREATE``.

RAM: this module holds the TCP data path only. The other methods are listed in
``Socket._ELSEWHERE`` and reached through ``Socket.__getattr__`` (one function instead of a
forwarding method each): connect (``wip._setup``), bind, listen, accept, shutdown, options
(``wip._sockops``) are imported for each call and dropped again; the UDP datagram path
(``wip._udp``) and the rarer stream calls (``wip._sockio``: readline, read to EOF,
gettimeout, setblocking, makefile) stay loaded once used. State a socket rarely changes has
its default on the class, so the instance dict of a TCP client stays small.
"""

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


# The socket constants are the package's (wip/__init__ defines them, so `import wip` does not
# load this module), re-exported for `from wip.socket import SOCK_STREAM`.
from . import AF_INET as AF_INET
from . import IP_TOS as IP_TOS
from . import IP_TTL as IP_TTL
from . import IPPROTO_IP as IPPROTO_IP
from . import IPPROTO_TCP as IPPROTO_TCP
from . import IPPROTO_UDP as IPPROTO_UDP
from . import SHUT_RD as SHUT_RD
from . import SHUT_RDWR as SHUT_RDWR
from . import SHUT_WR as SHUT_WR
from . import SO_REUSEADDR as SO_REUSEADDR
from . import SOCK_DGRAM as SOCK_DGRAM
from . import SOCK_STREAM as SOCK_STREAM
from . import SOL_SOCKET as SOL_SOCKET
from . import TCP_NODELAY as TCP_NODELAY
from .errors import WipError
from .modem import _call, _lookup

_P_UDP = const(1)
_P_TCP = const(2)


class Socket:
    """A CPython-like socket on a WIP Soft channel."""

    peer_closed = False
    eof = False
    dead = 0
    ready = False
    closed = False
    peer = None
    lport = 0
    bound = False
    connected = False
    server = None  # the listening Socket that accepted this one
    sender = None  # UDP: the mapping's current sender (D66)
    acceptq = None  # a listening socket: accepted connections not yet returned (a list)
    range = None  # a listening socket: its reserved TCP indices (first, last), D30
    dq = None  # UDP: complete datagrams (bytes, sender) not yet read (a list once used)
    dgram = None  # UDP: (size, ip, port) of the datagram announced by +WIPDATA
    opts = None  # +WIPOPT number -> value, applied after +WIPCREATE (dict once used)
    reuse = 0  # SO_REUSEADDR: accepted, no module equivalent
    # Methods kept in other modules (see __getattr__ and wip.modem._lookup).
    _ELSEWHERE = (" connect=_setup bind=_sockops listen=_sockops accept=_sockops"
                  " shutdown=_sockops setsockopt=_sockops getsockopt=_sockops sendto=_udp"
                  " recvfrom=_udp readline=_sockio gettimeout=_sockio makefile=_sockio"
                  " setblocking=_sockio ")

    def __init__(self, modem, type=SOCK_STREAM):
        if type != SOCK_STREAM and type != SOCK_DGRAM:
            raise ValueError("SOCK_STREAM or SOCK_DGRAM")
        self.m = modem
        self.type = type
        self.proto = _P_TCP if type == SOCK_STREAM else _P_UDP
        self.idx = 0
        self.timeout_ms = -1
        self.pbuf = bytearray(modem.pending_size or 64)
        self.p0 = 0
        self.p1 = 0
        self.hint = 0

    def __getattr__(self, name):
        """The methods named in _ELSEWHERE: ``wip.<module>.<function>(self, ...)``."""
        where = _lookup(self._ELSEWHERE, name)
        if where is None:
            raise AttributeError(name)
        return lambda *args, **kwargs: _call(self, where[0], where[1], *args, **kwargs)

    # ---- hooks used by the Modem ------------------------------------------------------

    def _unmapped(self, code):
        if code:
            self.dead = code

    def _sink(self):
        """Room at the end of the pending buffer (grown if needed: never lose data)."""
        buf = self.pbuf
        if len(buf) - self.p1 < 64:
            if self.p0:
                n = self.p1 - self.p0
                buf[0:n] = bytes(buf[self.p0:self.p1])
                self.p0 = 0
                self.p1 = n
            if len(buf) - self.p1 < 64:
                buf.extend(bytearray(len(buf) if len(buf) >= 64 else 64))
        return buf, self.p1, len(buf)

    def _take(self, dst, n):
        k = self.p1 - self.p0
        if k > n:
            k = n
        dst[0:k] = memoryview(self.pbuf)[self.p0:self.p0 + k]
        self.p0 += k
        if self.p0 == self.p1:
            self.p0 = self.p1 = 0
        return k

    # ---- timeouts ---------------------------------------------------------------------

    def settimeout(self, value):
        """None blocks, 0 is non-blocking (EAGAIN), t > 0 raises ETIMEDOUT after t s."""
        if value is None:
            self.timeout_ms = -1
        elif value < 0:
            raise ValueError("timeout must be >= 0")
        else:
            self.timeout_ms = int(value * 1000)

    # ---- data -------------------------------------------------------------------------

    def sendall(self, data):
        """TCP: send every byte (mapped in continuous mode). UDP: one datagram to the peer."""
        if self.closed:
            raise OSError(9, "socket closed")
        if isinstance(data, str):
            data = data.encode()
        if self.proto == _P_UDP or self.type == SOCK_DGRAM:
            return _call(self, "_udp", "sendall", data)
        if self.dead:
            raise WipError(self.dead)
        if self.idx == 0:
            raise OSError(107, "socket not connected")  # ENOTCONN
        self.m._map(self)
        self.m._send_encoded(data)

    def send(self, data):
        self.sendall(data)
        return len(data.encode() if isinstance(data, str) else data)

    write = send  # a stream's write(); an alias costs no function object (RAM)

    def recv_into(self, buf, nbytes=0):
        """Up to nbytes (default len(buf)) into buf; 0 at EOF. No allocation when mapped."""
        n = nbytes if nbytes else len(buf)
        if self.type == SOCK_DGRAM:
            data = _call(self, "_udp", "recvfrom", n)[0]
            k = len(data) if len(data) < n else n
            buf[0:k] = data[:k]
            return k
        return self.m._recv(self, buf, n, self.timeout_ms)

    def recv(self, n):
        if self.type == SOCK_DGRAM:
            return _call(self, "_udp", "recvfrom", n)[0]
        buf = bytearray(n)
        k = self.m._recv(self, buf, n, self.timeout_ms)
        return bytes(buf) if k == n else bytes(memoryview(buf)[:k])

    def read(self, n=-1):
        """Stream read: n bytes, fewer only at EOF; n < 0 reads to EOF."""
        if n is None or n < 0:
            return _call(self, "_sockio", "read_all")
        buf = bytearray(n)
        k = self.readinto(buf)
        return bytes(buf) if k == n else bytes(memoryview(buf)[:k])

    def readinto(self, buf, nbytes=0):
        """Stream readinto: fill buf (or nbytes of it) unless EOF comes first."""
        n = nbytes if nbytes else len(buf)
        mv = memoryview(buf)
        got = 0
        while got < n:
            k = self.recv_into(mv[got:n]) if got else self.recv_into(buf, n)
            if not k:
                break
            got += k
        return got

    def close(self):
        """AT+WIPCLOSE (TCP: unsent data is flushed, then FIN; D39)."""
        if not self.closed:
            _call(self, "_sockops", "close")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
