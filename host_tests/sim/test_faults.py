"""Fault injection through the control port (Appendix A)."""

import json
import socket
import threading
import time

import pytest
from harness import GUARD, listener, open_client, prelude


def tcp_client(at, sim, port=80, idx=1):
    srv = listener(sim, port)
    assert at.cmd(f'AT+WIPCREATE=2,{idx},"127.0.0.1",{port}') == ([], "OK")
    at.expect_urc("+WIPREADY:")
    peer, _ = srv.accept()
    peer.settimeout(5)
    srv.close()
    return peer


def test_control_errors(sim):
    assert sim.control("").startswith("ERR")
    assert sim.control("frobnicate").startswith("ERR")
    assert sim.control("reset").startswith("ERR")
    assert sim.control("reset 1").startswith("ERR")  # no such socket
    assert sim.control("peerclose x").startswith("ERR")
    assert sim.control("bearer-loss").startswith("ERR")  # no bearer
    assert sim.control("noise -1").startswith("ERR")
    assert sim.control("ping-loss many").startswith("ERR")


def test_status_reports_the_mode_and_sockets(gprs, sim):
    peer = tcp_client(gprs, sim)
    state = json.loads(sim.control("status"))
    assert state["mode"] == "at" and state["mapped"] is None
    assert state["tcp"] == {"1": "open"} and state["stack"] and state["bearers"] == {"6": 1}
    gprs.connect_data("AT+WIPDATA=2,1,2")
    state = json.loads(sim.control("status"))
    assert (state["mode"], state["mapped"]) == ("transparent", [2, 1])
    gprs.escape(GUARD)
    peer.close()


def test_reset_unmapped(gprs, sim):
    peer = tcp_client(gprs, sim)
    peer.sendall(b"unread")
    gprs.expect_urc("+WIPDATA:")
    assert sim.control("reset 1") == "OK"
    assert gprs.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,1"
    with pytest.raises(ConnectionResetError):
        peer.recv(10)
    assert gprs.cmd("AT+WIPOPT=2,1,1,6") == (["+WIPOPT: 2,6,0"], "OK")  # data dropped
    assert gprs.cmd("AT+WIPDATA=2,1,1") == ([], "+CME ERROR: 843")
    assert sim.control("reset 1").startswith("ERR")
    assert gprs.cmd("AT+WIPCLOSE=2,1") == ([], "OK")


