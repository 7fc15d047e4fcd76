"""The host thread losing the CPU around the escape from data mode.

Found under CPU starvation (the load test with a 20 ms guard and busy cores): the module's
OK to "+++" was read while the driver still treated input as payload, so "\\r\\nOK\\r\\n"
turned up in a socket's data and the driver went on waiting for an OK. A StallingStream
reproduces the two moments where that can happen, with a stall of 1.5 G: right after the
"+++" has gone out (before write() returns), and in the first read after it. Either way the
OK arrives while the driver is not looking; it must still end data mode, and no byte of it
may reach the socket.
"""

import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wip  # noqa: E402
from test_fault_support import (  # noqa: E402
    OK_UNIT,
    TcpPeer,
    payload,
    recv_exactly,
    recv_to_eof,
)

GUARD = 0.05


class StallingStream:
    """A driver stream that sleeps 1.5 G once, after the next "+++" is written: in that
    write() call ("write") or in the next readinto() ("read")."""

    def __init__(self, inner):
        self.inner = inner
        self.where = None
        self.before = None
        self.stalls = 0
        self._stall_read = False

    def arm(self, where, before=None):
        """Stall after the next "+++"; call before() just before it is written."""
        self.where = where
        self.before = before

    def _stall(self):
        self.where = None
        self.stalls += 1
        time.sleep(1.5 * GUARD)

    def write(self, data):
        if self.where and self.before and bytes(data) == b"+++":
            self.before()
        n = self.inner.write(data)
        if self.where and bytes(data) == b"+++":
            if self.where == "write":
                self._stall()
            else:
                self._stall_read = True
        return n

    def readinto(self, buf):
        if self._stall_read:
            self._stall_read = False
            self._stall()
        return self.inner.readinto(buf)

    def __getattr__(self, name):  # pollable, flush, close
        return getattr(self.inner, name)


@pytest.mark.parametrize("where", ["write", "read"])
def test_a_stall_around_the_escape_keeps_the_ok_out_of_the_data(sim_factory, where):
    sim = sim_factory(guard_time=GUARD)
    stream = StallingStream(wip.tcp_stream("127.0.0.1", sim.port))
    modem = wip.Modem(stream, timeout=5, guard_time=GUARD)
    modem.start()
    modem.gprs("internet")
    peer = TcpPeer()  # echoes
    try:
        with modem.socket() as s:
            s.settimeout(5)
            s.connect(("127.0.0.1", peer.port))
            for round_ in range(3):
                data = payload(3000, seed=round_)
                s.sendall(data)
                assert recv_exactly(s, len(data)) == data
                stream.arm(where)
                assert modem.command("AT") == []  # leaves data mode through the stall
                assert stream.stalls == round_ + 1
                assert modem.mapped is None
            tail = payload(3000, seed=99)
            s.sendall(tail)
            assert recv_exactly(s, len(tail)) == tail  # nothing of an OK in between
    finally:
        peer.close()


def test_a_stall_with_ok_lines_in_flight_keeps_every_byte(sim_factory):
    """OK lines on the wire when "+++" goes out, and the host stalled 1.5 G in its next read.

    Just before each "+++" the peer sends 2048 CR LF OK CR LF units and they reach the host's
    side of the wire; the module sent them before the "+++", so they are payload (§3.9), yet
    the driver reads them after the 0.9 G window, spelling the OK again and again (Appendix
    B). Only the last OK before the line goes quiet is the module's: every unit must reach
    the app, and no command the peer.
    """
    sim = sim_factory(guard_time=GUARD)
    stream = StallingStream(wip.tcp_stream("127.0.0.1", sim.port))
    modem = wip.Modem(stream, timeout=5, guard_time=GUARD)
    modem.start()
    modem.gprs("internet")
    peer = TcpPeer(TcpPeer.sink)
    units = 0

    def send_ok_lines():
        nonlocal units
        peer.conns[0].sendall(OK_UNIT * 2048)
        units += 2048
        time.sleep(0.02)  # on the wire before the "+++" (the module holds back after it)

    try:
        with modem.socket() as s:
            s.settimeout(5)
            s.connect(("127.0.0.1", peer.port))
            got = bytearray()
            for round_ in range(3):
                s.sendall(b"x")  # mapped
                stream.arm("read", before=send_ok_lines)
                assert modem.command("AT") == []
                assert stream.stalls == round_ + 1
            peer.conns[0].shutdown(socket.SHUT_WR)
            got += recv_to_eof(s)
        assert bytes(peer.received[0]) == b"xxx", "a command reached the peer"
        assert len(got) == len(OK_UNIT) * units
        assert got == OK_UNIT * units
    finally:
        peer.close()

