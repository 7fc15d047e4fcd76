"""Fault matrix: the driver through the simulator's fault injection (spec Appendix A).

For each fault the app must see a defined outcome (data up to the fault intact, then
WipError / b"" / a working reconnect), the driver must be usable afterwards, and no call may
block past its timeout. Transfers are checked by SHA-256. TCP runs in continuous mode: the
driver does not use transparent mode (wip.modem docstring), so there is no transparent row.
"""

import json
import socket
import struct
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wip  # noqa: E402
from test_fault_support import (  # noqa: E402
    GUARD,
    Elapsed,
    TcpPeer,
    UdpPeer,
    payload,
    recv_exactly,
    sha,
)

TIMEOUT = 3.0  # Modem command timeout
MARGIN = 1.5  # allowed overshoot of a deadline (guard times, +++ exchange, slow CI)


class Link:
    """A started modem with its GPRS bearer up, on a fresh simulator."""

    def __init__(self, sim):
        self.sim = sim
        self.modem = wip.Modem(wip.tcp_stream("127.0.0.1", sim.port), timeout=TIMEOUT,
                               guard_time=GUARD)
        self.modem.start()
        self.ip = self.modem.gprs("internet")
        self.peers = []

    def status(self):
        return json.loads(self.sim.control("status"))

    def tcp_index(self):
        """The module index of the only open TCP client (for the control port faults)."""
        tcp = self.status()["tcp"]
        assert len(tcp) == 1, tcp
        return int(next(iter(tcp)))

    def tcp(self, handler=None, timeout=TIMEOUT):
        peer = TcpPeer(handler)
        self.peers.append(peer)
        s = self.modem.socket(wip.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", peer.port))
        return s, peer

    def udp(self, timeout=TIMEOUT):
        peer = UdpPeer()
        self.peers.append(peer)
        s = self.modem.socket(wip.SOCK_DGRAM)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", peer.port))
        return s, peer

    def echo_ok(self, size=3000):
        """A fresh TCP socket echoes `size` bytes intact: the driver is usable."""
        s, _ = self.tcp()
        data = payload(size, seed=size)
        s.sendall(data)
        got = recv_exactly(s, size)
        s.close()
        assert sha(got) == sha(data)

    def udp_echo_ok(self):
        s, _ = self.udp()
        s.send(b"udp-alive")
        assert s.recv(100) == b"udp-alive"
        s.close()

    def close(self):
        for peer in self.peers:
            peer.close()


@pytest.fixture
def link(sim_factory):
    lk = Link(sim_factory(guard_time=GUARD))
    yield lk
    lk.close()


def later(delay, fn, *args):
    timer = threading.Timer(delay, fn, args)
    timer.daemon = True
    timer.start()
    return timer


def send_then(data, then):
    """A TcpPeer handler: send data, then `then(conn)` ("fin" or "rst")."""

    def handler(peer, conn, index):
        conn.sendall(data)
        time.sleep(0.05)
        if then == "rst":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    return handler


def read_until_fault(s, limit=10.0):
    """Read until b"" or an OSError; return (bytes, exception or None)."""
    out = bytearray()
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except OSError as exc:
            return bytes(out), exc
        if not chunk:
            return bytes(out), None
        out += chunk
    raise AssertionError("no EOF or error within the limit")


# ---- peer close (FIN) ------------------------------------------------------------------

def test_tcp_peer_close_mapped_delivers_everything_then_eof(link):
    data = payload(40000, seed=1)
    s, _ = link.tcp(send_then(data, "fin"))
    got, exc = read_until_fault(s)
    assert exc is None
    assert sha(got) == sha(data)
    with Elapsed() as t:
        assert s.recv(10) == b""
    assert t.seconds < TIMEOUT
    s.close()
    link.echo_ok()


def test_tcp_peer_close_while_unmapped_keeps_unread_data(link):
    data = payload(5000, seed=2)
    s, peer = link.tcp(send_then(data, "fin"))
    peer.wait_conns(1)
    time.sleep(0.3)  # the FIN lands while the socket is not mapped (D53: URC path)
    link.modem.command("AT")
    got, exc = read_until_fault(s)
    assert exc is None and sha(got) == sha(data)
    s.close()
    link.echo_ok()


def test_tcp_peerclose_fault_gives_eof_and_send_still_reaches_peer(link):
    s, peer = link.tcp(TcpPeer.sink)
    s.sendall(b"before")
    peer.wait_received(0, 6)
    assert link.sim.control(f"peerclose {link.tcp_index()}") == "OK"
    with Elapsed() as t:
        assert s.recv(100) == b""
    assert t.seconds <= TIMEOUT + MARGIN
    s.close()
    link.echo_ok()


# ---- peer reset (RST) ------------------------------------------------------------------

def test_tcp_peer_reset_mid_transfer_gives_prefix_then_econnreset(link):
    data = payload(60000, seed=3)
    s, _ = link.tcp(send_then(data, "rst"))
    with Elapsed() as t:
        got, exc = read_until_fault(s)
    assert data.startswith(got), "bytes before the reset must be intact"
    assert isinstance(exc, wip.WipError) and exc.code == 843, exc
    assert t.seconds <= TIMEOUT + MARGIN
    with pytest.raises(wip.WipError) as sent:
        s.sendall(b"after reset")
    assert sent.value.code == 843
    s.close()
    link.echo_ok()


def test_tcp_reset_fault_while_blocked_in_recv(link):
    s, _ = link.tcp(TcpPeer.sink)
    s.sendall(b"x")
    idx = link.tcp_index()
    later(0.3, link.sim.control, f"reset {idx}")
    with Elapsed() as t, pytest.raises(wip.WipError) as err:
        s.recv(100)
    assert err.value.code == 843
    assert t.seconds <= TIMEOUT + MARGIN
    s.close()
    link.echo_ok()


def test_tcp_reset_fault_while_unmapped(link):
    s, peer = link.tcp(TcpPeer.sink)
    s.sendall(b"x")
    peer.wait_received(0, 1)
    link.modem.command("AT")  # leave data mode
    assert link.sim.control(f"reset {link.tcp_index()}") == "OK"
    time.sleep(0.1)
    with Elapsed() as t, pytest.raises(wip.WipError) as err:
        s.recv(100)
    assert err.value.code == 843
    assert t.seconds <= TIMEOUT + MARGIN
    s.close()
    link.echo_ok()


# ---- bearer loss (D24) -----------------------------------------------------------------

def test_tcp_bearer_loss_while_mapped_then_reconnect(link):
    data = payload(20000, seed=4)
    s, _ = link.tcp()
    s.sendall(data)
    assert sha(recv_exactly(s, len(data))) == sha(data)
    later(0.3, link.sim.control, "bearer-loss")
    with Elapsed() as t, pytest.raises(OSError) as err:
        s.recv(100)
    assert t.seconds <= TIMEOUT + MARGIN
    assert isinstance(err.value, wip.WipError), err.value
    s.close()
    link.modem.gprs("internet")
    link.echo_ok()


def test_udp_bearer_loss_then_reconnect(link):
    s, _ = link.udp()
    s.send(b"one")
    assert s.recv(100) == b"one"
    assert link.sim.control("bearer-loss") == "OK"
    with Elapsed() as t, pytest.raises(OSError):
        s.send(b"two")
        s.recv(100)
    assert t.seconds <= TIMEOUT + MARGIN
    s.close()
    link.modem.gprs("internet")
    link.udp_echo_ok()


# ---- module reboot (§8) ----------------------------------------------------------------

def test_reboot_in_at_mode_is_counted_and_recoverable(link):
    before = link.modem.reboots
    s, _ = link.tcp()
    s.sendall(b"ping")
    assert s.recv(10) == b"ping"
    link.modem.command("AT")
    assert link.sim.control("reboot") == "OK"
    time.sleep(0.2)
    with Elapsed() as t, pytest.raises(OSError):
        s.sendall(b"after reboot")
        s.recv(10)
    assert t.seconds <= TIMEOUT + MARGIN
    assert link.modem.reboots == before + 1
    link.modem.start()
    link.modem.gprs("internet")
    link.echo_ok()


def test_reboot_mid_data_mode_resyncs(link):
    s, _ = link.tcp()
    s.sendall(b"ping")
    assert s.recv(10) == b"ping"  # mapped now
    later(0.2, link.sim.control, "reboot")
    with Elapsed() as t:
        try:
            while True:
                s.recv(100)  # whatever arrives is not the peer's: the peer sent nothing
        except OSError:
            pass
    assert t.seconds <= TIMEOUT + MARGIN + 0.2
    # The next command leaves "data mode" with +++ (no OK: the module rebooted), re-syncs,
    # and the rebooted module refuses it: plain ERROR (CMEE=0 after boot) or 803 (D6).
    with Elapsed() as t, pytest.raises(wip.WipError) as err:
        link.modem.command("+WIPBR?")
    assert err.value.code in (-1, 803)
    assert t.seconds <= 2 * TIMEOUT + MARGIN
    link.modem.start()
    link.modem.gprs("internet")
    link.echo_ok()


def test_reboot_mid_data_mode_delivers_no_bogus_bytes(link):
    s, _ = link.tcp()
    s.sendall(b"ping")
    assert s.recv(10) == b"ping"
    later(0.2, link.sim.control, "reboot")
    got = bytearray()
    try:
        while True:
            got += s.recv(100)
    except OSError:
        pass
    assert bytes(got) == b""


# ---- UART noise between responses ------------------------------------------------------

def test_noise_between_responses_tcp(link):
    s, _ = link.tcp()
    for i in range(5):
        s.sendall(b"x")  # keep it honest: map, then leave for a command below
        assert s.recv(1) == b"x"
        assert link.sim.control("noise 300") == "OK"
        lines = link.modem.command("+WIPBR?")
        assert "6,1" in [ln.replace(" ", "") for ln in lines]
        data = payload(2000, seed=10 + i)
        s.sendall(data)
        assert sha(recv_exactly(s, len(data))) == sha(data)
    s.close()


def test_noise_between_responses_udp(link):
    s, _ = link.udp()
    for i in range(5):
        assert link.sim.control("noise 300") == "OK"
        link.modem.command("AT")
        data = payload(1000, seed=20 + i)
        s.send(data)
        assert s.recv(5840) == data


# ---- output split into 1-byte fragments ------------------------------------------------

def test_split_one_byte_tcp_and_commands(link):
    assert link.sim.control("split 1") == "OK"
    try:
        link.modem.command("+WIPBR?")
        s, _ = link.tcp(timeout=10)
        data = payload(300, seed=30)
        s.sendall(data)
        assert sha(recv_exactly(s, len(data), 15)) == sha(data)
    finally:
        link.sim.control("split 0")
    s.close()
    link.echo_ok()


def test_split_one_byte_udp(link):
    s, _ = link.udp(timeout=10)
    assert link.sim.control("split 1") == "OK"
    try:
        data = payload(200, seed=31)
        s.send(data)
        assert s.recv(5840) == data
    finally:
        link.sim.control("split 0")


# ---- host input stalled (flow control) -------------------------------------------------

def test_stall_shorter_than_timeout_tcp_transfer_intact(link):
    s, peer = link.tcp(TcpPeer.sink)
    s.sendall(b"warm")
    peer.wait_received(0, 4)
    data = payload(200000, seed=40)
    assert link.sim.control("stall 800") == "OK"
    with Elapsed() as t:
        s.sendall(data)
    assert t.seconds <= TIMEOUT + MARGIN
    got = peer.wait_received(0, 4 + len(data))
    assert sha(got[4:]) == sha(data)
    s.close()


def test_stall_shorter_than_timeout_udp(link):
    s, _ = link.udp()
    s.send(b"warm")
    assert s.recv(10) == b"warm"
    assert link.sim.control("stall 500") == "OK"
    s.send(b"stalled")
    assert s.recv(100) == b"stalled"


def test_stall_longer_than_timeout_command_times_out_then_recovers(link):
    assert link.sim.control("stall 2500") == "OK"
    with Elapsed() as t, pytest.raises(OSError) as err:
        link.modem.command("+WIPBR?", timeout=0.5)
    assert err.value.errno == 110
    assert t.seconds <= 0.5 + MARGIN
    time.sleep(2.3)
    # The late reply to the timed-out command must not be taken for the next one's.
    apn = link.modem.bearer_option(11)
    assert apn == "internet"
    link.echo_ok()


def test_escape_after_flow_control_stall_keeps_plus_out_of_payload(link):
    s, peer = link.tcp(TcpPeer.sink)
    s.sendall(b"warm")
    peer.wait_received(0, 4)
    data = payload(20000, seed=41)
    assert link.sim.control("stall 300") == "OK"  # the module stops reading (CTS low)
    s.sendall(data)  # accepted by the host side buffers at once
    link.modem.command("AT")  # guard, "+++", guard: must leave data mode cleanly
    s.close()
    time.sleep(0.3)
    assert bytes(peer.received[0]) == b"warm" + data


def test_udp_reboot_then_recover(link):
    s, _ = link.udp()
    s.send(b"before")
    assert s.recv(100) == b"before"
    link.modem.command("AT")
    assert link.sim.control("reboot") == "OK"
    time.sleep(0.1)
    with Elapsed() as t, pytest.raises(OSError):
        s.send(b"after")
        s.recv(100)
    assert t.seconds <= TIMEOUT + MARGIN
    link.modem.start()
    link.modem.gprs("internet")
    link.udp_echo_ok()
