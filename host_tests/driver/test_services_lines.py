"""Service helpers against a recording stand-in for the Modem: the exact AT lines they send.

The end-to-end behaviour is tested through the simulator in test_services.py; here the point
is what reaches the wire (canonical field forms D26/D27, option numbers, nothing at all for a
rejected argument) and the session bookkeeping, without timing.
"""

import pytest
import wip
from wip import ftp, http, ping, pop3, smtp


class FakeTransfer:
    """A +WIPFILE transfer: serves `body`, records uploads, queues the HTTP status URC."""

    def __init__(self, modem, body=b"", status_urc=None, error=None):
        self.modem = modem
        self.body = memoryview(body)
        self.status_urc = status_urc
        self.error = error
        self.uploaded = bytearray()
        self.aborted = False
        self.finished = False

    def _end(self):
        if self.error is not None:
            raise wip.WipError(self.error)
        if self.status_urc:
            self.modem.urcs.append(self.status_urc)

    def readinto(self, buf, n=None):
        n = len(buf) if n is None else n
        if not len(self.body):
            if not self.finished:
                self.finished = True
                self._end()
            return 0
        k = min(n, len(self.body), 100)
        buf[:k] = self.body[:k]
        self.body = self.body[k:]
        return k

    def write(self, buf):
        self.uploaded += bytes(buf)
        return len(buf)

    def finish(self):
        self.finished = True
        self._end()

    def abort(self):
        self.aborted = True


class FakeModem:
    """Records command lines; `replies` maps a line prefix to its information lines."""

    def __init__(self):
        self.sent = []
        self.replies = {}
        self.urcs = []
        self.handlers = {}
        self.transfers = []
        self.next_transfer = None
        self.closed_peers = set()
        self.masked = []
        self.reboots = 0

    def mask(self, secret):
        self.masked.append(secret)

    def quote(self, value):
        if any(c in value for c in '"\r\n\0') or any(ord(c) < 32 or ord(c) > 126 for c in value):
            raise ValueError("bad character")
        return '"' + value + '"'

    def _deliver(self):
        while self.urcs:
            line = self.urcs.pop(0)
            for prefix, callback in self.handlers.items():
                if line.startswith(prefix):
                    callback(line)

    def command(self, cmd, timeout=None):
        self.sent.append("AT" + cmd)
        for prefix, reply in self.replies.items():
            if cmd.startswith(prefix):
                if isinstance(reply, Exception):
                    raise reply
                return list(reply)
        return []

    def file_open(self, args, timeout=None):
        self.sent.append("AT+WIPFILE=" + args)
        ft = self.next_transfer or FakeTransfer(self)
        self.next_transfer = None
        self.transfers.append(ft)
        return ft

    def on_urc(self, prefix, callback):
        self.handlers[prefix] = callback

    def wait_for(self, predicate, timeout):
        self._deliver()
        return predicate()

    def wait_ready(self, proto, idx, timeout):
        self._deliver()

    def peer_closed(self, proto, idx):
        return (proto, idx) in self.closed_peers


def test_ftp_create_options_transfers_and_close():
    m = FakeModem()
    m.next_transfer = None
    f = ftp.FTP(m, "127.0.0.1", "user", "pw", port=2121)
    assert m.sent == ['AT+WIPCREATE=4,1,"127.0.0.1",2121,"user","pw"', "AT+WIPOPT=4,1,2,40,1"]
    assert m.masked == ["pw"]  # hidden in the debug transcript
    m.next_transfer = FakeTransfer(m, b"\x03\x10" * 300)
    assert f.get("dir/a.bin") == b"\x03\x10" * 300
    f.put("b.bin", b"xyz")
    assert m.transfers[-1].uploaded == b"xyz" and m.transfers[-1].finished
    f.close()
    assert m.sent[2:] == ['AT+WIPFILE=4,1,1,"dir/a.bin"', 'AT+WIPFILE=4,1,2,"b.bin"',
                          "AT+WIPCLOSE=4,1"]
    assert m.service_session is None


