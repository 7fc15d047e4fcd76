"""FTP, HTTP, SMTP and POP3 sessions through the simulator's AT interface (C7-C10, §2.6).

Every case talks AT over the simulator's TCP UART to real loopback servers
(host_tests/servers.py). The guide's low service ports (21, 81, 25, 110) are replayed as
written: the simulator is started with the port offset that maps them onto the server.
"""

import base64
import hashlib
import json
import time

import pytest
from atclient import ATClient

from host_tests.servers import free_port, random_bytes

ETX = 0x03
GUARD = 0.05  # the guard time sim_factory starts the simulator with


def start_client(sim, timeout=10.0):
    """An ATClient on the simulator's TCP UART after P0 and PG (spec §6.0)."""
    client = ATClient.tcp(sim.port, timeout=timeout)
    client.drain(0.05)
    for command in ("ATE0", "AT+CMEE=1", "AT+WIPCFG=1", "AT+WIPBR=1,6",
                    'AT+WIPBR=2,6,11,"APN name"', 'AT+WIPBR=2,6,0,"user name"',
                    'AT+WIPBR=2,6,1,"passwd"', "AT+WIPBR=4,6,0"):
        client.ok(command)
    client.urcs.clear()
    client.sim = sim
    return client


def escape(data):
    """Host -> module file data (spec §3.3): DLE before every 0x10 and 0x03."""
    return bytes(data).replace(b"\x10", b"\x10\x10").replace(b"\x03", b"\x10\x03")


def _decode_into(buf, out):
    """Decode module -> host file data from buf into out: (bytes consumed, ETX seen)."""
    pos = 0
    etx = buf.find(b"\x03")
    end = len(buf) if etx < 0 else etx
    while True:
        dle = buf.find(b"\x10", pos, end)
        if dle < 0:
            out += buf[pos:end]
            return (len(buf), False) if etx < 0 else (etx + 1, True)
        out += buf[pos:dle]
        if dle + 1 >= len(buf):
            return dle, False  # a DLE whose byte has not arrived yet
        out.append(buf[dle + 1])
        pos = dle + 2
        if dle + 1 == etx:  # an escaped ETX: look for the next one
            etx = buf.find(b"\x03", pos)
            end = len(buf) if etx < 0 else etx


def read_file_data(client, timeout=20.0, at_least=None):
    """After CONNECT of a download: the decoded body up to the unescaped ETX.

    With `at_least`, stops (without consuming an ETX) once that many bytes arrived and
    returns (data, False); otherwise returns (data, True) at the ETX.
    """
    deadline = time.monotonic() + timeout
    out = bytearray()
    while True:
        used, done = _decode_into(bytes(client.buf), out)
        del client.buf[:used]
        if done:
            return bytes(out), True
        if at_least is not None and len(out) >= at_least:
            return bytes(out), False
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"download: {len(out)} bytes, no ETX")
        client._fill(left)


def download(client, command, timeout=20.0):
    """A whole download: (body, final result)."""
    client.connect_data(command)
    body, _ = read_file_data(client, timeout)
    _, final = client.read_reply(timeout=timeout)
    return body, final


def upload(client, command, data, timeout=20.0):
    """A whole upload: escaped data, ETX; returns the final result."""
    client.connect_data(command)
    client.send_raw(escape(data) + bytes([ETX]))
    _, final = client.read_reply(timeout=timeout)
    return final


@pytest.fixture
def module_for(sim_factory):
    """module_for(real_port, at_port): a simulator whose AT port `at_port` reaches
    `real_port`, with a client after P0 and PG."""
    clients = []

    def start(real_port=None, at_port=None, *extra):
        offset = None if real_port is None else real_port - at_port
        client = start_client(sim_factory(*extra, port_offset=offset))
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.close()


# ----------------------------------------------------------------------------------- FTP


def test_c7_ftp_upload_and_download(module_for, ftp_server):
    at = module_for(ftp_server.port, 21)
    at.ok('AT+WIPCREATE=4,1,"127.0.0.1",21,"username","passwd"')
    at.no_urc(0.2)  # D28: no +WIPREADY for FTP
    at.connect_data('AT+WIPFILE=4,1,2,"./filename.txt"')
    at.send_raw(b"hello ftp\x03")
    assert at.read_reply() == ([], "OK")
    assert (ftp_server.root / "filename.txt").read_bytes() == b"hello ftp"
    at.connect_data('AT+WIPFILE=4,1,1,"./filename.txt"')
    assert at.read_raw_until(b"OK\r\n") == b"hello ftp\x03\r\nOK\r\n"  # exact bytes (C7)
    at.ok("AT+WIPCLOSE=4,1")
    assert at.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 4,1"
    assert at.cmd("AT+WIPCLOSE=4,1") == ([], "+CME ERROR: 831")


