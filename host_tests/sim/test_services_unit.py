"""tools/wipsim/services.py driven directly (no AT layer) against real loopback servers."""

import base64
import hashlib
import ipaddress
import json
import socket
import threading
import time

import pytest

from tools.wipsim.services import (
    ServiceError,
    ServiceSyntaxError,
    create_session,
    dot_stuff,
)


class FakeEnv:
    """The env object the core passes to create_session, with the same contract."""

    def __init__(self, offset=0, internet=True):
        self.offset = offset
        self.connect_timeout = 3.0
        self.internet_enabled = internet
        self.closed = []
        self.logs = []
        self.peer_closed_event = threading.Event()

    def resolve(self, host):
        if host.lower() in ("localhost", "ftp server", "pop3 server"):
            return "127.0.0.1"
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8"):
                return host
        except ValueError:
            pass
        raise ServiceError(842, "unresolvable")

    def real_port(self, port):
        return port + self.offset if port < 1024 else port

    def peer_closed(self, proto, idx):
        self.closed.append((proto, idx))
        self.peer_closed_event.set()

    def log(self, msg):
        self.logs.append(msg)


@pytest.fixture
def env():
    return FakeEnv()


def download(transfer):
    data = bytearray()
    while True:
        chunk = transfer.read()
        if not chunk:
            return bytes(data), transfer.finish()
        data += chunk


def upload(transfer, data, step=4096):
    for pos in range(0, len(data), step):
        transfer.write(data[pos:pos + step])
    return transfer.finish()


def code_of(excinfo):
    return excinfo.value.args[0]


# ----------------------------------------------------------------------------------- FTP


def ftp_session(env, server, *extra):
    return create_session(4, 1, ["127.0.0.1", server.port, server.user, server.password,
                                 *extra], env)


def test_ftp_upload_then_download_text(env, ftp_server):
    session = ftp_session(env, ftp_server)
    assert session.ready_urc is False  # D28
    transfer = session.start_file(2, ["./filename.txt"])
    assert transfer.upload
    assert upload(transfer, b"hello ftp") is None
    assert (ftp_server.root / "filename.txt").read_bytes() == b"hello ftp"
    transfer = session.start_file(1, ["./filename.txt"])
    assert not transfer.upload
    assert download(transfer) == (b"hello ftp", None)
    assert session.close() is True  # the core sends +WIPPEERCLOSE: 4,1


def test_ftp_binary_1mb_streams_both_ways_active_and_passive(env, ftp_server):
    payload = bytes(range(256)) * 4096
    session = ftp_session(env, ftp_server)
    assert session.set_option(40, 1) == []
    for passive in (1, 0):
        session.set_option(41, passive)
        assert session.get_option(41) == [str(passive)]
        upload(session.start_file(2, [f"big{passive}.bin"]), payload, step=10000)
        assert (ftp_server.root / f"big{passive}.bin").read_bytes() == payload
        transfer = session.start_file(1, [f"big{passive}.bin"])
        first = transfer.read()
        assert 0 < len(first) < len(payload)  # streamed, not buffered whole
        rest, result = download(transfer)
        assert hashlib.sha256(first + rest).digest() == hashlib.sha256(payload).digest()
        assert result is None
    session.close()


def test_ftp_options_and_access_errors(env, ftp_server):
    session = ftp_session(env, ftp_server)
    assert session.get_option(40) == ["0"]
    assert session.get_option(41) == ["1"]
    with pytest.raises(ServiceError) as exc:
        session.set_option(40, 2)
    assert code_of(exc) == 801
    with pytest.raises(ServiceError) as exc:
        session.set_option(41, "x")
    assert code_of(exc) == 801
    with pytest.raises(ServiceError) as exc:
        session.get_option(60)
    assert code_of(exc) == 800
    session.close()


