"""+WIPFILE framing (§2.6, §3.7, D49, D52) and the session plumbing, with a fake services
module plugged into an in-process simulator (the real services have their own suites)."""

import threading
import time
import types

import pytest
from atclient import ATClient, dle_escape
from harness import prelude

from tools.wipsim import Simulator

GUARD = 0.05
PAYLOAD = bytes(range(256)) * 3 + b"+++\x10\x03\x10"


class ServiceError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class ServiceSyntaxError(Exception):
    pass


class FakeTransfer:
    def __init__(self, session, mode, fields):
        self.session = session
        self.upload = mode in (2, 4)
        self.chunks = list(session.download)
        self.received = bytearray()
        self.aborted = threading.Event()
        self.finished = False

    def read(self):
        if self.session.slow_read:
            self.aborted.wait(5)
        if self.session.fail_read and len(self.chunks) == 1:
            raise ServiceError(860)
        return self.chunks.pop(0) if self.chunks else b""

    def write(self, data):
        self.received += data

    def finish(self):
        self.finished = True
        if self.session.fail_finish:
            raise ServiceError(884)
        return self.session.finish_urc

    def abort(self):
        self.aborted.set()


class FakeSession:
    def __init__(self, proto, idx, fields, env):
        self.proto = proto
        self.idx = idx
        self.fields = fields
        self.env = env
        self.ready_urc = proto != 4
        self.download = [PAYLOAD[:100], PAYLOAD[100:]]
        self.fail_read = False
        self.fail_finish = False
        self.slow_read = False
        self.finish_urc = None
        self.transfers = []
        self.closed = False
        self.options = {}

    def get_option(self, opt):
        if opt == 99:
            raise ServiceError(835)
        return [str(self.options.get(opt, 0))]

    def set_option(self, opt, value):
        self.options[opt] = value
        return ["7"] if opt == 74 else []

    def start_file(self, mode, fields):
        if mode == 9:
            raise ServiceError(800)
        if mode == 8:
            raise ServiceSyntaxError("bad")
        transfer = FakeTransfer(self, mode, fields)
        self.transfers.append(transfer)
        return transfer

    def close(self):
        self.closed = True
        return self.proto == 4


def fake_services():
    created = []

    def create_session(proto, idx, fields, env):
        if fields and fields[0] == "refuse":
            raise ServiceError(866)
        if fields and fields[0] == "syntax":
            raise ServiceSyntaxError("no form")
        assert env.resolve("ftp server") == "127.0.0.1"
        assert env.real_port(21) == 21 + 30000
        session = FakeSession(proto, idx, fields, env)
        created.append(session)
        return session

    module = types.SimpleNamespace(ServiceError=ServiceError,
                                   ServiceSyntaxError=ServiceSyntaxError,
                                   create_session=create_session)
    return module, created


@pytest.fixture
def fake():
    sim = Simulator(guard_time=GUARD, port_offset=30000)
    services, created = fake_services()
    sim.module._services = lambda: services
    at = ATClient.tcp(sim.start_tcp())
    prelude(at)
    yield sim, at, created
    at.close()
    sim.close()


def test_session_create_options_close(fake):
    sim, at, created = fake
    assert at.cmd('AT+WIPCREATE=6,1,"127.0.0.1",25,"user","pw"') == ([], "OK")
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 6,1"
    assert created[0].fields == ["127.0.0.1", 25, "user", "pw"]
    assert at.cmd('AT+WIPCREATE=7,2,"127.0.0.1"') == ([], "+CME ERROR: 840")  # D34
    assert at.cmd("AT+WIPOPT=6,1,2,61,\"a@b\"") == ([], "OK")
    assert created[0].options[61] == "a@b"
    assert at.cmd("AT+WIPOPT=6,1,1,61") == (["+WIPOPT: 6,61,a@b"], "OK")
    assert at.cmd("AT+WIPOPT=6,1,2,74,7") == (["+WIPOPT: 6,74,7"], "OK")
    assert at.cmd("AT+WIPOPT=6,1,1,99") == ([], "+CME ERROR: 835")
    assert at.cmd("AT+WIPOPT=6,2,1,61") == ([], "+CME ERROR: 830")
    assert at.cmd("AT+WIPOPT=6,1,3,61") == ([], "+CME ERROR: 800")
    assert at.cmd("AT+WIPCLOSE=7,1") == ([], "+CME ERROR: 831")
    assert at.cmd("AT+WIPCLOSE=6,1") == ([], "OK")
    assert created[0].closed
    assert at.no_urc(0.1) == []
    assert at.cmd("AT+WIPCLOSE=6,1") == ([], "+CME ERROR: 831")


def test_ftp_close_sends_peerclose_and_no_ready(fake):
    _, at, _ = fake
    assert at.cmd('AT+WIPCREATE=4,1,"ftp server",,"u","p"') == ([], "OK")
    assert at.cmd("AT+WIPCLOSE=4,1") == ([], "OK")
    assert at.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 4,1"
    assert at.urcs == []


def test_session_errors_from_services(fake):
    _, at, _ = fake
    assert at.cmd('AT+WIPCREATE=7,1,"refuse"') == ([], "+CME ERROR: 866")
    assert at.cmd('AT+WIPCREATE=7,1,"syntax"') == ([], "ERROR")
    assert at.cmd('AT+WIPCREATE=7,1,""') == ([], "+CME ERROR: 800")
    assert at.cmd('AT+WIPCREATE=5,1') == ([], "OK")  # HTTP needs no server


def test_download_framing(fake):
    _, at, created = fake
    at.ok('AT+WIPCREATE=4,1,"127.0.0.1",,"u","p"')
    at.connect_data('AT+WIPFILE=4,1,1,"data.bin"')
    expected = dle_escape(PAYLOAD) + b"\x03\r\nOK\r\n"
    assert at.read_raw(len(expected)) == expected
    assert created[0].transfers[0].finished