@pytest.mark.parametrize("passive", [1, 0])
def test_ftp_1mb_binary_both_ways(module_for, ftp_server, passive):
    payload = random_bytes(1 << 20, seed=passive)
    assert payload.count(b"\x03") and payload.count(b"\x10")  # escaping is exercised
    at = module_for()
    at.ok(f'AT+WIPCREATE=4,1,"127.0.0.1",{ftp_server.port},"username","passwd"')
    at.ok("AT+WIPOPT=4,1,2,40,1")
    at.ok(f"AT+WIPOPT=4,1,2,41,{passive}")
    assert at.ok("AT+WIPOPT=4,1,1,41") == [f"+WIPOPT: 4,41,{passive}"]
    assert upload(at, 'AT+WIPFILE=4,1,2,"big.bin"', payload) == "OK"
    stored = (ftp_server.root / "big.bin").read_bytes()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(payload).hexdigest()
    body, final = download(at, 'AT+WIPFILE=4,1,1,"big.bin"')
    assert final == "OK"
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(payload).hexdigest()
    data_mode = "PASV" if passive else "PORT"
    wire = [c.split()[0] for c in ftp_server.commands
            if c.split()[0] in ("TYPE", "PASV", "PORT", "RETR", "STOR")]
    assert wire == ["TYPE", data_mode, "STOR", "TYPE", data_mode, "RETR"]  # §2.6 FTP
    assert ftp_server.commands[ftp_server.commands.index("STOR big.bin") - 2] == "TYPE I"
    at.ok("AT+WIPCLOSE=4,1")
    at.expect_urc("+WIPPEERCLOSE: 4,1")


def test_ftp_ascii_type_sent_and_bytes_unchanged(module_for, ftp_server):
    text = b"line one\r\nline two\r\n\x03\x10 three\r\n"  # CR LF: the server sends it as is
    (ftp_server.root / "text.txt").write_bytes(text)
    at = module_for()
    at.ok(f'AT+WIPCREATE=4,1,"127.0.0.1",{ftp_server.port},"username","passwd"')
    assert at.ok("AT+WIPOPT=4,1,1,40") == ["+WIPOPT: 4,40,0"]
    assert download(at, 'AT+WIPFILE=4,1,1,"text.txt"') == (text, "OK")
    assert "TYPE A" in ftp_server.commands
    at.ok("AT+WIPCLOSE=4,1")


def test_ftp_error_codes(module_for, ftp_server, banner_server_factory):
    at = module_for()
    port = ftp_server.port
    cases = [(f'AT+WIPCREATE=4,1,"127.0.0.1",{port},"nobody","passwd"', 861),
             (f'AT+WIPCREATE=4,1,"127.0.0.1",{port},"username","wrong"', 862),
             (f'AT+WIPCREATE=4,1,"127.0.0.1",{free_port()},"username","passwd"', 842),
             (f'AT+WIPCREATE=4,1,"127.0.0.1",'
              f'{banner_server_factory(b"421 Service not available").port},"u","p"', 866),
             ('AT+WIPCREATE=4,1,"no such host",21,"u","p"', 842),
             (f'AT+WIPCREATE=4,1,"127.0.0.1",{port},"u","p","a","extra"', None)]
    for command, code in cases:
        final = at.cmd(command)[1]
        assert final == ("ERROR" if code is None else f"+CME ERROR: {code}"), command
    assert at.sim.control("internet off") == "OK"
    assert at.cmd(f'AT+WIPCREATE=4,1,"127.0.0.1",{port},"username","passwd"')[1] == \
        "+CME ERROR: 839"
    assert at.sim.control("internet on") == "OK"
    at.ok(f'AT+WIPCREATE=4,1,"127.0.0.1",{port},"username","passwd"')
    for command, code in (('AT+WIPFILE=4,1,1,"missing.bin"', 860),
                          ('AT+WIPFILE=4,1,3,"x"', 800),
                          (f'AT+WIPFILE=4,1,1,"{"n" * 129}"', 800),
                          ('AT+WIPOPT=4,1,2,40,2', 801),
                          ('AT+WIPOPT=4,1,1,60', 800),
                          ('AT+WIPCLOSE=6,1', 831)):
        assert at.cmd(command)[1] == f"+CME ERROR: {code}", command
    assert at.cmd('AT+WIPFILE=4,1,1')[1] == "ERROR"  # no file name: syntax
    at.ok("AT+WIPCLOSE=4,1")
    at.expect_urc("+WIPPEERCLOSE: 4,1")