def test_ftp_ascii_active_and_account():
    m = FakeModem()
    ftp.FTP(m, "h", "u", "p", passive=False, binary=False, account="acct").close()
    assert m.sent == ['AT+WIPCREATE=4,1,"h",21,"u","p","acct"', "AT+WIPOPT=4,1,2,41,0",
                      "AT+WIPCLOSE=4,1"]


def test_ftp_stream_upload_uses_the_chunk_buffer():
    class Source:
        def __init__(self):
            self.left = 1000
            self.seen = set()

        def readinto(self, buf):
            self.seen.add(id(buf))
            k = min(len(buf), self.left)
            buf[:k] = b"a" * k
            self.left -= k
            return k

    m = FakeModem()
    f = ftp.FTP(m, "h", "u", "p", chunk=128)
    src = Source()
    assert f.put("x", src) == 1000
    assert bytes(m.transfers[-1].uploaded) == b"a" * 1000
    assert src.seen == {id(f._buf)}


def test_ftp_failed_create_frees_the_slot():
    m = FakeModem()
    m.replies["+WIPCREATE"] = wip.WipError(862)
    with pytest.raises(wip.WipError) as exc:
        ftp.FTP(m, "h", "u", "bad")
    assert exc.value.code == 862
    assert getattr(m, "service_session", None) is None


def test_ftp_abort_on_exception_inside_upload():
    m = FakeModem()
    f = ftp.FTP(m, "h", "u", "p")
    with pytest.raises(RuntimeError), f.open("x", "wb") as out:
        out.write(b"part")
        raise RuntimeError("app failed")
    assert m.transfers[-1].aborted and not m.transfers[-1].finished


@pytest.mark.parametrize("bad", ['a"b', "a\rb", "a\nb", "a\0b", "a\x7fb", "caf\u00e9"])
def test_bad_strings_send_nothing(bad):
    m = FakeModem()
    with pytest.raises(ValueError):
        ftp.FTP(m, bad, "u", "p")
    with pytest.raises(ValueError):
        ftp.FTP(m, "h", "u", bad)
    with pytest.raises(ValueError):
        http.request(m, "GET", "http://h/" + bad)
    with pytest.raises(ValueError):
        http.request(m, "GET", "http://h/", headers={"X-A": bad})
    with pytest.raises(ValueError):
        smtp.SMTP(m, bad)
    with pytest.raises(ValueError):
        pop3.POP3(m, "h", bad, "p")
    with pytest.raises(ValueError):
        ping.ping(m, bad)
    assert m.sent == []
    s = smtp.SMTP(m, "h")
    for kwargs in ({"sender": bad}, {"to": bad}, {"to": ["a@h", bad]}, {"subject": bad},
                   {"cc": bad}):
        args = {"sender": "a@h", "to": "b@h", "subject": "s", "body": b"x", **kwargs}
        with pytest.raises(ValueError):
            s.send(**args)
    assert m.sent == []


def test_second_session_is_refused_before_sending():
    m = FakeModem()
    f = ftp.FTP(m, "127.0.0.1", "u", "p")
    sent = len(m.sent)
    for open_other in (lambda: http.request(m, "GET", "http://h/"),
                       lambda: pop3.POP3(m, "h", "u", "p"),
                       lambda: smtp.SMTP(m, "h").send("a@h", "b@h", "s", b"x"),
                       lambda: ftp.FTP(m, "h", "u", "p")):
        with pytest.raises(wip.WipError) as exc:
            open_other()
        assert exc.value.code == 840
        assert "FTP session 4,1 to 127.0.0.1:21" in str(exc.value)
    assert len(m.sent) == sent
    f.close()
    pop3.POP3(m, "h", "u", "p").close()


def test_session_dropped_by_server_frees_the_slot():
    m = FakeModem()
    pop3.POP3(m, "h", "u", "p")
    m.closed_peers.add((7, 1))  # D40: +WIPPEERCLOSE: 7,1
    ftp.FTP(m, "h", "u", "p").close()


