"""Supervisor logic against a scripted modem and a fake clock: detection, backoff, counters."""

import time

import pytest
import wip.supervisor as supmod
from wip.supervisor import Supervisor, bearer_started


class FakeError(OSError):
    def __init__(self, code):
        super().__init__(code, "fake")
        self.code = code


class FakeModem:
    """Just enough of wip.Modem: command/start/gprs/on_urc, scripted failures, a call log."""

    def __init__(self):
        self.calls = []
        self.urc = {}
        self.bearer_up = False
        self.stack_up = False
        self.start_failures = []
        self.gprs_failures = []
        self.probe_error = None

    def on_urc(self, prefix, cb):
        self.urc[prefix] = cb

    def fire(self, line):
        for prefix, cb in self.urc.items():
            if line.startswith(prefix):
                cb(line)

    def start(self):
        self.calls.append("start")
        if self.start_failures:
            raise self.start_failures.pop(0)
        self.stack_up = True

    def gprs(self, apn, user="", password=""):
        self.calls.append(("gprs", apn, user, password))
        if self.gprs_failures:
            raise self.gprs_failures.pop(0)
        if not self.stack_up:
            raise FakeError(803)
        self.bearer_up = True
        return "127.0.0.1"

    def command(self, cmd):
        self.calls.append(cmd)
        if self.probe_error is not None:
            raise self.probe_error
        assert cmd == "AT+WIPBR?"
        if not self.stack_up:
            raise FakeError(803)
        return ["6,1" if self.bearer_up else "6,0"]

    def lose_bearer(self):
        self.bearer_up = False

    def reboot(self):
        self.bearer_up = self.stack_up = False
        self.fire("+WIND: 3")
        self.fire("+WIND: 4")


class Clock:
    def __init__(self):
        self.now = 1000

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += int(seconds * 1000)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(supmod, "ticks_ms", c)
    return c


def make(modem, **kw):
    events = []
    kw.setdefault("check_interval", 30)
    kw.setdefault("backoff_initial", 1)
    kw.setdefault("backoff_max", 60)
    sup = Supervisor(modem, "internet", "u", "p",
                     on_up=lambda s: events.append(("up", s.generation)),
                     on_down=lambda s, r: events.append(("down", r)),
                     on_error=lambda s, e: events.append(("error", e.code)), **kw)
    return sup, events


def test_first_check_brings_link_up(clock):
    modem = FakeModem()
    sup, events = make(modem)
    assert sup.check() is True
    assert modem.calls == ["start", ("gprs", "internet", "u", "p")]
    assert sup.ip == "127.0.0.1" and sup.generation == 1 and sup.recoveries == 0
    assert events == [("up", 1)]


def test_no_probe_before_interval(clock):
    modem = FakeModem()
    sup, _ = make(modem)
    sup.check()
    modem.calls.clear()
    clock.advance(29)
    assert sup.check() is True
    assert modem.calls == []
    clock.advance(1)
    assert sup.check() is True
    assert modem.calls == ["AT+WIPBR?"]


def test_bearer_loss_detected_by_probe_and_recovered_without_stack_restart(clock):
    modem = FakeModem()
    sup, events = make(modem)
    sup.check()
    modem.lose_bearer()
    modem.calls.clear()
    clock.advance(30)
    assert sup.check() is True
    assert modem.calls == ["AT+WIPBR?", ("gprs", "internet", "u", "p")]
    assert (sup.bearer_losses, sup.reboots, sup.recoveries, sup.generation) == (1, 0, 1, 2)
    assert events[1:] == [("down", "bearer"), ("up", 2)]


def test_peerclose_urc_triggers_immediate_probe(clock):
    modem = FakeModem()
    sup, _ = make(modem)
    sup.check()
    modem.lose_bearer()
    modem.fire("+WIPPEERCLOSE: 2,1")
    assert sup.check() is True
    assert sup.bearer_losses == 1 and sup.recoveries == 1


def test_reboot_urc_detected_without_probe_and_restarts_stack(clock):
    modem = FakeModem()
    sup, events = make(modem)
    sup.check()
    modem.reboot()
    modem.calls.clear()
    assert sup.check() is True
    assert modem.calls == ["start", ("gprs", "internet", "u", "p")]
    assert sup.reboots == 1 and sup.recoveries == 1
    assert ("down", "reboot") in events


def test_modem_reboot_counter_is_honoured(clock):
    modem = FakeModem()
    modem.reboots = 0
    sup, _ = make(modem)
    sup.check()
    modem.reboots = 1
    modem.stack_up = modem.bearer_up = False
    assert sup.check() is True
    assert sup.reboots == 1


def test_stack_down_803_restarts_stack(clock):
    modem = FakeModem()
    sup, events = make(modem)
    sup.check()
    modem.stack_up = modem.bearer_up = False
    sup.report_error(FakeError(803))
    modem.calls.clear()
    assert sup.check() is True
    assert modem.calls[:2] == ["AT+WIPBR?", "start"]
    assert ("down", "stack") in events