def test_ftp_errors(env, ftp_server):
    with pytest.raises(ServiceError) as exc:
        create_session(4, 1, ["127.0.0.1", ftp_server.port, "anonymous", "x"], env)
    assert code_of(exc) == 861
    with pytest.raises(ServiceError) as exc:
        create_session(4, 1, ["127.0.0.1", ftp_server.port, ftp_server.user, "wrong"], env)
    assert code_of(exc) == 862
    with pytest.raises(ServiceError) as exc:
        create_session(4, 1, ["127.0.0.1", 0, "u", "p"], env)
    assert code_of(exc) == 832
    with pytest.raises(ServiceError) as exc:
        create_session(4, 1, ["", None, "u", "p"], env)
    assert code_of(exc) == 800
    with pytest.raises(ServiceSyntaxError):
        create_session(4, 1, ["127.0.0.1", 21, "user only"], env)
    with pytest.raises(ServiceError) as exc:
        create_session(4, 1, ["10.0.0.1", 21, "u", "p"], env)
    assert code_of(exc) == 842
    with pytest.raises(ServiceError) as exc:
        ftp_session(FakeEnv(internet=False), ftp_server)
    assert code_of(exc) == 839
    session = ftp_session(env, ftp_server)
    for mode, fields, code in ((3, ["x"], 800), (1, ["a" * 129], 800), (1, ["missing"], 860)):
        with pytest.raises(ServiceError) as exc:
            session.start_file(mode, fields)
        assert code_of(exc) == code
    with pytest.raises(ServiceSyntaxError):
        session.start_file(1, [])
    transfer = session.start_file(2, ["busy.txt"])
    with pytest.raises(ServiceError) as exc:
        session.start_file(1, ["busy.txt"])
    assert code_of(exc) == 831
    upload(transfer, b"done")
    assert download(session.start_file(1, ["busy.txt"]))[0] == b"done"
    session.close()


def test_ftp_closed_port_and_not_ready(env, banner_server_factory):
    from host_tests.servers import free_port

    with pytest.raises(ServiceError) as exc:
        create_session(4, 1, ["127.0.0.1", free_port(), "u", "p"], env)
    assert code_of(exc) == 842
    busy = banner_server_factory(b"421 Too many users")
    with pytest.raises(ServiceError) as exc:
        create_session(4, 1, ["127.0.0.1", busy.port, "u", "p"], env)
    assert code_of(exc) == 866


def test_ftp_low_port_goes_through_offset(ftp_server):
    offset_env = FakeEnv(offset=ftp_server.port - 21)
    session = create_session(4, 1, ["ftp server", 21, ftp_server.user, ftp_server.password],
                             offset_env)
    session.close()
    default_port = create_session(4, 1, ["localhost", ftp_server.user, ftp_server.password],
                                  offset_env)  # D26: the port field left out means 21
    default_port.close()


def test_ftp_abort_download_keeps_session_usable(env, ftp_server):
    (ftp_server.root / "big.bin").write_bytes(b"x" * 3_000_000)
    session = ftp_session(env, ftp_server)
    session.set_option(40, 1)
    transfer = session.start_file(1, ["big.bin"])
    assert transfer.read()
    transfer.abort()
    (ftp_server.root / "small.txt").write_bytes(b"after abort")
    assert download(session.start_file(1, ["small.txt"]))[0] == b"after abort"
    session.close()


def test_ftp_server_drop_reports_peer_close(env, ftp_server):
    session = ftp_session(env, ftp_server)
    ftp_server.stop()
    assert env.peer_closed_event.wait(5)
    assert env.closed == [(4, 1)]
    with pytest.raises(ServiceError) as exc:
        session.start_file(1, ["x"])
    assert code_of(exc) == 831
    session.close()


# ---------------------------------------------------------------------------------- HTTP


