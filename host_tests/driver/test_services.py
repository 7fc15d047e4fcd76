"""The driver's service helpers (FTP, HTTP, SMTP, POP3, ping) end to end on CPython:
driver -> simulator (tools/wipsim) -> real loopback servers (host_tests/servers.py)."""

import hashlib
import io
import os
import socket
import threading

import pytest
import wip

from host_tests.conftest import GUARD_TIME
from host_tests.servers import random_bytes

MB = 1024 * 1024


def sha(data):
    return hashlib.sha256(data).hexdigest()


def nasty_bytes(size, seed=1):
    """Random bytes with every value and long DLE/ETX/'+' runs (the codec's worst case)."""
    data = bytearray(random_bytes(size, seed))
    data[:256] = bytes(range(256))[:size]
    for start, run in ((1000, b"\x10" * 300), (5000, b"\x03" * 300), (9000, b"\x10\x03" * 200),
                       (20000, b"+++" * 50)):
        data[start:start + len(run)] = run[:max(0, size - start)]
    return bytes(data[:size])


@pytest.fixture
def modem(sim):
    stream = wip.tcp_stream("127.0.0.1", sim.port)
    m = wip.Modem(stream, guard_time=GUARD_TIME, timeout=10)
    m.start()
    m.gprs("internet")
    yield m
    stream.close()


def read_all_in(r, size):
    """Read a stream to its end with readinto(size-byte buffer); return (sha256, length)."""
    digest = hashlib.sha256()
    buf = bytearray(size)
    total = 0
    while True:
        n = r.readinto(buf)
        if not n:
            return digest.hexdigest(), total
        assert n <= size
        digest.update(memoryview(buf)[:n])
        total += n


# ---------------------------------------------------------------------------------- FTP


def test_ftp_one_megabyte_up_and_down(modem, ftp_server):
    data = nasty_bytes(MB)
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:
        ftp.put("up.bin", data)
        assert sha((ftp_server.root / "up.bin").read_bytes()) == sha(data)
        with ftp.open("up.bin", "rb") as f:
            assert read_all_in(f, 512) == (sha(data), MB)
        ftp.put("stream.bin", io.BytesIO(data[:100000]))
        assert ftp.get("stream.bin") == data[:100000]


def test_ftp_download_written_by_the_server(modem, ftp_server):
    data = nasty_bytes(70000, seed=4)
    (ftp_server.root / "sub").mkdir()
    (ftp_server.root / "sub" / "f.bin").write_bytes(data)
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:
        sink = io.BytesIO()
        assert ftp.get("sub/f.bin", sink) == len(data)
        assert sink.getvalue() == data
        assert ftp.option(40) == 1 and ftp.option(41) == 1  # binary, passive


def test_ftp_missing_file_is_860(modem, ftp_server):
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:
        with pytest.raises(wip.WipError) as exc:
            ftp.get("missing.bin")
        assert exc.value.code == 860  # RETR refused: 550 (§2.6)


def test_ftp_delete_removes_the_file_and_the_session_keeps_working(modem, ftp_server, sim):
    (ftp_server.root / "sub").mkdir()
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:
        ftp.put("doomed.bin", b"short-lived")
        ftp.put("sub/also.bin", b"nested")
        ftp.put("keep.bin", b"keep")
        log_size = os.path.getsize(sim.log_path)
        ftp.delete("doomed.bin")
        ftp.delete("sub/also.bin")
        assert sorted(p.name for p in ftp_server.root.rglob("*")) == ["keep.bin", "sub"]
        with pytest.raises(wip.WipError) as exc:
            ftp.get("doomed.bin")
        assert exc.value.code == 860
        assert ftp.get("keep.bin") == b"keep"  # the module's session is still usable
        assert ftp.is_open()
        # DELE went over a module TCP socket (the module's FTP client has no DELE, D51).
        log = sim_log_since(sim, log_size)
        assert f'AT+WIPCREATE=2,1,"127.0.0.1",{ftp_server.port}' in log
        assert "AT+WIPCLOSE=2,1" in log and "WIPCLOSE=4" not in log
    assert "DELE doomed.bin" in ftp_server.commands
    assert "DELE sub/also.bin" in ftp_server.commands
    assert ftp_server.commands.count("QUIT") >= 2