def test_http_canonical_fields():
    m = FakeModem()
    m.next_transfer = FakeTransfer(m, b"hello", '+WIPFILE: 5,1,1,200,"OK"')
    r = http.request(m, "GET", "http://h/x", headers={"Accept": "text/html"})
    assert r.status == 200 and r.reason == "OK" and r.read() == b"hello"
    assert m.sent == ["AT+WIPCREATE=5,1", 'AT+WIPFILE=5,1,1,"http://h/x",,,"Accept","text/html"',
                      "AT+WIPCLOSE=5,1"]
    m.sent.clear()
    m.next_transfer = FakeTransfer(m, b"", '+WIPFILE: 5,1,3,404,"Not Found"')
    r = http.request(m, "DELETE", "http://h/y", auth=("u", "p"), proxy="127.0.0.1:81",
                     proxy_auth=("pu", "pp"), max_redirects=0, version=0)
    assert (r.status, r.reason) == (404, "Not Found")
    assert m.masked == ["p", "pp"]
    assert m.sent == ['AT+WIPCREATE=5,1,"127.0.0.1",81,"pu","pp"', "AT+WIPOPT=5,1,2,52,0",
                      "AT+WIPOPT=5,1,2,53,0", 'AT+WIPFILE=5,1,3,"http://h/y","u","p"',
                      "AT+WIPCLOSE=5,1"]


def test_http_session_headers_without_proxy():
    m = FakeModem()
    with http.Session(m, headers=[("User-Agent", "wip/1")]):
        pass
    assert m.sent == ['AT+WIPCREATE=5,1,,,,,"User-Agent","wip/1"', "AT+WIPCLOSE=5,1"]


def test_http_status_waits_for_the_body():
    m = FakeModem()
    body = bytes(range(256)) * 8
    m.next_transfer = FakeTransfer(m, body, '+WIPFILE: 5,1,1,200,"OK"')
    r = http.request(m, "GET", "http://h/big")
    with pytest.raises(OSError):
        r.status  # noqa: B018 - the property raises while the body is unread
    assert m.sent[-1].startswith("AT+WIPFILE")  # session still open
    buf = bytearray(512)
    got = bytearray()
    while n := r.readinto(buf):
        got += buf[:n]
    assert bytes(got) == body
    assert r.status == 200
    assert m.sent[-1] == "AT+WIPCLOSE=5,1"


def test_http_post_stream_and_early_close():
    m = FakeModem()
    m.next_transfer = FakeTransfer(m, b"", '+WIPFILE: 5,1,4,200,"OK"')
    r = http.request(m, "POST", "http://h/p", data=b"\x03body\x10")
    assert r.status == 200 and r.read() == b""
    assert m.transfers[-1].uploaded == b"\x03body\x10"
    m.next_transfer = FakeTransfer(m, b"z" * 5000, '+WIPFILE: 5,1,1,200,"OK"')
    r = http.request(m, "GET", "http://h/big")
    r.close()
    assert m.transfers[-1].aborted
    assert m.sent[-1] == "AT+WIPCLOSE=5,1" and m.service_session is None
    with pytest.raises(OSError):
        r.status  # noqa: B018 - no URC after an abort (D52)


def test_http_rejects_bad_requests_before_sending():
    m = FakeModem()
    for call in (lambda: http.request(m, "PATCH", "http://h/"),
                 lambda: http.request(m, "GET", "https://h/"),
                 lambda: http.request(m, "GET", "http://h/", data=b"x"),
                 lambda: http.request(m, "GET", "http://h/" + "a" * 1100)):
        with pytest.raises(ValueError):
            call()
    assert m.sent == []


def test_smtp_send_sets_every_field_and_closes():
    m = FakeModem()
    smtp.SMTP(m, "h", 2525, "u", "p").send("a@h", ["b@h", "c@h"], "Hi", b"body\r\n",
                                          cc="d@h", sender_name="Al")
    assert m.sent == ['AT+WIPCREATE=6,1,"h",2525,"u","p"', 'AT+WIPOPT=6,1,2,61,"a@h"',
                      'AT+WIPOPT=6,1,2,62,"Al"', 'AT+WIPOPT=6,1,2,63,"b@h, c@h"',
                      'AT+WIPOPT=6,1,2,64,"d@h"', 'AT+WIPOPT=6,1,2,65,""',
                      'AT+WIPOPT=6,1,2,66,"Hi"', "AT+WIPOPT=6,1,2,67,1", "AT+WIPFILE=6,1,2",
                      "AT+WIPCLOSE=6,1"]
    assert m.transfers[-1].uploaded == b"body\r\n"
    assert m.service_session is None