def test_http_get_streams_and_reports_status(env, http_server):
    session = create_session(5, 1, [], env)
    assert session.ready_urc is True
    transfer = session.start_file(1, [http_server.url("/bytes/1048576?seed=7")])
    first = transfer.read()
    assert 0 < len(first) < 1048576
    rest, urc = download(transfer)
    from host_tests.servers import random_bytes

    assert first + rest == random_bytes(1048576, 7)
    assert urc == '+WIPFILE: 5,1,1,200,"OK"'
    request = http_server.last_request()
    assert request.target == "/bytes/1048576?seed=7"
    assert request.version == "HTTP/1.1"
    assert request.headers["Connection"] == "close"
    assert request.headers["Host"] == f"127.0.0.1:{http_server.port}"
    session.close()


def test_http_404_dechunk_redirects_and_version(env, http_server):
    session = create_session(5, 2, [], env)
    body, urc = download(session.start_file(1, [http_server.url("/status/404")]))
    assert urc == '+WIPFILE: 5,2,1,404,"Not Found"' and body == b"status 404\n"
    from host_tests.servers import random_bytes

    body, urc = download(session.start_file(1, [http_server.url("/chunked/5000")]))
    assert body == random_bytes(5000, 1) and urc.endswith(',200,"OK"')
    body, urc = download(session.start_file(1, [http_server.url("/redirect/3")]))
    assert (body, urc) == (b"redirect done", '+WIPFILE: 5,2,1,200,"OK"')
    session.set_option(53, 2)
    body, urc = download(session.start_file(1, [http_server.url("/redirect/3")]))
    assert urc == '+WIPFILE: 5,2,1,302,"Found"' and body == b"moved\n"
    session.set_option(53, 0)
    session.set_option(52, 0)
    assert session.get_option(52) == ["0"]
    download(session.start_file(1, [http_server.url("/chunked/10")]))
    assert http_server.last_request().version == "HTTP/1.0"
    session.close()


def test_http_put_post_delete(env, http_server):
    session = create_session(5, 1, [], env)
    payload = bytes(range(256)) * 100
    transfer = session.start_file(2, [http_server.url("/up/file.bin")])
    assert transfer.upload
    assert upload(transfer, payload) == '+WIPFILE: 5,1,2,201,"Created"'
    assert http_server.stored["/up/file.bin"] == payload
    assert http_server.last_request().headers["Content-Length"] == str(len(payload))
    assert upload(session.start_file(4, [http_server.url("/form")]), b"a=1") == \
        '+WIPFILE: 5,1,4,200,"OK"'
    assert http_server.last_request().method == "POST"
    transfer = session.start_file(3, [http_server.url("/up/file.bin")])
    assert not transfer.upload
    assert download(transfer) == (b"deleted", '+WIPFILE: 5,1,3,200,"OK"')
    assert download(session.start_file(3, [http_server.url("/up/file.bin")]))[1] == \
        '+WIPFILE: 5,1,3,404,"Not Found"'
    session.close()


def test_http_proxy_and_auth_headers(env, http_server):
    http_server.set_response("/urlForGet", 200, b"hello http")
    session = create_session(5, 1, ["127.0.0.1", http_server.port, "username", "password",
                                    "X-Header", None, "header value"], env)
    assert session.get_option(51) == ["0"]
    body, urc = download(session.start_file(
        1, ["http://127.0.0.1/urlForGet", "username", "password", "Accept", "text/html",
            "Transfer-codings", "compress"]))
    assert (body, urc) == (b"hello http", '+WIPFILE: 5,1,1,200,"OK"')
    request = http_server.last_request()
    assert request.target == "http://127.0.0.1/urlForGet"
    basic = "Basic " + base64.b64encode(b"username:password").decode()
    assert request.headers["Proxy-Authorization"] == basic
    assert request.headers["Authorization"] == basic
    assert request.headers["X-Header"] == "header value"
    assert request.headers["Accept"] == "text/html"
    assert request.headers["Transfer-codings"] == "compress"
    assert request.headers["Host"] == "127.0.0.1"
    session.close()