def test_unresponsive_module_restarts(clock):
    modem = FakeModem()
    sup, events = make(modem)
    sup.check()
    modem.probe_error = OSError(110, "ETIMEDOUT")
    clock.advance(30)
    modem.calls.clear()
    modem.stack_up = False
    assert sup.check() is True
    assert "start" in modem.calls
    assert ("down", "unresponsive") in events


def test_exponential_backoff_is_bounded(clock):
    modem = FakeModem()
    sup, events = make(modem, backoff_initial=1, backoff_max=8, jitter=0)
    modem.gprs_failures = [FakeError(812)] * 7
    attempt_times = []
    for _ in range(200):
        before = sup.attempts
        sup.check()
        if sup.attempts != before:
            attempt_times.append(clock.now)
        if sup.up:
            break
        clock.advance(0.5)
    gaps = [(b - a) / 1000 for a, b in zip(attempt_times, attempt_times[1:], strict=False)]
    assert gaps == [1, 2, 4, 8, 8, 8, 8]
    assert sup.failures == 7 and sup.attempts == 8 and sup.up
    assert events.count(("error", 812)) == 7


def test_jitter_spreads_delays_within_bounds(clock):
    sup, _ = make(FakeModem(), backoff_initial=10, backoff_max=100, jitter=0.25)
    delays = {sup.backoff_delay_ms(2) for _ in range(300)}
    assert min(delays) >= 15000 and max(delays) <= 25000
    assert len(delays) > 50
    capped = [sup.backoff_delay_ms(20) for _ in range(300)]
    assert max(capped) <= 100000 and min(capped) >= 75000


def test_repeated_bearer_failures_escalate_to_stack_restart(clock):
    modem = FakeModem()
    sup, _ = make(modem, jitter=0)
    sup.check()
    modem.lose_bearer()
    modem.gprs_failures = [FakeError(812), FakeError(812)]
    sup.report_error()
    modem.calls.clear()
    for _ in range(40):
        if sup.check():
            break
        clock.advance(0.5)
    assert sup.up
    assert modem.calls.count("start") == 1
    assert modem.calls.index("start") > 2


def test_last_error_is_cleared_once_the_link_is_back(clock):
    modem = FakeModem()
    sup, _ = make(modem, jitter=0)
    sup.check()
    modem.lose_bearer()
    modem.gprs_failures = [FakeError(812)]
    sup.report_error()
    sup.check()
    assert sup.last_error is not None and sup.last_error.code == 812
    for _ in range(20):
        if sup.check():
            break
        clock.advance(0.5)
    assert sup.up
    assert sup.last_error is None


def test_rejects_bad_backoff():
    with pytest.raises(ValueError):
        Supervisor(FakeModem(), "apn", backoff_initial=10, backoff_max=1)
    with pytest.raises(ValueError):
        Supervisor(FakeModem(), "apn", jitter=1.5)


@pytest.mark.parametrize(
    "lines, expected",
    [
        (["6,1"], True),
        (["1,0", "6,1"], True),
        (["+WIPBR: 6,1"], True),
        ([b"6, 1"], True),
        (["6,0"], False),
        ([], False),
        (["5,1"], False),
        (["+WIPBR: 6,11,\"internet\""], False),
    ],
)
def test_bearer_started_parses_read_reply(lines, expected):
    assert bearer_started(lines) is expected


def test_plain_error_twice_on_probe_means_reboot(clock):
    modem = FakeModem()
    sup, events = make(modem)
    sup.check()
    modem.stack_up = modem.bearer_up = False
    modem.probe_error = FakeError(-1)  # CMEE=0 again: the module forgot our init
    sup.report_error()
    sup.check()
    assert ("down", "reboot") in events and sup.reboots == 1
    assert modem.calls.count("AT+WIPBR?") == 2


def test_single_stale_plain_error_is_asked_again(clock):
    modem = FakeModem()
    sup, events = make(modem)
    sup.check()
    modem.lose_bearer()
    stale = [FakeError(-1)]
    real_command = modem.command

    def command(cmd):
        if stale:
            modem.calls.append(cmd)
            raise stale.pop()
        return real_command(cmd)

    modem.command = command
    sup.report_error()
    assert sup.check() is True
    assert ("down", "bearer") in events and sup.reboots == 0 and sup.bearer_losses == 1


def test_asyncio_run_keeps_checking():
    import asyncio

    modem = FakeModem()
    sup = Supervisor(modem, "internet", check_interval=0.05, backoff_initial=0.01)

    async def main():
        task = asyncio.create_task(sup.run(poll=0.01))
        await asyncio.sleep(0.2)
        task.cancel()

    asyncio.run(main())
    assert sup.up and sup.generation == 1
    assert modem.calls.count("AT+WIPBR?") >= 2  # probed again after check_interval


def test_ensure_gives_up_at_its_deadline():
    modem = FakeModem()
    modem.start_failures = [FakeError(812)] * 100
    sup = Supervisor(modem, "internet", backoff_initial=0.05, backoff_max=0.1)
    t0 = time.monotonic()
    assert sup.ensure(timeout=0.4) is False
    assert 0.35 <= time.monotonic() - t0 <= 1.0
    assert 3 <= sup.attempts <= 10
