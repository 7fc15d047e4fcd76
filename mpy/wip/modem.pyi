"""Type stubs for wip.modem: the Modem that owns the UART and every channel."""

from collections.abc import Callable
from typing import Any, Protocol

from .filexfer import FileTransfer
from .ftp import FTP
from .http import HttpResponse
from .pop3 import POP3
from .shim import SocketModule
from .smtp import SMTP
from .socket import Socket

_Buffer = bytes | bytearray | memoryview

class _Stream(Protocol):
    """What a Modem talks through: machine.UART, wip.tcp_stream(), wip.serial_stream()."""

    def readinto(self, buf: bytearray | memoryview) -> int | None: ...
    def write(self, buf: _Buffer) -> int | None: ...

class Modem:
    """A WIP Soft module on a byte stream.

    The methods with a docstring here are served by ``Modem.__getattr__`` from modules
    imported when called (RAM, see wip.modem); the others are defined on the class."""

    timeout_ms: int
    guard_ms: int
    udp_linger_ms: int
    pending_size: int
    debug: Callable[[str, str], Any] | None
    bearer_up: bool
    started: bool
    reboots: int
    @property
    def mapped(self) -> Socket | None: ...
    def __init__(self, stream: _Stream, timeout: float = 10, guard_time: float = 1.0,
                 rx_size: int = 256, line_size: int = 256, pending_size: int = 256,
                 tx_size: int = 256, debug: Callable[[str, str], Any] | None = None,
                 udp_linger: float | None = None) -> None: ...
    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Run the receive loop (in AT mode) until predicate() is true or timeout seconds."""
    def on_urc(self, prefix: str, callback: Callable[[str], Any] | None) -> None:
        """Call callback(line) for each URC line that starts with prefix."""
    def peer_closed(self, proto: int, idx: int) -> bool: ...
    def wait_ready(self, proto: int, idx: int, timeout: float | None = None) -> None:
        """Wait for +WIPREADY: proto,idx; WipError for an unsolicited +CME ERROR (D8)."""
    def quote(self, value: str) -> str: ...
    def mask(self, secret: str) -> None:
        """Replace secret by *** in the debug transcript."""
    def command(self, cmd: str, timeout: float | None = None) -> list[str]: ...
    def file_open(self, args: str, timeout: float | None = None) -> FileTransfer:
        """``AT+WIPFILE=<args>``; a FileTransfer once CONNECT came, else WipError (D49)."""
    def resync(self) -> bool:
        """Guarded "+++", then "AT" until OK: back to a known AT-mode state (spec §8 step 1)."""
    def start(self) -> None:
        """Sync with the module and start the IP stack (spec §8 "Recommended driver init")."""
    def gprs(self, apn: str, user: str = "", password: str = "",
             timeout: float | None = None) -> str:
        """Open, configure and start the GPRS bearer (bid 6); return the local IP address."""
    def bearer_option(self, opt: int, bid: int = 6) -> str | int:
        """``AT+WIPBR=3,bid,opt``: the value (str or int)."""
    def stop_gprs(self) -> None:
        """Stop and close the GPRS bearer; every socket is released (D24)."""
    def stop(self) -> None:
        """Stop the IP stack (releases everything, D16)."""
    def version(self) -> str:
        """``AT+WIPCFG=3``: the two version lines joined by a newline (D15)."""
    def config(self, opt: int | None = None, value: int | None = None) -> Any:
        """config() -> {opt: value}; config(opt) -> int; config(opt, v) sets."""
    def socket(self, type: int = 1, proto: int = 0) -> Socket: ...
    def getaddrinfo(self, host: str, port: int, family: int = 0, type: int = 0, proto: int = 0,
                    flags: int = 0) -> list[tuple[int, int, int, str, tuple[str, int]]]:
        """socket.getaddrinfo's shape. The module resolves names itself (at create time)."""
    def http_request(self, method: str, url: str, data: _Buffer | str | None = None,
                     headers: dict[str, str] | None = None, **kwargs: Any) -> HttpResponse:
        """wip.http.request(self, method, url, ...)."""
    def http_get(self, url: str, headers: dict[str, str] | None = None,
                 **kwargs: Any) -> HttpResponse:
        """http_request("GET", url, ...)."""
    def ftp(self, host: str, user: str, password: str, port: int = 21, passive: bool = True,
            binary: bool = True, **kwargs: Any) -> FTP:
        """wip.ftp.FTP(self, host, user, password, ...)."""
    def smtp(self, host: str, port: int = 25, user: str | None = None,
             password: str | None = None, **kwargs: Any) -> SMTP:
        """wip.smtp.SMTP(self, host, ...)."""
    def pop3(self, host: str, user: str, password: str, port: int = 110,
             **kwargs: Any) -> POP3:
        """wip.pop3.POP3(self, host, user, password, ...)."""
    def ping(self, host: str, count: int = 4, interval_ms: int = 1000, timeout_ms: int = 2000,
             size: int = 32, ttl: int | None = 64) -> list[int | None]:
        """wip.ping.ping(self, host, ...): round-trip times in ms, None for a lost reply."""
    def socket_module(self) -> SocketModule:
        """A `socket`-module lookalike on this modem (wip.shim), for umqtt/requests."""