def test_http_session_credentials_and_header_override(env, http_server):
    session = create_session(5, 1, [None, None, "sess", "pw", "Accept", "*/*", "X-A", "1"],
                             env)
    body, _ = download(session.start_file(1, [http_server.url("/headers"), None, None,
                                              "accept", "text/plain"]))
    headers = {k.lower(): v for k, v in json.loads(body).items()}
    assert headers["authorization"] == "Basic " + base64.b64encode(b"sess:pw").decode()
    assert headers["accept"] == "text/plain"
    assert headers["x-a"] == "1"
    assert "proxy-authorization" not in headers
    order = [name.lower() for name in http_server.last_request().headers.keys()]
    assert order.index("x-a") < order.index("accept")  # session headers first
    session.close()


def test_http_errors(env, http_server):
    from host_tests.servers import free_port

    with pytest.raises(ServiceError) as exc:
        create_session(5, 1, ["127.0.0.1", 80, "u", "p", "odd"], env)
    assert code_of(exc) == 800
    with pytest.raises(ServiceError) as exc:
        create_session(5, 1, ["127.0.0.1", 70000], env)
    assert code_of(exc) == 832
    session = create_session(5, 1, [], env)
    for mode, fields, code in ((5, ["http://127.0.0.1/"], 800),
                               (1, ["ftp://127.0.0.1/"], 800),
                               (1, ["http://127.0.0.1:0/"], 800),
                               (1, [f"http://127.0.0.1:{free_port()}/"], 842),
                               (2, [f"http://127.0.0.1:{free_port()}/"], 842),
                               (1, ["http://10.1.2.3/"], 842)):
        with pytest.raises(ServiceError) as exc:
            session.start_file(mode, fields)
        assert code_of(exc) == code
    assert session.set_option(50, 4294967295) == [] and session.get_option(50) == ["4294967295"]
    for opt, value, code in ((53, -1, 801), (52, 2, 801), (51, 4294967296, 801), (50, "x", 801)):
        with pytest.raises(ServiceError) as exc:
            session.set_option(opt, value)
        assert code_of(exc) == code
    for opt, code in ((54, 834), (53, 835), (40, 800)):
        with pytest.raises(ServiceError) as exc:
            session.get_option(opt)
        assert code_of(exc) == code


def test_http_malformed_response_is_860(env, banner_server_factory):
    junk = banner_server_factory(b"this is not HTTP")
    session = create_session(5, 1, [], env)
    with pytest.raises(ServiceError) as exc:
        session.start_file(1, [f"http://127.0.0.1:{junk.port}/"])
    assert code_of(exc) == 860


def test_http_abort_upload_sends_nothing(env, http_server):
    session = create_session(5, 1, [], env)
    transfer = session.start_file(4, [http_server.url("/never")])
    transfer.write(b"partial")
    transfer.abort()
    time.sleep(0.1)
    assert http_server.requests == []
    assert download(session.start_file(1, [http_server.url("/status/200")]))[1].endswith(
        ',200,"OK"')


# ---------------------------------------------------------------------------------- SMTP


def smtp_session(env, server, auth=True):
    creds = [server.user, server.password] if auth else []
    return create_session(6, 1, ["127.0.0.1", server.port, *creds], env)