def test_ftp_delete_missing_file_is_860(modem, ftp_server):
    (ftp_server.root / "keep.bin").write_bytes(b"keep")
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:
        with pytest.raises(wip.WipError) as exc:
            ftp.delete("missing.bin")
        assert exc.value.code == 860  # DELE answered 550
        assert "550" in str(exc.value)
        assert (ftp_server.root / "keep.bin").exists()
        ftp.delete("keep.bin")  # the control socket was closed: its index is free again
        assert not (ftp_server.root / "keep.bin").exists()


@pytest.mark.parametrize("bad", ["cr\r", "lf\n", "x\r\nDELE keep.bin", "nul\0", "bell\x07",
                                 "caf\u00e9", ""])
def test_ftp_delete_bad_path_raises_before_anything_is_sent(modem, ftp_server, sim, bad):
    (ftp_server.root / "keep.bin").write_bytes(b"keep")
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:
        log_size = os.path.getsize(sim.log_path)
        commands = len(ftp_server.commands)
        with pytest.raises(ValueError):
            ftp.delete(bad)
        assert "AT" not in sim_log_since(sim, log_size)
        assert len(ftp_server.commands) == commands
        assert ftp.get("keep.bin") == b"keep"


def test_ftp_abandoned_download_then_next_transfer(modem, ftp_server):
    data = nasty_bytes(300000, seed=2)
    (ftp_server.root / "big.bin").write_bytes(data)
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:
        with ftp.open("big.bin") as f:
            assert f.read(1000) == data[:1000]
        ftp.put("small.bin", b"after abort")
        assert ftp.get("small.bin") == b"after abort"


def test_ftp_wrong_password_is_862(modem, ftp_server):
    with pytest.raises(wip.WipError) as exc:
        modem.ftp(ftp_server.host, ftp_server.user, "wrong", port=ftp_server.port)
    assert exc.value.code == 862
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:  # the slot was freed
        ftp.put("ok.bin", b"x")


