"""Exact bytes on every way out of data mode that a fault or another UART causes.

TCP continuous mode: ETX, then the error (§3.4, D55; bearer loss D24). UDP continuous mode
and transparent mode: the error without ETX (§3.5: a bare ETX would be an empty datagram;
§3.8, D56). File download: ETX, then the error (D49); upload: the error
alone. Reboot: boot lines only (§8). Stack stop (D16) and a close from another UART (D60):
flush, then `OK`, never an ETX.
"""

import threading
import time
import types

import pytest
from atclient import ATClient
from harness import GUARD, listener, prelude, recv_exactly, udp_peer

from tools.wipsim import Simulator

BOOT = b"\r\n+WIND: 3\r\n\r\n+WIND: 4\r\n"


def tcp_client(at, sim, port=80, idx=1):
    srv = listener(sim, port)
    assert at.cmd(f'AT+WIPCREATE=2,{idx},"127.0.0.1",{port}') == ([], "OK")
    at.expect_urc("+WIPREADY:")
    peer, _ = srv.accept()
    peer.settimeout(5)
    srv.close()
    return peer


def read_exit(at, final):
    """Everything up to and including the final line `final`, then 0.2 s of quiet."""
    data = at.read_raw_until(final)
    assert at.drain(0.2) == b""
    return data


LOSS = b"\x03\r\n+CME ERROR: 843\r\n\r\n+WIPPEERCLOSE: 2,1\r\n"


@pytest.mark.parametrize("mode,fault,expected", [
    (1, "reset 1", b"\x03\r\n+CME ERROR: 843\r\n"),
    (1, "timeout 1", b"\x03\r\n+CME ERROR: 842\r\n"),
    (1, "bearer-loss", LOSS),
    (2, "reset 1", b"\r\n+CME ERROR: 843\r\n"),
    (2, "timeout 1", b"\r\n+CME ERROR: 842\r\n"),
    (2, "bearer-loss", LOSS[1:]),
])
def test_tcp_fatal_exit_bytes(gprs, sim, mode, fault, expected):
    peer = tcp_client(gprs, sim)
    peer.sendall(b"in\x03")
    gprs.expect_urc("+WIPDATA: 2,1,3")
    gprs.connect_data(f"AT+WIPDATA=2,1,{mode}")
    data = b"in\x10\x03" if mode == 1 else b"in\x03"
    assert gprs.read_raw(len(data)) == data
    assert sim.control(fault) == "OK"
    assert read_exit(gprs, expected[-12:]) == expected
    assert gprs.cmd("AT") == ([], "OK")  # back in AT mode
    peer.close()


def test_tcp_fatal_exit_with_cmee_0_is_etx_then_error(gprs, sim):
    gprs.ok("AT+CMEE=0")
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert sim.control("bearer-loss") == "OK"
    assert read_exit(gprs, b"+WIPPEERCLOSE: 2,1\r\n") == (
        b"\x03\r\nERROR\r\n\r\n+WIPPEERCLOSE: 2,1\r\n")
    peer.close()


def test_udp_bearer_loss_is_843_without_a_phantom_datagram(gprs, sim):
    peer = udp_peer(sim, 500)
    gprs.ok('AT+WIPCREATE=1,1,600,"127.0.0.1",500')
    gprs.expect_urc("+WIPREADY:")
    gprs.connect_data("AT+WIPDATA=1,1,1")
    peer.sendto(b"dg", ("127.0.0.1", sim.real_port(600)))
    assert gprs.read_raw(3) == b"dg\x03"
    assert sim.control("bearer-loss") == "OK"
    assert read_exit(gprs, b"843\r\n") == b"\r\n+CME ERROR: 843\r\n"  # bare ETX = empty dgram
    assert gprs.cmd("AT+WIPDATA=1,1,1") == ([], "+CME ERROR: 831")  # D24: released
    peer.close()


@pytest.mark.parametrize("mode", [1, 2])
def test_reboot_while_mapped_sends_only_boot_lines(gprs, sim, mode):
    peer = tcp_client(gprs, sim)
    gprs.connect_data(f"AT+WIPDATA=2,1,{mode}")
    assert sim.control("reboot") == "OK"
    assert read_exit(gprs, b"+WIND: 4\r\n") == BOOT  # §8: no ETX, no error
    peer.close()


