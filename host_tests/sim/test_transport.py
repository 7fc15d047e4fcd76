"""The UART transports, echo, line assembly and bad input (§1.4, §8, D3), pacing, the CLI."""

import signal
import socket
import subprocess
import sys
import time

from atclient import ATClient
from harness import open_client, prelude

from host_tests.conftest import ROOT
from tools.wipsim.sim import TranscriptLog


def test_echo_on_at_power_up_and_off_after_ate0(sim):
    at = open_client(sim)
    at.send_raw(b"AT\r")
    assert at.read_raw_until(b"OK\r\n") == b"AT\r\r\nOK\r\n"
    at.send_raw(b"ATE0\r")
    assert at.read_raw_until(b"OK\r\n") == b"ATE0\r\r\nOK\r\n"  # ATE0 is itself echoed
    at.send_raw(b"AT\r")
    assert at.read_raw_until(b"OK\r\n") == b"\r\nOK\r\n"
    at.send_raw(b"ATE1\r")
    assert at.read_raw_until(b"OK\r\n") == b"\r\nOK\r\n"
    at.send_raw(b"AT\r")
    assert at.read_raw_until(b"OK\r\n") == b"AT\r\r\nOK\r\n"
    at.send_raw(b"ATE\r")  # V.25ter: ATE means ATE0
    assert at.read_raw_until(b"OK\r\n") == b"ATE\r\r\nOK\r\n"
    at.send_raw(b"AT\r")
    assert at.read_raw_until(b"OK\r\n") == b"\r\nOK\r\n"


def test_echo_is_byte_by_byte(sim):
    at = open_client(sim)
    at.send_raw(b"AT+W")
    assert at.read_raw(4) == b"AT+W"
    at.send_raw(b"IPCFG=3\r")
    assert at.read_raw_until(b"OK\r\n").startswith(b"IPCFG=3\r\r\nWIP soft v501")


def test_text_before_at_and_lines_without_at(at):
    at.send_raw(b"garbage AT\r")
    assert at.read_reply() == ([], "OK")
    at.send_raw(b"hello\r\n+++\r\r\n")
    assert at.no_urc(0.2) == []
    at.send_raw(b"\nAT\n\r")  # LF is ignored
    assert at.read_reply() == ([], "OK")


def test_bad_input_keeps_the_session_usable(at):
    for line in [b"AT+WIPCFG=\"unterminated\r", b"AT+WIPCFG=\"a\"b\r", b"AT+WIP\xff\r",
                 b"AT\x80\x81\r", b"AT+WIPCFG=1,\"\xff\"x\r", b"AT=\r", b"AT+\r",
                 b"AT+WIPCFG=\x00\r", b"AT+WIPCFG=2,,\r", b"AT+WIPOPT=1a,2\r",
                 b"AT+WIPCREATE=" + b"1," * 400 + b"1\r"]:
        at.send_raw(line)
        assert at.read_reply() == ([], "ERROR"), line
    assert at.cmd("AT") == ([], "OK")


def test_high_bytes_inside_quotes_are_accepted(at):
    at.ok("AT+WIPCFG=1")
    at.ok("AT+WIPBR=1,6")
    at.send_raw('AT+WIPBR=2,6,11,"\xe9t\xe9"\r'.encode("latin-1"))
    assert at.read_reply() == ([], "OK")


def test_over_long_line_gives_error(at):
    body = "AT+WIPCFG=3" + " " * 1100
    at.send_raw(body.encode() + b"\r")
    assert at.read_reply() == ([], "ERROR")
    exact = "AT" + "+WIPCFG=3" + " " * (1024 - 9)
    at.send_raw(exact.encode() + b"\r")
    assert at.read_reply()[1] == "OK"
    at.send_raw(b"AT" + b"x" * 100_000 + b"\r")
    assert at.read_reply() == ([], "ERROR")
    assert at.cmd("AT") == ([], "OK")


def test_commands_written_piecewise(at):
    for piece in (b"AT+WIP", b"CFG", b"=", b"3", b"\r"):
        at.send_raw(piece)
        time.sleep(0.01)
    assert at.read_reply()[1] == "OK"
    at.send_raw(b"AT\rAT+CMEE?\rAT\r")  # several lines in one write
    assert at.read_reply() == ([], "OK")
    assert at.read_reply() == (["+CMEE: 1"], "OK")
    assert at.read_reply() == ([], "OK")


def test_reconnect_keeps_module_state_and_replaces_the_host(sim):
    first = open_client(sim)
    prelude(first)
    first.ok("AT+WIPCREATE=1,1,500")
    second = ATClient.tcp(sim.port)
    time.sleep(0.1)
    assert second.cmd("AT+WIPCREATE=1,1,500") == ([], "+CME ERROR: 840")  # state kept
    try:
        first.sock.settimeout(2)
        assert first.sock.recv(100) in (b"", b"\r\n+WIPREADY: 1,1\r\n")
    except BlockingIOError:
        pass


