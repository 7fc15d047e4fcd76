"""Type stubs for wip.errors: WipError and the errno numbers the driver raises."""

EPERM: int
EIO: int
EBADF: int
EAGAIN: int
EINVAL: int
EPIPE: int
EMSGSIZE: int
ENOPROTOOPT: int
EOPNOTSUPP: int
EADDRINUSE: int
ECONNRESET: int
ENOBUFS: int
EISCONN: int
ENOTCONN: int
ETIMEDOUT: int
EHOSTUNREACH: int
EALREADY: int
ERROR_PLAIN: int

class WipError(OSError):
    """A module error: .code is the module's number (+CME ERROR: n; -1 for a plain ERROR),
    .errno the nearest POSIX errno."""

    code: int
    def __init__(self, code: int, message: str | None = None) -> None: ...

def timeout_error() -> OSError: ...
def again_error() -> OSError: ...