def test_pop3_options_and_retrieve():
    m = FakeModem()
    m.replies = {"+WIPOPT=7,1,1,71": ["+WIPOPT: 7,71,2"],
                 "+WIPOPT=7,1,1,72": ["+WIPOPT: 7,72, 300"],
                 "+WIPOPT=7,1,1,73": ['+WIPOPT: 7,73,"1,100"', '+WIPOPT: 7,73,"2,200"'],
                 "+WIPOPT=7,1,1,70": ['+WIPOPT: 7,70,0,"+OK done, really"'],
                 "+WIPOPT=7,1,2,74": ["+WIPOPT: 7,74,2"]}
    with pop3.POP3(m, "h", "u", "p") as p:
        assert (p.count(), p.size(), p.list()) == (2, 300, [(1, 100), (2, 200)])
        assert p.status() == (0, "+OK done, really")
        m.next_transfer = FakeTransfer(m, b"message one")
        assert p.get(1) == b"message one"
        m.next_transfer = FakeTransfer(m, b"message two")
        msg = p.retrieve(2, delete=True)
        with pytest.raises(OSError):
            p.count()  # the download still owns the line
        msg.close()
        p.delete(2)
    assert m.sent == ['AT+WIPCREATE=7,1,"h",110,"u","p"', "AT+WIPOPT=7,1,1,71",
                      "AT+WIPOPT=7,1,1,72", "AT+WIPOPT=7,1,1,73", "AT+WIPOPT=7,1,1,70",
                      'AT+WIPFILE=7,1,1,"1"', 'AT+WIPFILE=7,1,3,"2"', "AT+WIPOPT=7,1,2,74,2",
                      "AT+WIPCLOSE=7,1"]


def test_ping_collects_urcs_and_timeouts():
    m = FakeModem()
    m.replies["+WIPPING"] = []
    m.urcs = ["+WIPPING: 0,0,3", "+WIPPING: 1,1,0", "+WIPPING: 0,2,1"]
    assert ping.ping(m, "127.0.0.1", count=3, interval_ms=10, timeout_ms=20) == [3, None, 1]
    assert m.sent == ['AT+WIPPING="127.0.0.1",3,10,20,32,64']
    with pytest.raises(ValueError):
        ping.ping(m, "127.0.0.1", count=0)
    with pytest.raises(ValueError):
        ping.ping(m, "127.0.0.1", size=1501)


# ----------------------------------------------------------- FTP delete (control socket)


class FakeControlSocket:
    """A module TCP socket whose server side is a script of reply lines (None: a timeout)."""

    def __init__(self, script):
        self.script = list(script)
        self.sent = []
        self.addr = None
        self.timeout = None
        self.closed = False

    def settimeout(self, value):
        self.timeout = value

    def connect(self, addr):
        self.addr = addr

    def sendall(self, data):
        self.sent.append(bytes(data).decode())

    def readline(self):
        if not self.script:
            return b""
        line = self.script.pop(0)
        if line is None:
            raise OSError(wip.errors.ETIMEDOUT, "timed out")
        return line

    def close(self):
        self.closed = True


class DeleteModem(FakeModem):
    def __init__(self, script):
        super().__init__()
        self.control = FakeControlSocket(script)

    def socket(self, type=1, proto=0):
        self.sent.append("socket")
        return self.control


LOGIN_OK = [b"220 ready\r\n", b"331 password please\r\n", b"230 logged in\r\n"]


def ftp_for_delete(script, **kwargs):
    m = DeleteModem(script)
    f = ftp.FTP(m, "127.0.0.1", "user", "pw", port=2121, timeout=7, **kwargs)
    m.sent.clear()
    return m, f


