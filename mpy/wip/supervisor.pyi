"""Type stubs for wip.supervisor: recovery from module reboot and bearer loss."""

from collections.abc import Callable
from typing import Any

from .modem import Modem

GPRS_BID: int
REASON_START: str
REASON_REBOOT: str
REASON_BEARER: str
REASON_STACK: str
REASON_UNRESPONSIVE: str
REASON_APP: str
DOWN: int
UP: int

def bearer_started(lines: list[str], bid: int = ...) -> bool: ...

class Supervisor:
    """Watches a Modem and re-establishes stack and GPRS bearer after faults."""

    modem: Modem
    apn: str
    user: str
    password: str
    bid: int
    check_interval_ms: int
    backoff_initial_ms: int
    backoff_max_ms: int
    backoff_factor: float
    jitter: float
    on_up: Callable[[Supervisor], Any] | None
    on_down: Callable[[Supervisor, str], Any] | None
    on_error: Callable[[Supervisor, BaseException], Any] | None
    state: int
    ip: str | None
    generation: int
    recoveries: int
    reboots: int
    bearer_losses: int
    failures: int
    attempts: int
    last_error: BaseException | None
    last_reason: str | None
    def __init__(self, modem: Modem, apn: str, user: str = "", password: str = "", *,
                 check_interval: float = 30.0, backoff_initial: float = 1.0,
                 backoff_max: float = 300.0, backoff_factor: float = 2.0, jitter: float = 0.25,
                 bid: int = ..., on_up: Callable[[Supervisor], Any] | None = None,
                 on_down: Callable[[Supervisor, str], Any] | None = None,
                 on_error: Callable[[Supervisor, BaseException], Any] | None = None) -> None: ...
    @property
    def up(self) -> bool: ...
    def report_error(self, exc: BaseException | None = None) -> None: ...
    def backoff_delay_ms(self, failures: int) -> int: ...
    def check(self) -> bool: ...
    def run_once(self) -> bool: ...
    def ensure(self, timeout: float = 60.0) -> bool: ...
    async def run(self, poll: float = 1.0) -> None: ...