def test_output_while_detached_is_lost(sim):
    at = open_client(sim)
    prelude(at)
    at.ok("AT+WIPCREATE=1,1,500")
    at.expect_urc("+WIPREADY:")
    at.close()
    time.sleep(0.1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"lost urc", ("127.0.0.1", sim.real_port(500)))
    time.sleep(0.2)
    again = ATClient.tcp(sim.port)
    assert again.drain(0.2) == b""
    assert again.cmd("AT+WIPOPT=1,1,1,6") == (["+WIPOPT: 1,6,8"], "OK")


def test_baud_pacing(sim_factory):
    sim = sim_factory("--baud", "115200")
    at = open_client(sim)
    prelude(at)
    at.ok("AT+WIPCREATE=3,1,81,1,1")
    peer = socket.create_connection(("127.0.0.1", sim.real_port(81)))
    at.expect_urc("+WIPACCEPT:")
    at.connect_data("AT+WIPDATA=2,1,1")
    payload = b"p" * 20000
    peer.sendall(payload)
    start = time.monotonic()
    assert at.read_raw(20000, timeout=10) == payload
    elapsed = time.monotonic() - start
    assert 1.6 <= elapsed <= 3.0, elapsed  # 20000 bytes at 11520 bytes/s = 1.74 s
    at.escape(0.05)


def test_pty_transport_echo_and_reply(sim_factory):
    sim = sim_factory(transport="pty")
    at = open_client(sim)
    at.drain(0.1)  # boot lines were queued in the pty
    at.send_raw(b"AT\r")
    assert at.read_raw_until(b"OK\r\n") == b"AT\r\r\nOK\r\n"


def test_log_masks_passwords(sim):
    at = open_client(sim)
    prelude(at)
    at.ok('AT+WIPBR=2,6,1,"topsecret"')
    at.cmd('AT+WIPCREATE=4,1,"127.0.0.1",,"user","ftpsecret","acctsecret"')
    at.cmd('AT+WIPCREATE=7,1,"127.0.0.1",110,"user","popsecret"')
    at.cmd('AT+WIPFILE=5,1,1,"http://127.0.0.1/","u","httpsecret"')
    at.ok("AT+WIPBR=5,6")
    at.cmd('AT+WIPBR=4,6,0,"login","startsecret"')
    time.sleep(0.2)
    log = sim.log_path.read_text()
    for secret in ("topsecret", "ftpsecret", "acctsecret", "popsecret", "httpsecret",
                   "startsecret", "passwd"):
        assert secret not in log, secret
    assert '"****"' in log
    assert "AT+WIPBR=2,6,11" in log and "< \\r\\nOK\\r\\n" in log


def test_log_masks_a_login_sent_as_socket_payload(tmp_path):
    """An FTP/POP3 login through a plain TCP socket (wip.ftp's delete) is payload to the
    module: its PASS line is masked in the transcript, the rest of the payload is kept."""
    path = tmp_path / "sim.log"
    log = TranscriptLog(path)
    log(">", b"USER bob\r\nPASS s3cr\x10et\r\nDELE a.txt\r\n")
    log(">", b"pass hunter2\r\n")
    log("<", b"230 PASS is a word here\r\n")
    log.close()
    text = path.read_text()
    assert "s3cr" not in text and "hunter2" not in text
    assert text.count("PASS ***") == 1 and text.count("pass ***") == 1
    assert "USER bob" in text and "DELE a.txt" in text and "230 PASS is a word here" in text


def test_cli_exits_cleanly_on_sigterm_and_sigint(tmp_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.wipsim", "--tcp", "127.0.0.1:0", "--control",
             "127.0.0.1:0"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            control = proc.stdout.readline().split()
            ready = proc.stdout.readline().split()
            assert control[:2] == ["WIPSIM", "CONTROL"]
            assert ready[:3] == ["WIPSIM", "READY", "tcp"]
            port = int(ready[3].rsplit(":", 1)[1])
            with ATClient.tcp(port) as at:
                assert at.cmd("AT") == ([], "OK")
            proc.send_signal(sig)
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def test_cli_rejects_bad_arguments():
    for args in (["--tcp", "nowhere"], ["--tcp", "127.0.0.1:0", "--host", "x=10.0.0.1"],
                 ["--tcp", "127.0.0.1:0", "--sock-max", "24"], []):
        result = subprocess.run([sys.executable, "-m", "tools.wipsim", *args], cwd=ROOT,
                                capture_output=True, text=True, timeout=20)
        assert result.returncode != 0, args


def test_in_process_simulator_api():
    from tools.wipsim import Simulator
    with Simulator(guard_time=0.05, port_offset=0, sock_max=2) as sim:
        port = sim.start_tcp("127.0.0.1", 0)
        with ATClient.tcp(port) as at:
            prelude(at)
            at.ok("AT+WIPCREATE=1,1")
            at.ok("AT+WIPCREATE=1,2")
            assert at.cmd("AT+WIPCREATE=1,3") == ([], "+CME ERROR: 838")  # --sock-max
            assert sim.fault("status").startswith("{")
            assert sim.status()["udp"] == [1, 2]
            assert sim.fault("nonsense") .startswith("ERR")
            assert sim.fault("reset", 1).startswith("ERR")
