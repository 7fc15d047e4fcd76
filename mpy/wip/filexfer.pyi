"""Type stubs for wip.filexfer: one +WIPFILE transfer in file data mode."""

from .modem import Modem

_Buffer = bytes | bytearray | memoryview

class FileTransfer:
    """One +WIPFILE transfer in file data mode."""

    proto: int
    idx: int
    m: Modem
    timeout_ms: int
    done: bool
    error: int
    def __init__(self, modem: Modem, timeout_ms: int) -> None: ...
    def readinto(self, buf: bytearray | memoryview, n: int | None = None) -> int: ...
    def write(self, buf: _Buffer) -> int: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...