def test_ftp_plus_escape_aborts_download_and_upload(module_for, ftp_server):
    (ftp_server.root / "big.bin").write_bytes(b"\x10abc" * 2_000_000)
    at = module_for()
    at.ok(f'AT+WIPCREATE=4,1,"127.0.0.1",{ftp_server.port},"username","passwd"')
    at.ok("AT+WIPOPT=4,1,2,40,1")
    at.connect_data('AT+WIPFILE=4,1,1,"big.bin"')
    got, finished = read_file_data(at, at_least=1000)
    assert not finished
    before_ok = at.escape(GUARD)  # D52: guarded +++ -> OK, the download stops without ETX
    rest = bytearray()
    used, done = _decode_into(bytes(before_ok), rest)
    assert not done and len(got) + len(rest) < 8_000_000
    at.no_urc(0.2)
    at.connect_data('AT+WIPFILE=4,1,2,"partial.bin"')
    at.send_raw(b"partial upload")
    assert at.escape(GUARD) == b""
    (ftp_server.root / "small.txt").write_bytes(b"still works")
    assert download(at, 'AT+WIPFILE=4,1,1,"small.txt"') == (b"still works", "OK")
    at.ok("AT+WIPCLOSE=4,1")


def test_ftp_server_drop_sends_peerclose(module_for, ftp_server):
    at = module_for()
    at.ok(f'AT+WIPCREATE=4,1,"127.0.0.1",{ftp_server.port},"username","passwd"')
    ftp_server.stop()
    assert at.expect_urc("+WIPPEERCLOSE:", timeout=5) == "+WIPPEERCLOSE: 4,1"  # D40
    assert at.cmd("AT+WIPCLOSE=4,1")[1] == "+CME ERROR: 831"


# ---------------------------------------------------------------------------------- HTTP


def test_c8_http_through_proxy(module_for, http_server):
    http_server.set_response("/urlForGet", 200, b"hello http")
    at = module_for(http_server.port, 81)
    at.ok('AT+WIPCREATE=5,1,"127.0.0.1",81,"username","password","X-Header","header value"')
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 5,1"
    assert at.ok("AT+WIPOPT=5,1,1,51") == ["+WIPOPT: 5,51,0"]
    at.ok("AT+WIPOPT=5,1,2,53,6")
    body, final = download(at, 'AT+WIPFILE=5,1,1,"http://127.0.0.1/urlForGet","username",'
                               '"password","Accept","text/html","Transfer-codings","compress"')
    assert (body, final) == (b"hello http", "OK")
    assert at.expect_urc("+WIPFILE:") == '+WIPFILE: 5,1,1,200,"OK"'
    request = http_server.last_request()
    assert (request.method, request.target, request.version) == \
        ("GET", "http://127.0.0.1/urlForGet", "HTTP/1.1")
    basic = "Basic " + base64.b64encode(b"username:password").decode()
    assert request.headers["Proxy-Authorization"] == basic
    assert request.headers["Authorization"] == basic
    assert request.headers["X-Header"] == "header value"
    assert request.headers["Accept"] == "text/html"
    assert request.headers["Transfer-codings"] == "compress"
    assert request.headers["Connection"] == "close"
    at.ok("AT+WIPCLOSE=5,1")
    at.no_urc(0.2)  # only FTP close sends +WIPPEERCLOSE