class RejectUserFTP:
    """A minimal FTP server that refuses every USER (530), as servers with user lists do."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.settimeout(10)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            conn.sendall(b"220 ready\r\n")
            f = conn.makefile("rb")
            for line in f:
                if line.upper().startswith(b"USER"):
                    conn.sendall(b"530 unknown user\r\n")
                elif line.upper().startswith(b"QUIT"):
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"503 login first\r\n")

    def stop(self):
        self.listener.close()
        self.thread.join(5)


def test_ftp_wrong_user_is_861(modem):
    server = RejectUserFTP()
    try:
        with pytest.raises(wip.WipError) as exc:
            modem.ftp("127.0.0.1", "nobody", "x", port=server.port)
        assert exc.value.code == 861
    finally:
        server.stop()


@pytest.mark.parametrize("service, banner", [("ftp", b"421 too many users"),
                                             ("pop3", b"-ERR busy"), ("smtp", b"554 go away")])
def test_server_not_ready_is_866(modem, banner_server_factory, service, banner):
    server = banner_server_factory(banner)
    with pytest.raises(wip.WipError) as exc:
        if service == "ftp":
            modem.ftp(server.host, "u", "p", port=server.port)
        elif service == "pop3":
            modem.pop3(server.host, "u", "p", port=server.port)
        else:
            modem.smtp(server.host, server.port).send("a@x", "b@x", "s", b"x\r\n")
    assert exc.value.code == 866
    assert getattr(modem, "service_session", None) is None


# --------------------------------------------------------------------------------- HTTP


def test_http_one_megabyte_streamed_in_512_byte_reads(modem, http_server):
    r = modem.http_get(http_server.url(f"/bytes/{MB}?seed=3"))
    assert read_all_in(r, 512) == (sha(random_bytes(MB, 3)), MB)
    assert (r.status, r.reason) == (200, "OK")
    # The one-shot session is gone: another service can start at once.
    assert modem.http_get(http_server.url("/status/204")).status == 204


def test_http_status_before_a_long_body_is_refused_not_guessed(modem, http_server):
    r = modem.http_get(http_server.url("/bytes/20000?seed=1"))
    with pytest.raises(OSError):
        r.status  # noqa: B018 - D50: the URC only follows the body
    assert r.read() == random_bytes(20000, 1)
    assert r.status == 200


def test_http_404_is_a_status_not_an_error(modem, http_server):
    r = modem.http_get(http_server.url("/no/such/thing"))
    assert r.status == 404  # known at once: the short body fits the read-ahead prefix
    assert r.read() == b"not found\n"
    assert modem.http_get(http_server.url("/status/500")).status == 500


def test_http_headers_reach_the_server(modem, http_server):
    r = modem.http_get(http_server.url("/headers"),
                       headers={"X-Wip-Test": "value 1", "Accept": "application/json"})
    assert r.status == 200
    req = http_server.last_request()
    assert req.headers["X-Wip-Test"] == "value 1"
    assert req.headers["Accept"] == "application/json"
    assert req.headers["Connection"].lower() == "close"


def test_http_post_and_put_bodies_arrive_intact(modem, http_server):
    body = nasty_bytes(200000, seed=8)
    r = modem.http_request("POST", http_server.url("/post/a"), data=body)
    assert r.status == 200 and r.read() == b""  # D48: the module discards the body
    assert http_server.stored["/post/a"] == body
    r = modem.http_request("PUT", http_server.url("/put/b"), data=io.BytesIO(body))
    assert r.status == 201
    assert http_server.stored["/put/b"] == body
    req = http_server.last_request()
    assert (req.method, int(req.headers["Content-Length"])) == ("PUT", len(body))


def test_http_delete(modem, http_server):
    http_server.stored["/doomed"] = b"x"
    r = modem.http_request("DELETE", http_server.url("/doomed"))
    assert (r.status, r.read()) == (200, b"deleted")
    assert "/doomed" not in http_server.stored
    assert modem.http_request("DELETE", http_server.url("/doomed")).status == 404


def test_http_session_with_proxy_credentials_and_headers(modem, http_server):
    with wip.http.Session(modem, proxy=(http_server.host, http_server.port),
                          auth=("proxyuser", "proxypass"), headers={"X-Session": "s"},
                          max_redirects=0) as s:
        r = s.get("http://127.0.0.1:1/redirect/1", auth=("user", "pw"))
        assert r.status == 302  # option 53 = 0: not followed
        req = http_server.last_request()
        assert req.target == "http://127.0.0.1:1/redirect/1"  # absolute form via the proxy
        assert req.headers["Proxy-Authorization"].startswith("Basic ")
        assert req.headers["Authorization"].startswith("Basic ")
        assert req.headers["X-Session"] == "s"
        r = s.post("http://127.0.0.1:1/p", data=b"second request, same session")
        assert r.status == 200
        assert http_server.stored["/p"] == b"second request, same session"


def test_http_unreachable_server_is_842(modem):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        dead_port = probe.getsockname()[1]
    with pytest.raises(wip.WipError) as exc:
        modem.http_get(f"http://127.0.0.1:{dead_port}/")
    assert exc.value.code == 842
    assert modem.ping("127.0.0.1", count=1, interval_ms=10)[0] is not None


# --------------------------------------------------------------------------------- SMTP


def test_smtp_mail_arrives(modem, smtp_server):
    body = b"Hello,\r\n.a line with a leading dot\r\nbye\r\n"
    modem.smtp(smtp_server.host, smtp_server.port, smtp_server.user,
               smtp_server.password).send(
        "sender@localhost", ["rec01@localhost", "rec02@localhost"], "mail subject", body,
        cc="cc01@localhost", bcc=["bcc01@localhost"], sender_name="Sender Name")
    mail = smtp_server.envelopes[-1]
    assert mail.mail_from == "sender@localhost"
    assert mail.rcpt_tos == ["rec01@localhost", "rec02@localhost", "cc01@localhost",
                             "bcc01@localhost"]
    assert mail.auth_login == smtp_server.user
    head, _, got_body = mail.content.partition(b"\r\n\r\n")
    assert b'From: "Sender Name" <sender@localhost>' in head
    assert b"To: rec01@localhost, rec02@localhost" in head
    assert b"Cc: cc01@localhost" in head
    assert b"Subject: mail subject" in head
    assert b"bcc01" not in head
    assert got_body == body


def test_smtp_session_sends_two_mails_and_reports_rejections(modem, smtp_server):
    smtp_server.reject_recipients.add("bad@localhost")
    with modem.smtp(smtp_server.host, smtp_server.port, smtp_server.user,
                    smtp_server.password) as s:
        s.send("a@localhost", "b@localhost", "one", io.BytesIO(b"first\r\n"))
        with pytest.raises(wip.WipError) as exc:
            s.send("a@localhost", "bad@localhost", "two", b"x\r\n")
        assert exc.value.code == 881
        s.send("a@localhost", "c@localhost", "three", b"third\r\n")
        assert s.status()[0] == 250
    assert [m.rcpt_tos for m in smtp_server.envelopes] == [["b@localhost"], ["c@localhost"]]
    assert smtp_server.envelopes[1].content.endswith(b"third\r\n")


def test_smtp_bad_credentials_is_865(modem, smtp_server):
    with pytest.raises(wip.WipError) as exc:
        modem.smtp(smtp_server.host, smtp_server.port, "user", "nope").send(
            "a@localhost", "b@localhost", "s", b"x\r\n")
    assert exc.value.code == 865
    assert smtp_server.envelopes == []


# --------------------------------------------------------------------------------- POP3


def test_pop3_count_list_retrieve_delete(modem, pop3_server):
    messages = pop3_server.add_messages("user", 3, 1500)
    with modem.pop3(pop3_server.host, "user", "password", port=pop3_server.port) as p:
        assert p.count() == 3
        assert p.size() == 4500
        assert p.list() == [(1, 1500), (2, 1500), (3, 1500)]
        with p.retrieve(2) as msg:
            assert read_all_in(msg, 512) == (sha(messages[1]), 1500)
        assert p.get(3) == messages[2]  # dot-stuffing undone by the module
        p.delete(1)
        assert p.get(2, delete=True) == messages[1]
    assert pop3_server.message_count("user") == 1


def test_pop3_wrong_password_and_missing_message(modem, pop3_server):
    with pytest.raises(wip.WipError) as exc:
        modem.pop3(pop3_server.host, "user", "wrong", port=pop3_server.port)
    assert exc.value.code == 862
    with modem.pop3(pop3_server.host, "user", "password", port=pop3_server.port) as p:
        assert p.count() == 0 and p.list() == []
        with pytest.raises(wip.WipError) as exc:
            p.get(7)
        assert exc.value.code == 867


# --------------------------------------------------------------------------------- ping


def test_ping_returns_round_trip_times(modem):
    rtts = modem.ping("127.0.0.1", count=3, interval_ms=50, timeout_ms=1000)
    assert len(rtts) == 3
    assert all(isinstance(t, int) and 0 <= t < 1000 for t in rtts)


def test_ping_loss_is_none(modem, sim):
    sim.control("ping-loss 1")
    rtts = modem.ping("127.0.0.1", count=2, interval_ms=50, timeout_ms=300)
    assert rtts[0] is None and isinstance(rtts[1], int)


def test_ping_unknown_host_is_819(modem):
    with pytest.raises(wip.WipError) as exc:
        modem.ping("no.such.host.example", count=1)
    assert exc.value.code == 819


# ------------------------------------------------------------------ sessions and strings


def test_second_session_is_refused_and_the_first_keeps_working(modem, ftp_server,
                                                              http_server, sim):
    (ftp_server.root / "a.bin").write_bytes(b"first session")
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:
        log_size = os.path.getsize(sim.log_path)
        for start in (lambda: modem.http_get(http_server.url("/status/200")),
                      lambda: modem.pop3("127.0.0.1", "u", "p"),
                      lambda: modem.smtp("127.0.0.1").send("a@x", "b@x", "s", b"x"),
                      lambda: modem.ftp("127.0.0.1", "u", "p")):
            with pytest.raises(wip.WipError) as exc:
                start()
            assert exc.value.code == 840
            assert f"FTP session 4,1 to 127.0.0.1:{ftp_server.port}" in str(exc.value)
        assert http_server.requests == []
        assert ftp.get("a.bin") == b"first session"
        log = sim_log_since(sim, log_size)
        assert 'AT+WIPFILE=4,1,1,"a.bin"' in log and "WIPCREATE" not in log
    assert modem.http_get(http_server.url("/status/200")).status == 200


def sim_log_since(sim, offset):
    with open(sim.log_path, "rb") as f:
        f.seek(offset)
        return f.read().decode("latin-1")


@pytest.mark.parametrize("bad", ['quo"te', "cr\r", "lf\n", "nul\0", "bell\x07"])
def test_bad_strings_raise_before_anything_is_sent(modem, sim, ftp_server, bad):
    log_size = os.path.getsize(sim.log_path)
    calls = (
        lambda: modem.ftp(bad, "u", "p"),
        lambda: modem.ftp("127.0.0.1", bad, "p"),
        lambda: modem.ftp("127.0.0.1", "u", bad),
        lambda: modem.http_get("http://127.0.0.1/" + bad),
        lambda: modem.http_get("http://127.0.0.1/", headers={"X-H": bad}),
        lambda: modem.http_get("http://127.0.0.1/", headers={bad: "v"}),
        lambda: modem.smtp("127.0.0.1", user=bad, password="p"),
        lambda: modem.smtp("127.0.0.1").send(bad, "b@x", "s", b"x"),
        lambda: modem.smtp("127.0.0.1").send("a@x", "b@x", bad, b"x"),
        lambda: modem.pop3("127.0.0.1", "u", bad),
        lambda: modem.ping(bad),
    )
    for call in calls:
        with pytest.raises(ValueError):
            call()
    with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                   port=ftp_server.port) as ftp:
        ftp.put("still.ok", b"fine")
    log = sim_log_since(sim, log_size).splitlines()
    assert [line for line in log if "> AT" in line][0].endswith(
        f'AT+WIPCREATE=4,1,"127.0.0.1",{ftp_server.port},"username","****"')


def test_session_dropped_by_the_server_frees_the_slot(modem, ftp_server, http_server):
    ftp = modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                    port=ftp_server.port)
    ftp_server.stop()  # the server closes the control connection
    assert modem.wait_for(lambda: modem.peer_closed(4, 1), 10)  # D40: +WIPPEERCLOSE: 4,1
    assert not ftp.is_open()
    assert modem.http_get(http_server.url("/status/200")).status == 200
    ftp.close()  # nothing left to close on the module: no +WIPCLOSE, no error


def test_http_session_abandons_an_unread_body_for_the_next_request(modem, http_server):
    with wip.http.Session(modem) as s:
        r = s.get(http_server.url("/bytes/300000?seed=2"))
        assert r.read(1000) == random_bytes(300000, 2)[:1000]
        r2 = s.get(http_server.url("/bytes/100?seed=3"))  # aborts r with +++ (D52)
        assert (r2.status, r2.read()) == (200, random_bytes(100, 3))
        with pytest.raises(OSError):
            r.status  # noqa: B018 - an aborted body never gets its status
        assert r.read() == b""


def test_module_reboot_frees_the_slot(modem, sim, ftp_server, http_server):
    ftp = modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                    port=ftp_server.port)
    assert sim.control("reboot")
    assert modem.wait_for(lambda: modem.reboots == 1, 10)  # +WIND: 3/4 (§8)
    assert not ftp.is_open()  # sessions vanish with the reboot, without a URC
    modem.start()
    modem.gprs("internet")
    assert modem.http_get(http_server.url("/status/200")).status == 200
    ftp.close()  # no +WIPCLOSE for a session the module no longer has
