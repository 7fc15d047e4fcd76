"""Type stubs for wip.smtp: SMTP sessions over +WIPCREATE=6 / +WIPFILE."""

from typing import Any

from .modem import Modem

PROTO: int
OPT_STATUS: int
OPT_SENDER: int
OPT_SENDER_NAME: int
OPT_TO: int
OPT_CC: int
OPT_BCC: int
OPT_SUBJECT: int
OPT_FORMAT_HEADER: int

class SMTP:
    """An SMTP session factory/holder."""

    m: Modem
    host: str
    port: int
    timeout: float
    closed: bool
    def __init__(self, m: Modem, host: str, port: int = 25, user: str | None = None,
                 password: str | None = None, timeout: float = 30,
                 chunk: int = 512) -> None: ...
    def __enter__(self) -> SMTP: ...
    def __exit__(self, *exc: Any) -> None: ...
    def is_open(self) -> bool: ...
    def open(self) -> None: ...
    def send(self, sender: str, to: str | list[str], subject: str,
             body: bytes | bytearray | str, cc: str | list[str] | None = None,
             bcc: str | list[str] | None = None, sender_name: str | None = None,
             format_header: bool = True) -> int: ...
    def status(self) -> tuple[int, str]: ...
    def close(self) -> None: ...
