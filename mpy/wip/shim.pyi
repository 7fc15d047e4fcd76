"""Type stubs for wip.shim: a `socket` module backed by a wip.Modem."""

from .modem import Modem
from .socket import Socket

EAFNOSUPPORT: int

class ShimSocket(Socket):
    """A wip socket with MicroPython's native stream semantics for write() and read()."""

    def settimeout(self, value: float | None) -> None: ...
    def setblocking(self, flag: bool) -> None: ...
    def write(self, buf: bytes | bytearray | memoryview, n: int | None = None) -> int: ...
    def read(self, n: int = -1) -> bytes | None: ...
    def readinto(self, buf: bytearray | memoryview, nbytes: int = 0) -> int | None: ...

class SocketModule:
    """Module-like object: install it as sys.modules["socket"]."""

    AF_INET: int
    SOCK_STREAM: int
    SOCK_DGRAM: int
    IPPROTO_IP: int
    IPPROTO_TCP: int
    IPPROTO_UDP: int
    SOL_SOCKET: int
    SO_REUSEADDR: int
    TCP_NODELAY: int
    IP_TTL: int
    IP_TOS: int
    error: type[OSError]
    timeout: type[OSError]
    gaierror: type[OSError]
    modem: Modem
    def __init__(self, modem: Modem) -> None: ...
    def socket(self, af: int = ..., type: int = ..., proto: int = 0) -> ShimSocket: ...
    def getaddrinfo(self, host: str, port: int, af: int = 0, type: int = 0, proto: int = 0,
                    flags: int = 0) -> list[tuple[int, int, int, str, tuple[str, int]]]: ...
    @staticmethod
    def inet_pton(af: int, text: str) -> bytes: ...
    @staticmethod
    def inet_ntop(af: int, packed: bytes) -> str: ...

def socket_module(modem: Modem) -> SocketModule: ...
