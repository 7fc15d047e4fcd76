"""A `socket` module backed by a wip.Modem, for libraries that `import socket`.

    sys.modules["socket"] = modem.socket_module()   # before importing the library
    from umqtt.simple import MQTTClient             # or: import requests

Everything a socket user takes from the module is here: socket(), getaddrinfo(), the AF_/
SOCK_/IPPROTO_/SOL_/SO_/TCP_/IP_ constants, inet_pton()/inet_ntop(), and error/timeout
aliases. Sockets are the driver's own wip sockets with the stream behaviours of
MicroPython's native sockets added: `write(buf, n)` writes the first n bytes (umqtt uses it),
and a non-blocking `read()`/`readinto()` returns None when no data is waiting (umqtt's
check_msg) instead of raising EAGAIN.

One deliberate difference: `setblocking(True)` restores the last timeout given to
`settimeout(t)` instead of blocking forever (`settimeout(None)` still means forever).
umqtt.simple calls setblocking(True) after every message; after a module reboot (spec §8:
sockets vanish without a URC, and the boot lines arrive as data) a read would otherwise
never return, while with the timeout of `MQTTClient.connect(timeout=t)` it raises
OSError(ETIMEDOUT) and the app can recover.

Connections returned by a shim server socket's accept() are plain wip sockets.
"""

from .errors import EAGAIN, EINVAL
from .socket import (
    AF_INET,
    IP_TOS,
    IP_TTL,
    IPPROTO_IP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOL_SOCKET,
    TCP_NODELAY,
    Socket,
)

EAFNOSUPPORT = 97


class ShimSocket(Socket):
    """A wip socket with MicroPython's native stream semantics for write() and read()."""

    _blocking_timeout = None  # seconds; what setblocking(True) restores

    def settimeout(self, value):
        Socket.settimeout(self, value)
        if value is None or value > 0:
            self._blocking_timeout = value

    def setblocking(self, flag):
        Socket.settimeout(self, self._blocking_timeout if flag else 0)

    def write(self, buf, n=None):
        if n is not None and n < len(buf):
            buf = memoryview(buf)[:n]
        self.sendall(buf)
        return len(buf)

    def _would_block(self):
        return self.type == SOCK_STREAM and self.timeout_ms == 0

    def read(self, n=-1):
        if self._would_block():
            try:
                return self.recv(n if n is not None and n >= 0 else 512)
            except OSError as exc:
                if exc.args[0] == EAGAIN:
                    return None
                raise
        return Socket.read(self, n)

    def readinto(self, buf, nbytes=0):
        if self._would_block():
            try:
                return self.recv_into(buf, nbytes)
            except OSError as exc:
                if exc.args[0] == EAGAIN:
                    return None
                raise
        return Socket.readinto(self, buf, nbytes)


class SocketModule:
    """Module-like object: install it as sys.modules["socket"]."""

    __name__ = "socket"
    AF_INET = AF_INET
    SOCK_STREAM = SOCK_STREAM
    SOCK_DGRAM = SOCK_DGRAM
    IPPROTO_IP = IPPROTO_IP
    IPPROTO_TCP = IPPROTO_TCP
    IPPROTO_UDP = IPPROTO_UDP
    SOL_SOCKET = SOL_SOCKET
    SO_REUSEADDR = SO_REUSEADDR
    TCP_NODELAY = TCP_NODELAY
    IP_TTL = IP_TTL
    IP_TOS = IP_TOS
    error = OSError
    timeout = OSError
    gaierror = OSError

    def __init__(self, modem):
        self.modem = modem

    def socket(self, af=AF_INET, type=SOCK_STREAM, proto=0):
        """A new wip socket on this module's modem (TCP or UDP over IPv4 only)."""
        if af != AF_INET:
            raise OSError(EAFNOSUPPORT, "AF_INET only")
        if type != SOCK_STREAM and type != SOCK_DGRAM:
            raise OSError(EINVAL, "SOCK_STREAM or SOCK_DGRAM")
        return ShimSocket(self.modem, type)

    def getaddrinfo(self, host, port, af=0, type=0, proto=0, flags=0):
        """Resolve `host` through the module: [(AF_INET, type, proto, "", (ip, port))],
        one entry (SOCK_STREAM when `type` is 0), as on MicroPython's lwIP ports."""
        kind = type or SOCK_STREAM
        proto = self.IPPROTO_UDP if kind == SOCK_DGRAM else self.IPPROTO_TCP
        return [(AF_INET, kind, proto, "", entry[-1])
                for entry in self.modem.getaddrinfo(host, port)[:1]]

    @staticmethod
    def inet_pton(af, text):
        """Dotted quad -> 4 bytes."""
        if af != AF_INET:
            raise OSError(EAFNOSUPPORT)
        parts = text.split(".")
        if len(parts) != 4:
            raise OSError(EINVAL)
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise OSError(EINVAL) from None
        if not all(0 <= v <= 255 for v in values):
            raise OSError(EINVAL)
        return bytes(values)

    @staticmethod
    def inet_ntop(af, packed):
        """4 bytes -> dotted quad."""
        if af != AF_INET or len(packed) != 4:
            raise OSError(EINVAL)
        return "%d.%d.%d.%d" % tuple(packed)


def socket_module(modem):
    """The `socket`-module object for `modem` (what Modem.socket_module() returns); one per
    modem, so `sys.modules["socket"] is modem.socket_module()` holds."""
    module = getattr(modem, "_socket_module", None)
    if module is None:
        module = SocketModule(modem)
        modem._socket_module = module
    return module