def test_smtp_c9_envelope_header_and_body(env, smtp_server):
    session = smtp_session(env, smtp_server)
    assert session.ready_urc is True
    code, text = session.get_option(60)[0].split(",", 1)
    assert code == "220" and text.startswith('"220 ') and "ready" in text
    settings = {61: "sender@localhost", 62: "sender name",
                63: "rec01@localhost, rec02@localhost",
                64: "ccrec01@localhost, ccrec02@localhost",
                65: "bccrec01@localhost, bccrec02@localhost", 66: "mail subject"}
    for opt, value in settings.items():
        assert session.set_option(opt, value) == []
        assert session.get_option(opt) == [f'"{value}"']
    transfer = session.start_file(2, [])
    assert transfer.upload
    assert upload(transfer, b"Hello,\r\nthis is the body.\r\n.hidden dot\r\n", step=7) is None
    [mail] = smtp_server.envelopes
    assert mail.mail_from == "sender@localhost"
    assert mail.rcpt_tos == ["rec01@localhost", "rec02@localhost", "ccrec01@localhost",
                             "ccrec02@localhost", "bccrec01@localhost", "bccrec02@localhost"]
    assert mail.auth_login == "user"
    header, _, body = mail.content.partition(b"\r\n\r\n")
    assert header.split(b"\r\n") == [b'From: "sender name" <sender@localhost>',
                                     b"To: rec01@localhost, rec02@localhost",
                                     b"Cc: ccrec01@localhost, ccrec02@localhost",
                                     b"Subject: mail subject"]
    assert body == b"Hello,\r\nthis is the body.\r\n.hidden dot\r\n"
    assert session.get_option(60)[0].startswith("250,")
    session.set_option(67, 0)
    session.set_option(62, "")
    upload(session.start_file(2, []), b"Subject: own\r\n\r\nno final newline")
    assert smtp_server.envelopes[1].content == b"Subject: own\r\n\r\nno final newline\r\n"
    session.close()


def test_smtp_errors(env, smtp_server, banner_server_factory):
    with pytest.raises(ServiceError) as exc:
        create_session(6, 1, ["127.0.0.1", smtp_server.port, "user", "wrong"], env)
    assert code_of(exc) == 865
    busy = banner_server_factory(b"421 busy, try later")
    with pytest.raises(ServiceError) as exc:
        create_session(6, 1, ["127.0.0.1", busy.port], env)
    assert code_of(exc) == 866
    session = smtp_session(env, smtp_server)
    with pytest.raises(ServiceError) as exc:
        session.start_file(2, [])
    assert code_of(exc) == 880  # no sender
    session.set_option(61, "sender@localhost")
    with pytest.raises(ServiceError) as exc:
        session.start_file(2, [])
    assert code_of(exc) == 881  # no recipient
    smtp_server.reject_senders.add("bad@localhost")
    smtp_server.reject_recipients.update({"no@localhost", "nocc@localhost", "nobcc@localhost"})
    cases = [({61: "bad@localhost", 63: "a@localhost"}, 880),
             ({61: "sender@localhost", 63: "a@localhost, no@localhost"}, 881),
             ({63: "a@localhost", 64: "nocc@localhost"}, 882),
             ({64: "", 65: "nobcc@localhost"}, 883)]
    for settings, code in cases:
        for opt, value in settings.items():
            session.set_option(opt, value)
        with pytest.raises(ServiceError) as exc:
            session.start_file(2, [])
        assert code_of(exc) == code
        assert session.get_option(60)[0].startswith("550,")
    session.set_option(65, "")
    for mode in (1, 3, 4):
        with pytest.raises(ServiceError) as exc:
            session.start_file(mode, [])
        assert code_of(exc) == 800
    smtp_server.reject_data = True
    transfer = session.start_file(2, [])
    with pytest.raises(ServiceError) as exc:
        upload(transfer, b"body")
    assert code_of(exc) == 884
    smtp_server.reject_data = False
    transfer = session.start_file(2, [])
    transfer.write(b"aborted body")
    transfer.abort()
    upload(session.start_file(2, []), b"kept body")
    assert [m.content.endswith(b"kept body\r\n") for m in smtp_server.envelopes] == [True]
    for opt, value, code in ((60, "x", 835), (67, 5, 801), (70, 1, 800)):
        with pytest.raises(ServiceError) as exc:
            session.set_option(opt, value)
        assert code_of(exc) == code
    session.close()


def test_dot_stuff():
    assert dot_stuff(b".a\r\nb\r\n..c\r\n") == b"..a\r\nb\r\n...c\r\n"


# ---------------------------------------------------------------------------------- POP3