def test_ftp_delete_dialogue_on_a_module_socket():
    m, f = ftp_for_delete(LOGIN_OK + [b"250 deleted\r\n", b"221 bye\r\n"])
    f.delete("dir/a.bin")
    c = m.control
    assert (c.addr, c.timeout, c.closed) == (("127.0.0.1", 2121), 7, True)
    assert c.sent == ["USER user\r\n", "PASS pw\r\n", "DELE dir/a.bin\r\n", "QUIT\r\n"]
    assert m.sent == ["socket"]  # no +WIPFILE, and the FTP session is left alone
    assert m.service_session is f and not f.closed


def test_ftp_delete_multiline_greeting_preliminary_reply_and_account():
    m, f = ftp_for_delete([b"120 wait a moment\r\n", b"220-welcome\r\n", b" to the server\r\n",
                           b"220 ready\r\n", b"331 password\r\n", b"332 account please\r\n",
                           b"230 in\r\n", b"250-deleting\r\n", b"250 done\r\n", b"221 bye\r\n"],
                          account="acct")
    f.delete("x")
    assert m.control.sent == ["USER user\r\n", "PASS pw\r\n", "ACCT acct\r\n", "DELE x\r\n",
                              "QUIT\r\n"]


@pytest.mark.parametrize("script, code, sent", [
    ([b"421 too busy\r\n"], 866, []),
    ([], 866, []),  # closed before the greeting
    ([b"220 ready\r\n", b"530 unknown user\r\n", b"221 bye\r\n"], 861, ["USER", "QUIT"]),
    ([b"220 ready\r\n", b"331 pw\r\n", b"530 wrong\r\n", b"221 bye\r\n"], 862,
     ["USER", "PASS", "QUIT"]),
    ([b"220 ready\r\n", b"331 pw\r\n", b"332 need account\r\n", b"221 bye\r\n"], 865,
     ["USER", "PASS", "QUIT"]),
    (LOGIN_OK + [b"550 No such file\r\n", b"221 bye\r\n"], 860, ["USER", "PASS", "DELE", "QUIT"]),
    (LOGIN_OK + [b"450 busy\r\n"], 860, ["USER", "PASS", "DELE", "QUIT"]),
    (LOGIN_OK + [b"garbage\r\n"], 860, ["USER", "PASS", "DELE", "QUIT"]),
    (LOGIN_OK, 860, ["USER", "PASS", "DELE", "QUIT"]),  # connection dropped after DELE
])
def test_ftp_delete_replies_map_to_module_codes(script, code, sent):
    m, f = ftp_for_delete(script)
    with pytest.raises(wip.WipError) as exc:
        f.delete("a.bin")
    assert exc.value.code == code
    assert [line.split()[0] for line in m.control.sent] == sent
    assert m.control.closed
    assert "pw" not in str(exc.value)


def test_ftp_delete_account_rejected_is_865():
    m, f = ftp_for_delete([b"220 ready\r\n", b"332 account\r\n", b"530 bad account\r\n"],
                          account="acct")
    with pytest.raises(wip.WipError) as exc:
        f.delete("a.bin")
    assert exc.value.code == 865
    assert m.control.sent[:2] == ["USER user\r\n", "ACCT acct\r\n"]


def test_ftp_delete_timeout_is_etimedout_and_closes_the_socket():
    m, f = ftp_for_delete(LOGIN_OK + [None])
    with pytest.raises(OSError) as exc:
        f.delete("a.bin")
    assert not isinstance(exc.value, wip.WipError)
    assert exc.value.errno == wip.errors.ETIMEDOUT
    assert m.control.sent[-1] == "DELE a.bin\r\n"  # no QUIT on a silent server
    assert m.control.closed


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\r\nDELE b", "a\0b", "a\x7fb", "caf\u00e9",
                                 "", None])
def test_ftp_delete_bad_path_sends_nothing(bad):
    m, f = ftp_for_delete(LOGIN_OK)
    with pytest.raises(ValueError):
        f.delete(bad)
    assert m.sent == [] and m.control.sent == []


def test_ftp_delete_refused_while_a_transfer_is_open_or_after_close():
    m, f = ftp_for_delete(LOGIN_OK)
    with f.open("up.bin", "wb"):
        with pytest.raises(OSError):
            f.delete("a.bin")
    f.close()
    m.sent.clear()
    with pytest.raises(OSError):
        f.delete("a.bin")
    assert m.sent == [] and m.control.sent == []