@pytest.mark.parametrize("mode", [1, 2])
def test_stack_stop_from_another_uart_flushes_then_ok(gprs, sim, mode):
    peer = tcp_client(gprs, sim)
    gprs.ok("AT+WIPCFG=2,12,50")  # coalesce host data for 5 s (D67)
    gprs.connect_data(f"AT+WIPDATA=2,1,{mode}")
    gprs.send_raw(b"buffered")
    time.sleep(0.1)
    assert sim.control("stack-stop") == "OK"
    assert read_exit(gprs, b"\r\nOK\r\n") == b"\r\nOK\r\n"  # D16, D60: no ETX, no URC
    assert recv_exactly(peer, 8) == b"buffered"  # §3.10
    assert gprs.cmd("AT+WIPCFG?") == ([], "+CME ERROR: 803")
    peer.close()


def test_close_from_another_uart_sends_partial_datagram_then_ok(gprs, sim):
    peer = udp_peer(sim, 500)
    gprs.ok('AT+WIPCREATE=1,1,600,"127.0.0.1",500')
    gprs.expect_urc("+WIPREADY:")
    gprs.connect_data("AT+WIPDATA=1,1,1")
    gprs.send_raw(b"part")
    time.sleep(0.1)
    assert sim.control("close 1 1") == "OK"
    assert read_exit(gprs, b"\r\nOK\r\n") == b"\r\nOK\r\n"  # D60
    assert peer.recvfrom(100)[0] == b"part"
    assert sim.control("close 1 1").startswith("ERR")
    peer.close()


