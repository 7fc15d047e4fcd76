"""Keep a WIP link up unattended: detect module reboot and bearer loss, recover with backoff.

The supervisor owns no thread. The application calls :meth:`Supervisor.check` (alias
``run_once``) from its main loop; each call is cheap when nothing is wrong and performs at
most one recovery attempt, bounded by the modem's command timeout.

Detection:

* **Module reboot** (guide §8): the module's boot lines ``+WIND: 3`` / ``+WIND: 4`` arrive as
  URCs; a ``reboots`` counter on the Modem, when it keeps one, is honoured too.
* **Bearer loss** (D24): no URC exists for a lost GPRS bearer in client mode, so the
  supervisor reads ``AT+WIPBR?`` (bare ``<bid>,<state>`` lines, D18) every
  ``check_interval`` seconds, and at once after a ``+WIPPEERCLOSE`` URC (a bearer loss closes
  every TCP client with that URC) or after the app reports an error.
* **Stack lost**: ``+CME ERROR: 803`` (D6) from the probe means the stack or bearer is down;
  a plain ``ERROR`` means ``AT+CMEE=1`` was forgotten, so the module rebooted unseen (e.g.
  while the UART was in data mode, where its boot lines read as payload).
* A probe that times out means the module is unresponsive: full re-initialisation.

Recovery is ``modem.start()`` (re-sync, ATE0, CMEE=1, stack) when the module rebooted or did
not answer, then ``modem.gprs(apn, user, password)``; on failure the next attempt waits an
exponentially growing, jittered, bounded delay.

Example (the main loop of a sensor)::

    import time

    import wip
    from wip.supervisor import Supervisor

    modem = wip.Modem(wip.tcp_stream("127.0.0.1", 7000), timeout=10)
    sup = Supervisor(modem, "internet", check_interval=30, backoff_max=300)
    sup.on_up = lambda s: print("link up, ip", s.ip, "recoveries", s.recoveries)
    sup.on_down = lambda s, reason: print("link down:", reason)
    sock = sock_gen = None
    while True:
        if not sup.check():            # link down and still backing off: try later
            time.sleep(1)
            continue
        try:
            if sock is None or sock_gen != sup.generation:
                sock = modem.socket(wip.SOCK_STREAM)   # sockets die with the bearer
                sock.connect(("127.0.0.1", 8000))
                sock_gen = sup.generation
            sock.sendall(read_sensor())
        except OSError as exc:
            sup.report_error(exc)      # makes the next check() probe at once
            sock = None
        time.sleep(10)
"""

try:
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    from time import monotonic as _monotonic

    def ticks_ms():
        return int(_monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b


try:
    from time import sleep_ms as _sleep_ms
except ImportError:  # CPython
    from time import sleep as _sleep

    def _sleep_ms(ms):
        _sleep(ms / 1000)


try:
    from random import getrandbits
except ImportError:  # pragma: no cover - every supported port has it
    def getrandbits(bits):
        return (ticks_ms() * 2654435761) & ((1 << bits) - 1)


GPRS_BID = 6
_STACK_DOWN = 803  # D6: stack or bearer not started
_PLAIN_ERROR = -1  # plain ERROR to a valid command: CMEE is back to 0, i.e. a power-up (§8)

# Reasons reported to on_down and stored in Supervisor.last_reason.
REASON_START = "start"
REASON_REBOOT = "reboot"
REASON_BEARER = "bearer"
REASON_STACK = "stack"
REASON_UNRESPONSIVE = "unresponsive"
REASON_APP = "app"

# Link states.
DOWN = 0
UP = 1


def _error_code(exc):
    code = getattr(exc, "code", None)
    if code is None and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]
    return code


def _never():
    return False


def bearer_started(lines, bid=GPRS_BID):
    """True if the ``AT+WIPBR?`` info lines show bearer ``bid`` started (D18 shapes)."""
    for line in lines:
        if isinstance(line, (bytes, bytearray)):
            line = bytes(line).decode()
        text = line.strip()
        if text.startswith("+WIPBR:"):
            text = text[7:]
        parts = text.replace(" ", "").split(",")
        if len(parts) == 2 and parts[0] == str(bid):
            return parts[1] == "1"
    return False