def test_http_methods_and_status_urcs(module_for, http_server):
    at = module_for()
    at.ok("AT+WIPCREATE=5,2")
    at.expect_urc("+WIPREADY: 5,2")
    url = http_server.url
    body, final = download(at, f'AT+WIPFILE=5,2,1,"{url("/bytes/200000?seed=3")}"')
    assert (body, final) == (random_bytes(200000, 3), "OK")
    assert at.expect_urc("+WIPFILE:") == '+WIPFILE: 5,2,1,200,"OK"'
    assert download(at, f'AT+WIPFILE=5,2,1,"{url("/status/404")}"') == (b"status 404\n", "OK")
    assert at.expect_urc("+WIPFILE:") == '+WIPFILE: 5,2,1,404,"Not Found"'  # D50
    assert download(at, f'AT+WIPFILE=5,2,1,"{url("/chunked/3000")}"')[0] == \
        random_bytes(3000, 1)  # de-chunked
    at.expect_urc('+WIPFILE: 5,2,1,200,"OK"')
    assert download(at, f'AT+WIPFILE=5,2,1,"{url("/redirect/2")}"')[0] == b"redirect done"
    at.expect_urc('+WIPFILE: 5,2,1,200,"OK"')
    payload = random_bytes(70000, 9)
    assert upload(at, f'AT+WIPFILE=5,2,2,"{url("/store/blob")}"', payload) == "OK"
    assert at.expect_urc("+WIPFILE:") == '+WIPFILE: 5,2,2,201,"Created"'
    assert http_server.stored["/store/blob"] == payload
    assert http_server.last_request().method == "PUT"
    assert upload(at, f'AT+WIPFILE=5,2,4,"{url("/form")}"', b"k=v\x03\x10") == "OK"
    assert at.expect_urc("+WIPFILE:") == '+WIPFILE: 5,2,4,200,"OK"'
    assert http_server.last_request().body == b"k=v\x03\x10"
    body, final = download(at, f'AT+WIPFILE=5,2,3,"{url("/store/blob")}"')
    assert (body, final) == (b"deleted", "OK")
    assert at.expect_urc("+WIPFILE:") == '+WIPFILE: 5,2,3,200,"OK"'
    assert "/store/blob" not in http_server.stored
    at.ok("AT+WIPOPT=5,2,2,52,0")
    download(at, f'AT+WIPFILE=5,2,1,"{url("/headers")}",,,"Accept","text/plain"')
    request = http_server.last_request()
    assert request.version == "HTTP/1.0" and request.headers["Accept"] == "text/plain"
    assert request.target == "/headers"


def test_http_errors_and_abort(module_for, http_server, banner_server_factory):
    at = module_for()
    at.ok('AT+WIPCREATE=5,1,,,"sess","pw"')
    at.expect_urc("+WIPREADY: 5,1")
    closed = free_port()
    junk = banner_server_factory(b"garbage instead of HTTP")
    for command, code in ((f'AT+WIPFILE=5,1,1,"http://127.0.0.1:{closed}/"', 842),
                          (f'AT+WIPFILE=5,1,1,"http://127.0.0.1:{junk.port}/"', 860),
                          ('AT+WIPFILE=5,1,5,"http://127.0.0.1/"', 800),
                          ('AT+WIPOPT=5,1,1,54', 834),
                          ('AT+WIPOPT=5,1,1,53', 835)):
        assert at.cmd(command)[1] == f"+CME ERROR: {code}", command
    at.no_urc(0.1)  # D50: no +WIPFILE after an error
    body, _ = download(at, f'AT+WIPFILE=5,1,1,"{http_server.url("/headers")}"')
    headers = {k.lower(): v for k, v in json.loads(body).items()}
    assert headers["authorization"] == "Basic " + base64.b64encode(b"sess:pw").decode()
    at.expect_urc("+WIPFILE: 5,1,1,200")
    count = len(http_server.requests)
    at.connect_data(f'AT+WIPFILE=5,1,4,"{http_server.url("/never")}"')
    at.send_raw(b"half a body")
    assert at.escape(GUARD) == b""  # D52: OK, nothing is sent, no URC
    at.no_urc(0.2)
    assert len(http_server.requests) == count
    at.ok("AT+WIPCLOSE=5,1")
    assert at.cmd("AT+WIPCLOSE=5,1")[1] == "+CME ERROR: 831"


# ---------------------------------------------------------------------------------- SMTP