def test_close_tcp_from_another_uart_in_transparent_mode(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,2")
    assert sim.control("close 2 1") == "OK"
    assert read_exit(gprs, b"\r\nOK\r\n") == b"\r\nOK\r\n"
    assert peer.recv(10) == b""  # D39: FIN
    peer.close()


# ------------------------------------------------------------------ file data mode (§3.7)
CHUNK = b"abc\x03\x10def"
CHUNK_ESCAPED = b"abc\x10\x03\x10\x10def"


class ServiceError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class GatedTransfer:
    """A download that sends CHUNK, then blocks until aborted or released."""

    def __init__(self, session, mode):
        self.session = session
        self.upload = mode in (2, 4)
        self.sent = False
        self.aborted = threading.Event()
        self.finished = threading.Event()

    def read(self):
        if not self.sent:
            self.sent = True
            return CHUNK
        if self.session.crash:
            raise RuntimeError("service bug")
        if self.session.hold_read:
            self.aborted.wait(5)
        return b""

    def write(self, data):
        pass

    def finish(self):
        if self.session.hold_finish:
            self.aborted.wait(5)
        self.finished.set()
        return None

    def abort(self):
        self.aborted.set()


class GatedSession:
    def __init__(self, proto, idx):
        self.proto = proto
        self.idx = idx
        self.ready_urc = proto != 4
        self.hold_read = True
        self.hold_finish = False
        self.crash = False
        self.transfers = []
        self.closed = False

    def start_file(self, mode, fields):
        transfer = GatedTransfer(self, mode)
        self.transfers.append(transfer)
        return transfer

    def close(self):
        self.closed = True
        return self.proto == 4


@pytest.fixture
def gated():
    sim = Simulator(guard_time=GUARD)
    sessions = []

    def create_session(proto, idx, fields, env):
        sessions.append(GatedSession(proto, idx))
        return sessions[-1]

    sim.module._services = lambda: types.SimpleNamespace(
        ServiceError=ServiceError, ServiceSyntaxError=SyntaxError,
        create_session=create_session)
    at = ATClient.tcp(sim.start_tcp())
    prelude(at)
    yield sim, at, sessions
    at.close()
    sim.close()


def http_session(at):
    at.ok("AT+WIPCREATE=5,1")
    at.expect_urc("+WIPREADY:")


def test_bearer_loss_during_download_is_etx_then_843(gated):
    sim, at, sessions = gated
    http_session(at)
    at.connect_data('AT+WIPFILE=5,1,1,"http://127.0.0.1/"')
    assert at.read_raw(len(CHUNK_ESCAPED)) == CHUNK_ESCAPED
    assert sim.fault("bearer-loss") == "OK"
    assert read_exit(at, b"+WIPPEERCLOSE: 5,1\r\n") == (
        b"\x03\r\n+CME ERROR: 843\r\n\r\n+WIPPEERCLOSE: 5,1\r\n")  # D49, D24
    assert sessions[0].transfers[0].aborted.wait(2)


def test_bearer_loss_after_the_closing_etx_is_the_error_alone(gated):
    sim, at, sessions = gated
    http_session(at)
    sessions[0].hold_read = False
    sessions[0].hold_finish = True
    at.connect_data('AT+WIPFILE=5,1,1,"http://127.0.0.1/"')
    assert at.read_raw(len(CHUNK_ESCAPED) + 1) == CHUNK_ESCAPED + b"\x03"
    time.sleep(0.1)
    assert sim.fault("bearer-loss") == "OK"
    assert read_exit(at, b"+WIPPEERCLOSE: 5,1\r\n") == (
        b"\r\n+CME ERROR: 843\r\n\r\n+WIPPEERCLOSE: 5,1\r\n")  # one ETX only


def test_bearer_loss_during_upload_is_the_error_alone(gated):
    sim, at, sessions = gated
    http_session(at)
    at.connect_data('AT+WIPFILE=5,1,4,"http://127.0.0.1/post"')
    at.send_raw(b"partial body")
    time.sleep(0.1)
    assert sim.fault("bearer-loss") == "OK"
    assert read_exit(at, b"+WIPPEERCLOSE: 5,1\r\n") == (
        b"\r\n+CME ERROR: 843\r\n\r\n+WIPPEERCLOSE: 5,1\r\n")  # §2.6: no module bytes
    assert sessions[0].transfers[0].aborted.wait(2)
    assert not sessions[0].transfers[0].finished.is_set()


def test_service_crash_during_download_is_etx_then_860(gated):
    _, at, sessions = gated
    http_session(at)
    sessions[0].crash = True
    at.connect_data('AT+WIPFILE=5,1,1,"http://127.0.0.1/"')
    assert read_exit(at, b"860\r\n") == CHUNK_ESCAPED + b"\x03\r\n+CME ERROR: 860\r\n"


def test_reboot_during_download_sends_only_boot_lines(gated):
    sim, at, sessions = gated
    http_session(at)
    at.connect_data('AT+WIPFILE=5,1,1,"http://127.0.0.1/"')
    assert at.read_raw(len(CHUNK_ESCAPED)) == CHUNK_ESCAPED
    assert sim.fault("reboot") == "OK"
    assert read_exit(at, b"+WIND: 4\r\n") == BOOT
    assert sessions[0].transfers[0].aborted.wait(2)


@pytest.mark.parametrize("fault", ["stack-stop", "close 5 1"])
def test_download_losing_its_session_elsewhere_is_ok_without_etx(gated, fault):
    sim, at, sessions = gated
    http_session(at)
    at.connect_data('AT+WIPFILE=5,1,1,"http://127.0.0.1/"')
    assert at.read_raw(len(CHUNK_ESCAPED)) == CHUNK_ESCAPED
    assert sim.fault(fault) == "OK"
    assert read_exit(at, b"\r\nOK\r\n") == b"\r\nOK\r\n"  # D16/D60, cut as D52
    assert sessions[0].transfers[0].aborted.wait(2)
    assert at.cmd("AT+WIPFILE=5,1,1,\"http://127.0.0.1/\"")[1].startswith("+CME ERROR: 8")


def test_ftp_upload_closed_elsewhere_is_ok_then_peerclose(gated):
    sim, at, sessions = gated
    at.ok('AT+WIPCREATE=4,1,"127.0.0.1",,"u","p"')
    at.connect_data('AT+WIPFILE=4,1,2,"up.bin"')
    at.send_raw(b"partial")
    time.sleep(0.1)
    assert sim.fault("close", 4, 1) == "OK"
    assert read_exit(at, b"+WIPPEERCLOSE: 4,1\r\n") == b"\r\nOK\r\n\r\n+WIPPEERCLOSE: 4,1\r\n"
    assert sessions[0].transfers[0].aborted.wait(2)
    assert not sessions[0].transfers[0].finished.is_set()
