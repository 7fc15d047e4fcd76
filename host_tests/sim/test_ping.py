"""ICMP echo: tools/wipsim/ping.py directly, and C6 / +WIPPING through the simulator (§2.8)."""

import socket
import time

import pytest
from atclient import ATClient

from tools.wipsim import ping


def run(repeat, interval_ms, timeout_ms, lose=()):
    reports = []
    started = time.monotonic()

    def report(expired, idx, rtt):
        reports.append((expired, idx, rtt, round(time.monotonic() - started, 3)))

    ping.run_series("127.0.0.1", repeat, interval_ms, timeout_ms, 64, 64, report,
                    lambda idx: idx in lose)
    return reports


def test_echo_replies_in_order_with_small_rtt():
    reports = run(3, 20, 1000)
    assert [r[:2] for r in reports] == [(0, 0), (0, 1), (0, 2)]
    assert all(0 <= r[2] < 1000 for r in reports)
    assert 0.035 <= reports[-1][3] < 2.0  # packet 2 leaves 2 x interval after the start


def test_injected_loss_reports_timeout_in_packet_order():
    reports = run(3, 10, 200, lose={0})
    assert [r[:3] for r in reports][:1] == [(1, 0, 0)]  # D70: rtt 0 on a timeout
    assert [r[:2] for r in reports] == [(1, 0), (0, 1), (0, 2)]
    assert all(r[3] >= 0.19 for r in reports)  # 1 and 2 wait for 0's timeout (packet order)


def test_simulated_echo_when_no_icmp_socket(monkeypatch):
    real_socket = socket.socket

    def no_icmp(family=-1, kind=-1, proto=-1, *args):
        if proto == socket.IPPROTO_ICMP:
            raise PermissionError(13, "no ICMP for this test")
        return real_socket(family, kind, proto, *args)

    monkeypatch.setattr(ping.socket, "socket", no_icmp)
    assert ping.echo_method() == "simulated"
    assert [r[:2] for r in run(2, 10, 500, lose={1})] == [(0, 0), (1, 1)]


def test_echo_checksum():
    packet = ping.echo_packet(0x1234, 7, 64)
    assert len(packet) == 72 and ping._checksum(packet) == 0


# -------------------------------------------------------------------------- through AT


@pytest.fixture
def at(sim):
    client = ATClient.tcp(sim.port, timeout=10.0)
    client.drain(0.05)
    for command in ("ATE0", "AT+CMEE=1", "AT+WIPCFG=1", "AT+WIPBR=1,6",
                    'AT+WIPBR=2,6,11,"APN name"', 'AT+WIPBR=2,6,0,"user name"',
                    'AT+WIPBR=2,6,1,"passwd"', "AT+WIPBR=4,6,0"):
        client.ok(command)
    client.urcs.clear()
    client.sim = sim
    yield client
    client.close()


def ping_urc(at):
    expired, idx, rtt = at.expect_urc("+WIPPING:", timeout=5)[len("+WIPPING: "):].split(",")
    return int(expired), int(idx), int(rtt)


def test_c6_ping(at):
    at.ok('AT+WIPPING="127.0.0.1"')
    expired, idx, rtt = ping_urc(at)
    assert (expired, idx) == (0, 0) and rtt >= 0


def test_ping_loss_injection_and_series(at):
    assert at.sim.control("ping-loss 1") == "OK"
    at.ok('AT+WIPPING="127.0.0.1",3,100,300')
    assert at.cmd('AT+WIPPING="127.0.0.1"')[1] == "+CME ERROR: 819"  # D70: one series
    results = [ping_urc(at) for _ in range(3)]
    assert results[0] == (1, 0, 0)
    assert [r[:2] for r in results[1:]] == [(0, 1), (0, 2)]
    at.ok('AT+WIPPING="localhost",1,,,1500,1')
    assert ping_urc(at)[:2] == (0, 0)


def test_ping_errors(at):
    for command, final in (('AT+WIPPING=""', "+CME ERROR: 800"),
                           ('AT+WIPPING="127.0.0.1",0', "+CME ERROR: 801"),
                           ('AT+WIPPING="127.0.0.1",1,1,1,1501', "+CME ERROR: 801"),
                           ('AT+WIPPING="10.1.1.1"', "+CME ERROR: 819"),
                           ('AT+WIPPING="127.0.0.1",1,1,1,1,1,1', "ERROR")):
        assert at.cmd(command)[1] == final, command
    at.no_urc(0.2)