def test_c9_smtp_send(module_for, smtp_server):
    at = module_for(smtp_server.port, 25)
    at.ok('AT+WIPCREATE=6,1,"127.0.0.1",25,"user","password"')
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 6,1"
    [status] = at.ok("AT+WIPOPT=6,1,1,60")
    assert status.startswith('+WIPOPT: 6,60,220,"220 ')  # D44: the greeting
    for command in ('AT+WIPOPT=6,1,2,61,"sender@localhost"',
                    'AT+WIPOPT=6,1,2,62,"sender name"',
                    'AT+WIPOPT=6,1,2,63,"rec01@localhost, rec02@localhost"',
                    'AT+WIPOPT=6,1,2,64,"ccrec01@localhost, ccrec02@localhost"',
                    'AT+WIPOPT=6,1,2,65,"bccrec01@localhost, bccrec02@localhost"',
                    'AT+WIPOPT=6,1,2,66,"mail subject"'):
        at.ok(command)
    assert at.ok("AT+WIPOPT=6,1,1,61") == ['+WIPOPT: 6,61,"sender@localhost"']
    assert upload(at, "AT+WIPFILE=6,1,2", b"Hello,\r\nthis is the body.\r\n") == "OK"
    [mail] = smtp_server.envelopes
    assert mail.mail_from == "sender@localhost"
    assert mail.rcpt_tos == ["rec01@localhost", "rec02@localhost", "ccrec01@localhost",
                             "ccrec02@localhost", "bccrec01@localhost", "bccrec02@localhost"]
    header, _, body = mail.content.partition(b"\r\n\r\n")
    assert header.split(b"\r\n") == [b'From: "sender name" <sender@localhost>',
                                     b"To: rec01@localhost, rec02@localhost",
                                     b"Cc: ccrec01@localhost, ccrec02@localhost",
                                     b"Subject: mail subject"]
    assert b"bcc" not in header.lower()
    assert body == b"Hello,\r\nthis is the body.\r\n"
    assert smtp_server.auth_attempts == [("PLAIN", "user", True)]
    # one session sends several mails; dot-stuffing and the final CR LF (§2.6)
    assert upload(at, "AT+WIPFILE=6,1,2", b".starts with a dot\r\nno newline") == "OK"
    assert smtp_server.envelopes[1].content.endswith(
        b"\r\n\r\n.starts with a dot\r\nno newline\r\n")
    at.ok("AT+WIPCLOSE=6,1")


def test_smtp_error_codes(module_for, smtp_server, banner_server_factory):
    at = module_for()
    port = smtp_server.port
    assert at.cmd(f'AT+WIPCREATE=6,1,"127.0.0.1",{port},"user","bad"')[1] == "+CME ERROR: 865"
    busy = banner_server_factory(b"421 4.3.2 not ready")
    assert at.cmd(f'AT+WIPCREATE=6,1,"127.0.0.1",{busy.port}')[1] == "+CME ERROR: 866"
    at.ok(f'AT+WIPCREATE=6,1,"127.0.0.1",{port},"user","password"')
    at.expect_urc("+WIPREADY: 6,1")
    assert at.cmd(f'AT+WIPCREATE=7,2,"127.0.0.1",{port}')[1] == "+CME ERROR: 840"  # D34
    assert at.cmd("AT+WIPFILE=6,1,2")[1] == "+CME ERROR: 880"  # no sender
    smtp_server.reject_senders.add("bad@localhost")
    smtp_server.reject_recipients.update({"x@localhost", "xcc@localhost", "xbcc@localhost"})
    steps = [('61,"bad@localhost"', None), ('63,"ok@localhost"', 880),
             ('61,"me@localhost"', None), ('63,"ok@localhost, x@localhost"', 881),
             ('63,"ok@localhost"', None), ('64,"xcc@localhost"', 882),
             ('64,""', None), ('65,"xbcc@localhost"', 883)]
    for option, code in steps:
        at.ok(f"AT+WIPOPT=6,1,2,{option}")
        if code:
            assert at.cmd("AT+WIPFILE=6,1,2")[1] == f"+CME ERROR: {code}", option
    at.ok('AT+WIPOPT=6,1,2,65,""')
    smtp_server.reject_data = True
    assert upload(at, "AT+WIPFILE=6,1,2", b"rejected body") == "+CME ERROR: 884"
    [status] = at.ok("AT+WIPOPT=6,1,1,60")
    assert status.startswith("+WIPOPT: 6,60,554,")
    smtp_server.reject_data = False
    assert at.cmd("AT+WIPFILE=6,1,1")[1] == "+CME ERROR: 800"
    assert at.cmd("AT+WIPOPT=6,1,2,60,1")[1] == "+CME ERROR: 835"
    at.connect_data("AT+WIPFILE=6,1,2")
    at.send_raw(b"never sent")
    assert at.escape(GUARD) == b""
    assert upload(at, "AT+WIPFILE=6,1,2", b"sent") == "OK"
    assert [m.content.endswith(b"\r\n\r\nsent\r\n") for m in smtp_server.envelopes] == [True]
    at.ok("AT+WIPCLOSE=6,1")


