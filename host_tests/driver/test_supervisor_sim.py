"""wip.Supervisor against the simulator: a long unattended run compressed in time.

A sensor-like loop runs N cycles; each cycle sends a TCP record and a UDP datagram to echo
peers and checks the echo by SHA-256. Faults are injected at chosen cycles through the
simulator's control port (bearer loss while idle and while mapped, reboot while idle and
while mapped, a bearer start failure during recovery). Every cycle's data must arrive (after
recovery if needed) and the supervisor's counters must match the injected faults.
"""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wip  # noqa: E402
from test_fault_support import GUARD, TcpPeer, UdpPeer, payload, recv_exactly, sha  # noqa: E402

TIMEOUT = 3.0


class SensorApp:
    """The loop of boards/common's example app, reduced to what the test checks."""

    def __init__(self, modem, sup, tcp_port, udp_port):
        self.modem = modem
        self.sup = sup
        self.tcp_port = tcp_port
        self.udp_port = udp_port
        self.tcp = self.udp = None
        self.gen = -1
        self.errors = []
        self.corrupted = []  # cycles whose echo failed the app's integrity check

    def sockets(self):
        if self.gen != self.sup.generation or self.tcp is None:
            for s in (self.tcp, self.udp):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass
            self.tcp = self.modem.socket(wip.SOCK_STREAM)
            self.tcp.settimeout(TIMEOUT)
            self.tcp.connect(("127.0.0.1", self.tcp_port))
            self.udp = self.modem.socket(wip.SOCK_DGRAM)
            self.udp.settimeout(TIMEOUT)
            self.udp.connect(("127.0.0.1", self.udp_port))
            self.gen = self.sup.generation

    def cycle(self, n, deadline_s=30.0):
        """Send cycle n's record until it is echoed intact; return the attempts it took."""
        record = payload(1500, seed=n)
        datagram = b"cycle-%d-" % n + payload(200, seed=1000 + n)
        end = time.monotonic() + deadline_s
        attempts = 0
        while time.monotonic() < end:
            attempts += 1
            if not self.sup.ensure(timeout=10):
                continue
            try:
                self.sockets()
                self.tcp.sendall(record)
                echoed = recv_exactly(self.tcp, len(record), TIMEOUT * 2)
                if sha(echoed) != sha(record):
                    # Only a reboot in data mode does this (see RELIABILITY.md): an app on
                    # an unreliable module checks integrity end to end, as this one does.
                    self.corrupted.append(n)
                    raise OSError(5, "echo failed the integrity check")
                self.udp.send(datagram)
                if self.udp.recv(5840) != datagram:
                    self.corrupted.append(n)
                    raise OSError(5, "datagram failed the integrity check")
                return attempts
            except OSError as exc:
                self.errors.append((n, exc))
                self.tcp = None
                self.sup.report_error(exc)
        raise AssertionError(f"cycle {n} never completed: {self.errors[-3:]}")


@pytest.fixture
def rig(sim_factory):
    sim = sim_factory(guard_time=GUARD)
    modem = wip.Modem(wip.tcp_stream("127.0.0.1", sim.port), timeout=TIMEOUT, guard_time=GUARD)
    events = []
    sup = wip.Supervisor(modem, "internet", "user", "secret", check_interval=0.3,
                         backoff_initial=0.05, backoff_max=0.4,
                         on_up=lambda s: events.append(("up", s.generation)),
                         on_down=lambda s, reason: events.append(("down", reason)),
                         on_error=lambda s, e: events.append(("error", getattr(e, "code", 0))))
    tcp_peer, udp_peer = TcpPeer(), UdpPeer()
    app = SensorApp(modem, sup, tcp_peer.port, udp_peer.port)
    yield sim, modem, sup, app, events
    tcp_peer.close()
    udp_peer.close()


def test_supervisor_is_exported_lazily():
    assert wip.Supervisor is wip.supervisor.Supervisor


def test_compressed_unattended_run_recovers_from_every_fault(rig):
    sim, modem, sup, app, events = rig
    faults = {
        4: "bearer-loss",           # idle, unmapped
        9: "reboot",                # idle
        14: "bearer-loss mapped",   # while the TCP socket is mapped
        19: "reboot mapped",        # mid data mode: boot lines and echo read as payload
        24: "bearer-fail",          # bearer loss, then the first re-start fails (812)
    }
    cycles = 28
    for n in range(cycles):
        fault = faults.get(n)
        if fault == "bearer-loss":
            assert sim.control("bearer-loss") == "OK"
        elif fault == "reboot":
            modem.command("AT")  # make sure the UART is in AT mode
            assert sim.control("reboot") == "OK"
        elif fault in ("bearer-loss mapped", "reboot mapped"):
            app.tcp.sendall(b"m")  # map the TCP socket
            assert recv_exactly(app.tcp, 1) == b"m"
            assert sim.control(fault.split()[0]) == "OK"
        elif fault == "bearer-fail":
            assert sim.control("bearer-fail 812") == "OK"
            assert sim.control("bearer-loss") == "OK"
        if fault:
            time.sleep(0.1)
        app.cycle(n)
        sup.check()
    assert sup.up
    assert set(app.corrupted) <= {19}, app.corrupted
    assert sup.recoveries == 5, events
    assert sup.bearer_losses == 3, repr((events, app.errors))
    assert sup.reboots == 2, events
    assert sup.failures == 1 and ("error", 812) in events
    assert sup.generation == 6
    downs = [e for e in events if e[0] == "down"]
    assert len(downs) == 5, events


def test_link_up_at_start_needs_no_recovery(rig):
    _, _, sup, app, events = rig
    for n in range(3):
        assert app.cycle(n) == 1
    assert (sup.recoveries, sup.reboots, sup.bearer_losses, sup.failures) == (0, 0, 0, 0)
    assert events == [("up", 1)]


def test_bearer_failures_back_off_then_recover(rig):
    sim, modem, sup, app, events = rig
    app.cycle(0)
    assert sim.control("bearer-fail 812") == "OK"
    assert sim.control("bearer-loss") == "OK"
    sup.report_error()
    t0 = time.monotonic()
    assert sup.ensure(timeout=10)
    assert time.monotonic() - t0 >= 0.05 * 0.75  # waited at least one jittered backoff
    assert sup.failures == 1 and sup.recoveries == 1
    app.cycle(1)


def test_password_is_masked_in_debug_transcript(sim_factory):
    sim = sim_factory(guard_time=GUARD)
    lines = []
    modem = wip.Modem(wip.tcp_stream("127.0.0.1", sim.port), timeout=TIMEOUT,
                      guard_time=GUARD, debug=lambda d, t: lines.append(f"{d} {t}"))
    sup = wip.Supervisor(modem, "internet", "user", "s3cr3t-pw")
    assert sup.ensure(timeout=10)
    transcript = "\n".join(lines)
    assert "AT+WIPBR=2,6,1," in transcript
    assert "s3cr3t-pw" not in transcript