def test_download_failure_mid_transfer(fake):
    _, at, created = fake
    at.ok('AT+WIPCREATE=4,1,"127.0.0.1",,"u","p"')
    created[0].fail_read = True
    at.connect_data('AT+WIPFILE=4,1,1,"data.bin"')
    expected = dle_escape(PAYLOAD[:100]) + b"\x03\r\n+CME ERROR: 860\r\n"
    assert at.read_raw(len(expected)) == expected


def test_download_http_urc_after_ok(fake):
    _, at, created = fake
    at.ok("AT+WIPCREATE=5,1")
    at.expect_urc("+WIPREADY:")
    created[0].finish_urc = '+WIPFILE: 5,1,1,200,"OK"'
    at.connect_data('AT+WIPFILE=5,1,1,"http://127.0.0.1/"')
    raw = at.read_raw_until(b'"OK"\r\n')
    assert raw.endswith(b'\x03\r\nOK\r\n\r\n+WIPFILE: 5,1,1,200,"OK"\r\n')


def test_download_abort_with_plus(fake):
    _, at, created = fake
    at.ok('AT+WIPCREATE=4,1,"127.0.0.1",,"u","p"')
    created[0].slow_read = True
    at.connect_data('AT+WIPFILE=4,1,1,"data.bin"')
    assert at.escape(GUARD) == b""  # D52: no ETX
    assert created[0].transfers[0].aborted.is_set()
    assert at.cmd("AT") == ([], "OK")


def test_upload_framing(fake):
    _, at, created = fake
    at.ok("AT+WIPCREATE=5,1")
    created[0].finish_urc = '+WIPFILE: 5,1,4,200,"OK"'
    at.connect_data('AT+WIPFILE=5,1,4,"http://127.0.0.1/post"')
    at.send_raw(dle_escape(PAYLOAD[:300]))
    time.sleep(0.05)
    at.send_raw(dle_escape(PAYLOAD[300:]) + b"\x03")
    raw = at.read_raw_until(b'200,"OK"\r\n')
    assert raw == b'\r\nOK\r\n\r\n+WIPFILE: 5,1,4,200,"OK"\r\n'
    assert bytes(created[0].transfers[0].received) == PAYLOAD


def test_upload_failure_after_etx(fake):
    _, at, created = fake
    at.ok('AT+WIPCREATE=6,1,"127.0.0.1",25')
    at.expect_urc("+WIPREADY:")
    created[0].fail_finish = True
    at.connect_data("AT+WIPFILE=6,1,2")
    at.send_raw(b"body\x03")
    assert at.read_reply() == ([], "+CME ERROR: 884")


def test_upload_abort_with_plus(fake):
    _, at, created = fake
    at.ok('AT+WIPCREATE=6,1,"127.0.0.1",25')
    at.connect_data("AT+WIPFILE=6,1,2")
    at.send_raw(b"partial")
    assert at.escape(GUARD) == b""
    transfer = created[0].transfers[0]
    assert transfer.aborted.is_set() and not transfer.finished
    assert bytes(transfer.received) == b"partial"


def test_start_file_errors(fake):
    _, at, _ = fake
    at.ok('AT+WIPCREATE=4,1,"127.0.0.1",,"u","p"')
    assert at.cmd('AT+WIPFILE=4,1,9,"x"') == ([], "+CME ERROR: 800")
    assert at.cmd('AT+WIPFILE=4,1,8,"x"') == ([], "ERROR")
    assert at.cmd('AT+WIPFILE=4,2,1,"x"') == ([], "+CME ERROR: 830")
    assert at.cmd('AT+WIPFILE=5,1,1,"x"') == ([], "+CME ERROR: 830")


def test_urcs_queued_during_file_mode(fake):
    sim, at, created = fake
    at.ok('AT+WIPCREATE=6,1,"127.0.0.1",25')
    at.expect_urc("+WIPREADY:")
    at.ok("AT+WIPCREATE=1,1,500")
    at.expect_urc("+WIPREADY:")
    at.connect_data("AT+WIPFILE=6,1,2")
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("127.0.0.1", 30500))
    time.sleep(0.1)
    assert at.drain(0.05) == b""
    at.send_raw(b"mail\x03")
    assert at.read_reply() == ([], "OK")
    assert at.expect_urc("+WIPDATA:").startswith("+WIPDATA: 1,1,1,")


def test_session_dropped_by_server(fake):
    sim, at, created = fake
    at.ok('AT+WIPCREATE=7,1,"127.0.0.1"')
    at.expect_urc("+WIPREADY:")
    created[0].env.peer_closed(7, 1)
    assert at.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 7,1"  # D40
    time.sleep(0.1)
    assert created[0].closed
    assert at.cmd("AT+WIPCLOSE=7,1") == ([], "+CME ERROR: 831")


def test_bearer_loss_drops_the_session(fake):
    sim, at, created = fake
    at.ok('AT+WIPCREATE=7,1,"127.0.0.1"')
    at.expect_urc("+WIPREADY:")
    assert sim.fault("bearer-loss") == "OK"
    assert at.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 7,1"
    time.sleep(0.1)
    assert created[0].closed


def test_missing_services_module_gives_839(monkeypatch):
    with Simulator(guard_time=GUARD) as sim:
        sim.module._services = lambda: None
        with ATClient.tcp(sim.start_tcp()) as at:
            prelude(at)
            assert at.cmd('AT+WIPCREATE=7,1,"127.0.0.1"') == ([], "+CME ERROR: 839")
            sim.module._ping_module = lambda: None
            assert at.cmd('AT+WIPPING="127.0.0.1"') == ([], "+CME ERROR: 819")