def test_pop3_c10_list_retrieve_delete(env, pop3_server):
    messages = pop3_server.add_messages("user", 10, 12400)
    session = create_session(7, 1, ["127.0.0.1", pop3_server.port, "user", "password"], env)
    assert session.get_option(70)[0].startswith('0,"+OK')
    assert session.get_option(71) == ["10"]
    assert session.get_option(72) == ["124000"]
    assert session.get_option(73) == [f'"{n},12400"' for n in range(1, 11)]
    transfer = session.start_file(1, ["5"])
    body, result = download(transfer)
    assert result is None
    # dovecot keeps the arrival order; message 5 is one of ours, dot-unstuffed, no "." line
    assert body in messages and body.count(b"\r\n.leading dot line") == 1
    first, _ = download(session.start_file(3, ["1"]))
    assert first in messages and first != body
    assert session.set_option(74, 2) == ["2"]
    with pytest.raises(ServiceError) as exc:
        session.start_file(1, ["99"])
    assert code_of(exc) == 867
    assert session.get_option(70)[0].startswith('867,"-ERR')
    with pytest.raises(ServiceError) as exc:
        session.set_option(74, 99)
    assert code_of(exc) == 863
    assert session.close() is False
    assert pop3_server.message_count("user") == 8


def test_pop3_errors_and_abort(env, pop3_server, banner_server_factory):
    pop3_server.add_messages("user", 2, 200_000)
    with pytest.raises(ServiceError) as exc:
        create_session(7, 1, ["127.0.0.1", pop3_server.port, "user", "bad"], env)
    assert code_of(exc) == 862
    not_ready = banner_server_factory(b"-ERR go away")
    with pytest.raises(ServiceError) as exc:
        create_session(7, 1, ["127.0.0.1", not_ready.port], env)
    assert code_of(exc) == 866
    with pytest.raises(ServiceSyntaxError):
        create_session(7, 1, ["127.0.0.1", pop3_server.port, "user"], env)
    session = create_session(7, 1, ["127.0.0.1", pop3_server.port, "user", "password"], env)
    for mode in (2, 4):
        with pytest.raises(ServiceError) as exc:
            session.start_file(mode, ["1"])
        assert code_of(exc) == 800
    transfer = session.start_file(1, ["1"])
    assert transfer.read()
    transfer.abort()
    assert session.get_option(71) == ["2"]
    full, _ = download(session.start_file(1, ["2"]))
    assert len(full) == 200_000
    for opt, code in ((74, 835), (75, 800)):
        with pytest.raises(ServiceError) as exc:
            session.get_option(opt)
        assert code_of(exc) == code
    with pytest.raises(ServiceError) as exc:
        session.set_option(71, 1)
    assert code_of(exc) == 835
    session.close()


def test_pop3_user_with_space_and_no_auth(env, pop3_server):
    session = create_session(7, 1, ["pop3 server", pop3_server.port, "user name", "mail id"],
                             env)
    assert session.get_option(71) == ["0"]
    assert session.get_option(73) == []  # an empty mailbox lists nothing (§2.5)
    session.close()
    anonymous = create_session(7, 1, ["127.0.0.1", pop3_server.port], env)
    assert anonymous.get_option(70)[0].startswith('0,"+OK')
    with pytest.raises(ServiceError) as exc:
        anonymous.get_option(71)  # STAT before login: -ERR
    assert code_of(exc) == 860
    anonymous.close()


def test_http_credential_routing(env, http_server):
    basic = "Basic " + base64.b64encode(b"sess:pw").decode()
    proxied = create_session(5, 1, ["127.0.0.1", http_server.port, "sess", "pw"], env)
    download(proxied.start_file(1, ["http://127.0.0.1:8080/a"]))
    request = http_server.last_request()
    assert request.headers["Proxy-Authorization"] == basic
    assert request.headers["Authorization"] is None  # D27: session credentials go to the proxy
    assert request.headers["Host"] == "127.0.0.1:8080"
    proxied.close()
    direct = create_session(5, 1, [None, None, "sess", "pw"], env)
    download(direct.start_file(1, [http_server.url("/b"), "req", "pw2"]))
    request = http_server.last_request()
    assert request.headers.get_all("Authorization") == [
        "Basic " + base64.b64encode(b"req:pw2").decode()]  # the request's own wins
    assert request.headers["Proxy-Authorization"] is None
    direct.close()