class Supervisor:
    """Watches a :class:`wip.Modem` and re-establishes stack and GPRS bearer after faults.

    Counters for the app: ``recoveries`` (successful re-establishments after the first
    bring-up), ``reboots`` and ``bearer_losses`` (faults detected), ``attempts`` and
    ``failures`` (recovery attempts made / failed), ``generation`` (bumped at every
    successful bring-up: sockets created under an older generation are dead).
    Callbacks: ``on_up(sup)``, ``on_down(sup, reason)``, ``on_error(sup, exc)``.
    """

    def __init__(self, modem, apn, user="", password="", *, check_interval=30.0,
                 backoff_initial=1.0, backoff_max=300.0, backoff_factor=2.0, jitter=0.25,
                 bid=GPRS_BID, on_up=None, on_down=None, on_error=None):
        if backoff_initial <= 0 or backoff_max < backoff_initial or backoff_factor < 1:
            raise ValueError("backoff")
        if not 0 <= jitter < 1:
            raise ValueError("jitter")
        self.modem = modem
        self.apn = apn
        self.user = user
        self.password = password
        self.bid = bid
        self.check_interval_ms = int(check_interval * 1000)
        self.backoff_initial_ms = int(backoff_initial * 1000)
        self.backoff_max_ms = int(backoff_max * 1000)
        self.backoff_factor = backoff_factor
        self.jitter = jitter
        self.on_up = on_up
        self.on_down = on_down
        self.on_error = on_error
        self.state = DOWN
        self.ip = None
        self.last_reason = REASON_START
        self.last_error = None
        self.recoveries = 0
        self.reboots = 0
        self.bearer_losses = 0
        self.attempts = 0
        self.failures = 0
        self.generation = 0
        self._consecutive_failures = 0
        self._need_start = True
        self._probe_now = False
        self._reboot_seen = False
        self._next_attempt = ticks_ms()
        self._next_probe = ticks_ms()
        self._modem_reboots = getattr(modem, "reboots", 0)
        on_urc = getattr(modem, "on_urc", None)
        if on_urc is not None:
            on_urc("+WIND:", self._on_wind)
            on_urc("+WIPPEERCLOSE:", self._on_peerclose)

    # -- URC hooks (run inside the modem's dispatcher: only set flags) --------------------
    def _on_wind(self, *args):
        self._reboot_seen = True

    def _on_peerclose(self, *args):
        self._probe_now = True

    # -- public API ---------------------------------------------------------------------------
    @property
    def up(self):
        """True while the link is believed to be up."""
        return self.state == UP

    def report_error(self, exc=None):
        """Tell the supervisor an operation failed; the next check() probes at once."""
        self._probe_now = True
        if exc is not None:
            self.last_error = exc
            if _error_code(exc) == _STACK_DOWN:
                self._need_start = True

    def backoff_delay_ms(self, failures):
        """Delay before the attempt that follows ``failures`` consecutive failures."""
        if failures <= 0:
            return 0
        base = self.backoff_initial_ms * self.backoff_factor ** (failures - 1)
        base = min(base, self.backoff_max_ms)
        spread = int(base * self.jitter)
        if spread:
            base += (getrandbits(16) * (2 * spread + 1) >> 16) - spread
        return int(max(0, min(base, self.backoff_max_ms)))

    def check(self):
        """Probe if due, recover if down and the backoff allows. Returns ``self.up``."""
        now = ticks_ms()
        if self.state == UP:
            self._poll_urcs()
            if self._rebooted():
                self._down(REASON_REBOOT)
            elif self._probe_now or ticks_diff(now, self._next_probe) >= 0:
                self._probe_now = False
                self._probe()
        if self.state == DOWN and ticks_diff(ticks_ms(), self._next_attempt) >= 0:
            self._attempt()
        return self.state == UP

    run_once = check

    def ensure(self, timeout=60.0):
        """Block (sleeping between attempts) until the link is up or ``timeout`` s pass."""
        deadline = ticks_add(ticks_ms(), int(timeout * 1000))
        while not self.check():
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                return False
            wait = ticks_diff(self._next_attempt, ticks_ms())
            _sleep_ms(max(1, min(left, wait, 1000)))
        return True

    async def run(self, poll=1.0):
        """asyncio variant: call check() every ``poll`` seconds, forever."""
        import asyncio

        while True:
            self.check()
            await asyncio.sleep(poll)

    # -- internals ---------------------------------------------------------------------------
    def _poll_urcs(self):
        # Handle URCs already received (e.g. +WIND after a reboot), without waiting and
        # without leaving data mode (on real hardware that costs two 1 s guard times).
        modem = self.modem
        if getattr(modem, "mapped", None) is None and hasattr(modem, "wait_for"):
            try:
                modem.wait_for(_never, 0)
            except OSError as exc:
                self.report_error(exc)

    def _rebooted(self):
        count = getattr(self.modem, "reboots", 0)
        if self._reboot_seen or count != self._modem_reboots:
            self._reboot_seen = False
            self._modem_reboots = count
            return True
        return False

    def _read_bearers(self):
        try:
            return self.modem.command("AT+WIPBR?")
        except OSError as exc:
            if _error_code(exc) != _PLAIN_ERROR:
                raise
        # A plain ERROR may be the module's answer to payload bytes that reached it in AT
        # mode after it dropped data mode on its own (reset, bearer loss: D55); that stale
        # reply is consumed now, so ask once more before concluding the module rebooted.
        return self.modem.command("AT+WIPBR?")

    def _probe(self):
        try:
            lines = self._read_bearers()
        except OSError as exc:
            self.last_error = exc
            code = _error_code(exc)
            if self._rebooted() or code == _PLAIN_ERROR:
                self._down(REASON_REBOOT)
            elif code == _STACK_DOWN:
                self._down(REASON_STACK)
            else:
                self._down(REASON_UNRESPONSIVE)
            return
        if self._rebooted():
            self._down(REASON_REBOOT)
        elif not bearer_started(lines, self.bid):
            self._down(REASON_BEARER)
        else:
            self._next_probe = ticks_add(ticks_ms(), self.check_interval_ms)

    def _down(self, reason):
        self.state = DOWN
        self.ip = None
        self.last_reason = reason
        if reason == REASON_REBOOT:
            self.reboots += 1
        elif reason == REASON_BEARER:
            self.bearer_losses += 1
        if reason != REASON_BEARER:
            self._need_start = True
        self._consecutive_failures = 0
        self._next_attempt = ticks_ms()
        if self.on_down is not None:
            self.on_down(self, reason)

    def _attempt(self):
        self.attempts += 1
        self._reboot_seen = False
        try:
            if self._need_start:
                self.modem.start()
                self._need_start = False
            self.ip = self.modem.gprs(self.apn, self.user, self.password)
        except OSError as exc:
            self.failures += 1
            self._consecutive_failures += 1
            self.last_error = exc
            if _error_code(exc) != _STACK_DOWN and not self._need_start:
                # A bearer that cannot come up may be a wedged stack: restart it next time.
                self._need_start = self._consecutive_failures >= 2
            else:
                self._need_start = True
            delay = self.backoff_delay_ms(self._consecutive_failures)
            self._next_attempt = ticks_add(ticks_ms(), delay)
            if self.on_error is not None:
                self.on_error(self, exc)
            return
        self._modem_reboots = getattr(self.modem, "reboots", 0)
        self._reboot_seen = False
        self._probe_now = False
        self._consecutive_failures = 0
        self.last_error = None  # a later on_down must not report an error of an earlier fault
        if self.generation:
            self.recoveries += 1
        self.generation += 1
        self.state = UP
        self._next_probe = ticks_add(ticks_ms(), self.check_interval_ms)
        if self.on_up is not None:
            self.on_up(self)