def test_reset_mapped(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert sim.control("reset 1") == "OK"
    assert gprs.read_raw(1) == b"\x03"
    assert gprs.read_reply() == ([], "+CME ERROR: 843")
    assert gprs.no_urc(0.2) == []
    peer.close()


def test_reset_mapped_with_cmee_0_gives_error(gprs, sim):
    gprs.ok("AT+CMEE=0")
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert sim.control("reset 1") == "OK"
    assert gprs.read_raw_until(b"ERROR\r\n") == b"\x03\r\nERROR\r\n"
    peer.close()


def test_peerclose_unmapped_and_mapped(gprs, sim):
    peer = tcp_client(gprs, sim)
    peer.sendall(b"tail")
    gprs.expect_urc("+WIPDATA:")
    time.sleep(0.05)
    assert sim.control("peerclose 1") == "OK"
    assert gprs.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,1"
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert gprs.read_raw_until(b"SHUTDOWN\r\n") == b"tail\x03\r\nSHUTDOWN\r\n"
    gprs.send_raw(b"still sending")
    assert peer.recv(100) == b"still sending"
    gprs.escape(GUARD)
    assert sim.control("peerclose 1").startswith("ERR")
    peer2 = tcp_client(gprs, sim, port=81, idx=2)
    gprs.connect_data("AT+WIPDATA=2,2,1")
    assert sim.control("peerclose 2") == "OK"
    assert gprs.read_raw_until(b"SHUTDOWN\r\n") == b"\x03\r\nSHUTDOWN\r\n"
    assert gprs.escape(GUARD) == b""
    assert gprs.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,2"
    peer2.close()


def test_bearer_loss_while_mapped(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.ok("AT+WIPCREATE=1,1,500")
    gprs.expect_urc("+WIPREADY:")
    gprs.ok("AT+WIPCREATE=3,1,81,2,2")
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert sim.control("bearer-loss") == "OK"
    assert gprs.read_raw(1) == b"\x03"
    assert gprs.read_reply() == ([], "+CME ERROR: 843")  # D24 -> D55
    assert gprs.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,1"
    assert gprs.no_urc(0.2) == []
    with pytest.raises(ConnectionResetError):
        assert peer.recv(10) == b""
        raise ConnectionResetError
    assert gprs.cmd("AT+WIPBR?") == (["6,0"], "OK")
    assert gprs.cmd("AT+WIPCREATE=1,1,500") == ([], "+CME ERROR: 803")


def test_reboot_drops_state_and_sends_boot_lines(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert sim.control("reboot") == "OK"
    assert gprs.read_raw_until(b"+WIND: 4\r\n") == b"\r\n+WIND: 3\r\n\r\n+WIND: 4\r\n"
    assert peer.recv(10) == b""
    gprs.send_raw(b"AT\r")
    assert gprs.read_raw_until(b"OK\r\n") == b"AT\r\r\nOK\r\n"  # echo back on
    gprs.send_raw(b"AT+WIPCFG?\r")
    assert gprs.read_reply("AT+WIPCFG?") == ([], "ERROR")  # CMEE=0, stack stopped


def test_noise_goes_between_lines(at, sim):
    assert sim.control("noise 40") == "OK"
    garbage = at.drain(0.2)
    assert len(garbage) == 40 and b"\r" not in garbage and b"\n" not in garbage
    assert at.cmd("AT") == ([], "OK")


def test_noise_waits_for_at_mode(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert sim.control("noise 10") == "OK"
    assert gprs.drain(0.1) == b""
    assert gprs.escape(GUARD) == b""
    assert len(gprs.drain(0.2)) == 10
    peer.close()


def test_split_fragments_output(at, sim):
    assert sim.control("split 3") == "OK"
    at.send_raw(b"AT+WIPCFG=3\r")
    sizes = []
    deadline = time.monotonic() + 5
    while b"OK\r\n" not in bytes(at.buf) and time.monotonic() < deadline:
        before = len(at.buf)
        at._fill(1)
        sizes.append(len(at.buf) - before)
    assert max(sizes) <= 3
    assert at.read_reply()[1] == "OK"
    assert sim.control("split 0") == "OK"


def test_stall_applies_backpressure(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert sim.control("stall 600") == "OK"
    writer = threading.Thread(target=gprs.send_raw, args=(b"s" * 3_000_000,))
    start = time.monotonic()
    writer.start()
    peer.settimeout(0.3)
    with pytest.raises(TimeoutError):
        peer.recv(10)  # nothing is read from the host while stalled
    received = 0
    peer.settimeout(10)
    while received < 3_000_000:
        chunk = peer.recv(1 << 20)
        assert chunk
        received += len(chunk)
    writer.join(10)
    assert time.monotonic() - start >= 0.5
    gprs.escape(GUARD)


def test_stall_then_commands_still_work(at, sim):
    assert sim.control("stall 200") == "OK"
    start = time.monotonic()
    assert at.cmd("AT") == ([], "OK")
    assert time.monotonic() - start >= 0.15


def test_control_port_keeps_a_connection_open(sim):
    with socket.create_connection(("127.0.0.1", sim.control_port), timeout=5) as s:
        s.sendall(b"status\nsplit 0\n")
        data = b""
        while data.count(b"\n") < 2:
            data += s.recv(4096)
        first, second = data.decode().splitlines()
        assert json.loads(first)["mode"] == "at" and second == "OK"


def test_faults_via_pty_simulator(sim_factory):
    sim = sim_factory(transport="pty")
    at = open_client(sim)
    prelude(at)
    assert sim.control("noise 5") == "OK"
    assert len(at.drain(0.2)) == 5


def test_timeout_fault_gives_842(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert sim.control("timeout 1") == "OK"
    assert gprs.read_raw(1) == b"\x03"
    assert gprs.read_reply() == ([], "+CME ERROR: 842")
    assert gprs.cmd("AT+WIPDATA=2,1,1") == ([], "+CME ERROR: 842")
    assert gprs.cmd("AT+WIPCLOSE=2,1") == ([], "OK")
    peer.close()


def test_writing_to_a_closed_peer_is_a_reset(gprs, sim):
    peer = tcp_client(gprs, sim)
    peer.close()
    assert gprs.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,1"
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert gprs.read_raw_until(b"SHUTDOWN\r\n") == b"\x03\r\nSHUTDOWN\r\n"
    for _ in range(20):
        gprs.send_raw(b"x" * 1000)
        time.sleep(0.02)
        if b"843" in bytes(gprs.buf) or gprs._fill(0.01) and b"843" in bytes(gprs.buf):
            break
    assert gprs.read_raw_until(b"\r\n+CME ERROR: 843\r\n").endswith(b"\x03\r\n+CME ERROR: 843\r\n")


@pytest.mark.parametrize("command,line,code", [
    ("WIPCFG", "AT+WIPCFG=1", 850), ("WIPCFG", "AT+WIPCFG=4,0", 821),
    ("WIPCREATE", "AT+WIPCREATE=1,1", 836), ("+WIPCLOSE", "AT+WIPCLOSE=1,1", 802),
    ("wipfile", 'AT+WIPFILE=7,1,1,"1"', 868), ("WIPBR", "AT+WIPBR=1,6", 802),
])
def test_fail_injects_fault_only_codes(at, sim, command, line, code):
    assert sim.control(f"fail {command} {code}") == "OK"
    assert at.cmd("AT+WIPCFG=?") == ([], "OK")  # test forms are not affected
    assert at.cmd(line) == ([], f"+CME ERROR: {code}")
    assert at.cmd("AT") == ([], "OK")


def test_fail_rejects_bad_arguments(sim):
    assert sim.control("fail WIPNOPE 850").startswith("ERR")
    assert sim.control("fail WIPCFG 1000").startswith("ERR")
    assert sim.control("fail WIPCFG").startswith("ERR")


def test_internal_error_in_a_handler_answers_error_and_keeps_running():
    from atclient import ATClient

    from tools.wipsim import Simulator
    with Simulator(guard_time=GUARD) as sim:
        def broken(cmd, reply):
            raise RuntimeError("boom")
        sim.module.handlers["+WIPCFG"] = broken
        with ATClient.tcp(sim.start_tcp()) as at:
            at.drain(0.05)
            at.ok("ATE0")
            assert at.cmd("AT+WIPCFG=1") == ([], "ERROR")
            assert at.cmd("AT") == ([], "OK")