def test_pop3_and_smtp_server_drop_report_peer_close(pop3_server, smtp_server):
    for proto, server, creds in ((7, pop3_server, ["user", "password"]),
                                 (6, smtp_server, ["user", "password"])):
        env = FakeEnv()
        session = create_session(proto, 3, ["127.0.0.1", server.port, *creds], env)
        server.stop()
        assert env.peer_closed_event.wait(5)
        assert env.closed == [(proto, 3)]  # D40
        session.close()


def test_smtp_auth_login_when_plain_is_not_offered(env):
    from host_tests.servers import start_smtp_server

    server = start_smtp_server(exclude_mechanisms=["PLAIN"])
    try:
        session = create_session(6, 1, ["localhost", str(server.port), "user", "password"],
                                 env)  # D26: a quoted port
        session.set_option(61, "a@localhost")
        session.set_option(65, "hidden@localhost")
        upload(session.start_file(2, []), b"only bcc")
        [mail] = server.envelopes
        assert server.auth_attempts == [("LOGIN", "user", True)]
        assert mail.rcpt_tos == ["hidden@localhost"]
        assert b"From: <a@localhost>\r\nTo: \r\nSubject: \r\n\r\nonly bcc\r\n" == mail.content
        session.close()
        with pytest.raises(ServiceError) as exc:
            create_session(6, 1, ["localhost", server.port, "user", "nope"], env)
        assert code_of(exc) == 865
    finally:
        server.stop()


class ScriptedServer:
    """A line server answering each command by its first word; records what it received.

    Only for paths the real servers cannot produce (FTP ACCT, SMTP without EHLO)."""

    def __init__(self, greeting, answers):
        self.answers = answers
        self.greeting = greeting
        self.received = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.listener.settimeout(5)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn, conn.makefile("rwb") as stream:
            stream.write(self.greeting + b"\r\n")
            stream.flush()
            for line in stream:
                command = line.strip().decode()
                self.received.append(command)
                stream.write(self.answers.get(command.split(" ")[0].upper(), b"500 ?") + b"\r\n")
                stream.flush()
                if command.upper() == "QUIT":
                    return

    def stop(self):
        self.listener.close()
        self.thread.join(5)


def test_ftp_account_is_sent_when_asked_and_rejection_is_865(env):
    answers = {"USER": b"331 password", "PASS": b"332 account please", "ACCT": b"230 in",
               "QUIT": b"221 bye"}
    server = ScriptedServer(b"220 scripted", answers)
    session = create_session(4, 1, ["127.0.0.1", server.port, "u", "p", "acct1"], env)
    session.close()
    server.stop()
    assert server.received == ["USER u", "PASS p", "ACCT acct1", "QUIT"]
    answers["ACCT"] = b"530 no such account"
    server = ScriptedServer(b"220 scripted", answers)
    with pytest.raises(ServiceError) as exc:
        create_session(4, 1, ["127.0.0.1", server.port, "u", "p", "bad"], env)
    assert code_of(exc) == 865
    server.stop()


def test_smtp_helo_fallback(env):
    server = ScriptedServer(b"220 old server", {"EHLO": b"502 what", "HELO": b"250 hi",
                                                "QUIT": b"221 bye"})
    session = create_session(6, 1, ["127.0.0.1", server.port], env)
    assert session.get_option(60) == ['220,"220 old server"']
    session.close()
    server.stop()
    assert [c.split()[0] for c in server.received] == ["EHLO", "HELO", "QUIT"]