# ---------------------------------------------------------------------------------- POP3


def test_c10_pop3(module_for, pop3_server):
    messages = pop3_server.add_messages("user", 10, 12400)
    at = module_for(pop3_server.port, 110)
    at.ok('AT+WIPCREATE=7,1,"127.0.0.1",110,"user","password"')
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 7,1"
    assert at.ok("AT+WIPOPT=7,1,1,71") == ["+WIPOPT: 7,71,10"]
    assert at.ok("AT+WIPOPT=7,1,1,72") == ["+WIPOPT: 7,72,124000"]
    assert at.ok("AT+WIPOPT=7,1,1,73") == [f'+WIPOPT: 7,73,"{n},12400"' for n in range(1, 11)]
    assert download(at, 'AT+WIPFILE=7,1,1,"5"') == (messages[4], "OK")
    assert download(at, 'AT+WIPFILE=7,1,3,"1"') == (messages[0], "OK")
    at.no_urc(0.1)  # POP3 sends no +WIPFILE
    at.ok("AT+WIPCLOSE=7,1")
    deadline = time.monotonic() + 5
    while pop3_server.message_count("user") != 9 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pop3_server.message_count("user") == 9
    at.ok('AT+WIPCREATE=7,1,"127.0.0.1",110,"user","password"')
    at.expect_urc("+WIPREADY: 7,1")
    assert download(at, 'AT+WIPFILE=7,1,1,"4"') == (messages[4], "OK")  # 5 is still there


def test_pop3_error_codes_delete_and_abort(module_for, pop3_server, banner_server_factory):
    messages = pop3_server.add_messages("user", 3, 300_000)
    at = module_for()
    port = pop3_server.port
    assert at.cmd(f'AT+WIPCREATE=7,1,"127.0.0.1",{port},"user","wrong"')[1] == \
        "+CME ERROR: 862"
    not_ready = banner_server_factory(b"-ERR maintenance")
    assert at.cmd(f'AT+WIPCREATE=7,1,"127.0.0.1",{not_ready.port},"u","p"')[1] == \
        "+CME ERROR: 866"
    at.ok(f'AT+WIPCREATE=7,1,"127.0.0.1",{port},"user","password"')
    at.expect_urc("+WIPREADY: 7,1")
    [status] = at.ok("AT+WIPOPT=7,1,1,70")
    assert status.startswith('+WIPOPT: 7,70,0,"+OK')
    assert at.cmd('AT+WIPFILE=7,1,1,"9"')[1] == "+CME ERROR: 867"
    [status] = at.ok("AT+WIPOPT=7,1,1,70")
    assert status.startswith('+WIPOPT: 7,70,867,"-ERR')  # D44
    assert at.cmd('AT+WIPFILE=7,1,2,"1"')[1] == "+CME ERROR: 800"
    assert at.cmd("AT+WIPOPT=7,1,2,74,9")[1] == "+CME ERROR: 863"
    assert at.ok("AT+WIPOPT=7,1,2,74,3") == ["+WIPOPT: 7,74,3"]  # D41
    assert at.cmd("AT+WIPOPT=7,1,1,74")[1] == "+CME ERROR: 835"
    at.connect_data('AT+WIPFILE=7,1,1,"1"')
    read_file_data(at, at_least=100)
    at.escape(GUARD)  # D52 abort in the middle of message 1
    at.no_urc(0.1)
    assert download(at, 'AT+WIPFILE=7,1,1,"2"') == (messages[1], "OK")
    assert at.ok("AT+WIPOPT=7,1,1,71") == ["+WIPOPT: 7,71,2"]  # 3 is marked deleted
    at.ok("AT+WIPCLOSE=7,1")


def test_d5_field_errors_win_over_session_already_exists(module_for):
    """With a session open, a bad port (832) or empty server (800) is still reported first."""
    at = module_for()
    at.ok('AT+WIPCREATE=5,1,"127.0.0.1"')
    at.expect_urc("+WIPREADY: 5,1")
    assert at.cmd('AT+WIPCREATE=4,2,"127.0.0.1",70000,"u","p"')[1] == "+CME ERROR: 832"
    assert at.cmd('AT+WIPCREATE=6,2,"",25')[1] == "+CME ERROR: 800"
    assert at.cmd('AT+WIPCREATE=7,2,"127.0.0.1",110')[1] == "+CME ERROR: 840"
