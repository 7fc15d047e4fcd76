# The service helpers on the MicroPython unix port against a recording stand-in for the
# Modem: every helper (SMTP and POP3 included, whose servers are not provided to scripts)
# runs its MicroPython code paths and sends the expected AT lines.
import wip
from mpytest import eq, ok, raises, run
from wip import ftp, http, ping, pop3, smtp


class Transfer:
    def __init__(self, modem, body=b"", urc=None):
        self.modem = modem
        self.body = body
        self.pos = 0
        self.urc = urc
        self.uploaded = bytearray()
        self.aborted = False

    def readinto(self, buf, n=None):
        n = len(buf) if n is None else n
        k = min(n, len(self.body) - self.pos, 100)
        if k <= 0:
            if self.urc:
                self.modem.urcs.append(self.urc)
                self.urc = None
            return 0
        buf[:k] = self.body[self.pos:self.pos + k]
        self.pos += k
        return k

    def write(self, buf):
        self.uploaded.extend(buf)
        return len(buf)

    def finish(self):
        self.readinto(bytearray(1))

    def abort(self):
        self.aborted = True


class Modem:
    def __init__(self, replies=None):
        self.sent = []
        self.replies = replies or {}
        self.urcs = []
        self.callbacks = []
        self.next = None
        self.reboots = 0

    def quote(self, value):
        for c in value:
            if ord(c) < 32 or ord(c) > 126 or c == '"':
                raise ValueError("bad character")
        return '"' + value + '"'

    def mask(self, secret):
        pass

    def command(self, cmd, timeout=None):
        self.sent.append("AT" + cmd)
        for prefix in self.replies:
            if cmd.startswith(prefix):
                return self.replies[prefix]
        return []

    def file_open(self, args, timeout=None):
        self.sent.append("AT+WIPFILE=" + args)
        ft = self.next or Transfer(self)
        self.next = None
        return ft

    def on_urc(self, prefix, callback):
        self.callbacks.append((prefix, callback))

    def wait_for(self, predicate, timeout):
        while self.urcs:
            line = self.urcs.pop(0)
            for prefix, callback in self.callbacks:
                if line.startswith(prefix):
                    callback(line)
        return predicate()

    def wait_ready(self, proto, idx, timeout=None):
        pass

    def peer_closed(self, proto, idx):
        return False


def test_smtp_lines_and_stream_body():
    m = Modem()
    m.next = Transfer(m)
    body = Transfer(m, b"line one\r\n" * 120)  # read through the 512-byte chunk buffer
    smtp.SMTP(m, "127.0.0.1", 25, "u", "p").send("a@x", ["b@x", "c@x"], "Hi", body, cc="d@x")
    eq(m.sent, ['AT+WIPCREATE=6,1,"127.0.0.1",25,"u","p"', 'AT+WIPOPT=6,1,2,61,"a@x"',
                'AT+WIPOPT=6,1,2,62,""', 'AT+WIPOPT=6,1,2,63,"b@x, c@x"',
                'AT+WIPOPT=6,1,2,64,"d@x"', 'AT+WIPOPT=6,1,2,65,""',
                'AT+WIPOPT=6,1,2,66,"Hi"', "AT+WIPOPT=6,1,2,67,1", "AT+WIPFILE=6,1,2",
                "AT+WIPCLOSE=6,1"])
    raises(ValueError, smtp.SMTP(m, "h").send, "a@x", "b@x", 'bad"subject', b"x")


def test_pop3_options_and_retrieve():
    m = Modem({"+WIPOPT=7,1,1,71": ["+WIPOPT: 7,71,2"],
               "+WIPOPT=7,1,1,73": ['+WIPOPT: 7,73,"1,100"', '+WIPOPT: 7,73,"2,250"'],
               "+WIPOPT=7,1,1,70": ['+WIPOPT: 7,70,0,"+OK done, 2 messages"']})
    with pop3.POP3(m, "127.0.0.1", "u", "p") as p:
        eq(p.count(), 2)
        eq(p.list(), [(1, 100), (2, 250)])
        eq(p.status(), (0, "+OK done, 2 messages"))
        m.next = Transfer(m, b"x" * 250)
        eq(p.get(2, delete=True), b"x" * 250)
        p.delete(1)
    eq(m.sent[-3:], ['AT+WIPFILE=7,1,3,"2"', "AT+WIPOPT=7,1,2,74,1", "AT+WIPCLOSE=7,1"])


def test_one_session_at_a_time():
    m = Modem()
    f = ftp.FTP(m, "127.0.0.1", "u", "p")
    e = raises(wip.WipError, pop3.POP3, m, "127.0.0.1", "u", "p")
    eq(e.code, 840)
    ok("FTP session 4,1 to 127.0.0.1:21" in str(e), str(e))
    f.close()
    pop3.POP3(m, "127.0.0.1", "u", "p").close()


def test_http_status_after_a_long_body():
    m = Modem()
    m.next = Transfer(m, bytes(range(256)) * 8, '+WIPFILE: 5,1,1,200,"OK"')
    r = http.request(m, "GET", "http://127.0.0.1/x", headers={"Accept": "*/*"})
    raises(OSError, lambda: r.status)
    eq(r.read(), bytes(range(256)) * 8)
    eq((r.status, r.reason), (200, "OK"))
    eq(m.sent, ["AT+WIPCREATE=5,1", 'AT+WIPFILE=5,1,1,"http://127.0.0.1/x",,,"Accept","*/*"',
                "AT+WIPCLOSE=5,1"])


def test_ping_results():
    m = Modem()
    m.urcs = ["+WIPPING: 0,0,4", "+WIPPING: 1,1,0"]
    eq(ping.ping(m, "127.0.0.1", count=2, interval_ms=10), [4, None])
    eq(m.sent, ['AT+WIPPING="127.0.0.1",2,10,2000,32,64'])
    raises(ValueError, ping.ping, m, "127.0.0.1", 0)


run(globals())
