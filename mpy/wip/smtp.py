"""SMTP client over the module's WIP SMTP service (+WIPCREATE=6, options 60-67, +WIPFILE=6;
spec §2.3, §2.5, §2.6; D44, D47).

    modem.smtp("127.0.0.1", 25, "user", "secret").send(
        "me@example.org", ["a@example.org", "b@example.org"], "Subject", b"Hello\\r\\n")

    with modem.smtp("127.0.0.1") as s:           # one session, several mails
        s.send("me@x", "you@x", "first", b"...")
        s.send("me@x", "you@x", "second", body_stream, cc="boss@x")

The session (the module's only one, D34) is opened lazily: `send()` outside a `with` block
opens it, sends and closes it again; inside a `with` block it stays open until the block
ends. The module builds the From/To/Cc/Subject header (option 67 = 1); with
`format_header=False` the body must carry its own RFC 2822 header. The body is bytes, a str
or a stream with readinto(), sent through one buffer allocated in the constructor, and
should use CRLF line ends (the module dot-stuffs it and ends it with CRLF "." itself).
Rejections raise WipError: 880 sender, 881 To, 882 Cc, 883 Bcc, 884 DATA/body, 865 AUTH.
"""

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


from ._service import claim, release, send_body
from .errors import WipError
from .parser import parse_int, split_fields, unquote

PROTO = const(6)
OPT_STATUS = const(60)
OPT_SENDER = const(61)
OPT_SENDER_NAME = const(62)
OPT_TO = const(63)
OPT_CC = const(64)
OPT_BCC = const(65)
OPT_SUBJECT = const(66)
OPT_FORMAT_HEADER = const(67)


def _address_list(m, value):
    """A str, or a list/tuple of addresses joined with ", " (D47 splits on commas)."""
    if value is None:
        return '""'
    if not isinstance(value, str):
        for item in value:
            if "," in item:
                raise ValueError("an address in a list may not contain ','")
        value = ", ".join(value)
    return m.quote(value)


class SMTP:
    """An SMTP session factory/holder; see the module docstring."""

    def __init__(self, m, host, port=25, user=None, password=None, timeout=30, chunk=512):
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither")
        args = "6,1,%s,%d" % (m.quote(host), port)  # D26: the port field is always sent
        if user is not None:
            args += "," + m.quote(user) + "," + m.quote(password)
            m.mask(password)  # kept out of the debug transcript
        self.m = m
        self.host = host
        self.port = port
        self.timeout = timeout
        self.closed = True
        self._create_args = args
        self._buf = bytearray(chunk)
        self._keep_open = False

    def __str__(self):
        return "SMTP session 6,1 to %s:%d" % (self.host, self.port)

    def __enter__(self):
        self.open()
        self._keep_open = True
        return self

    def __exit__(self, *exc):
        self._keep_open = False
        self.close()

    def is_open(self):
        """True while open: until close(), or until the session is gone on the module."""
        return not self.closed and self._alive()

    def _alive(self):
        # The module still has the session: no +WIPPEERCLOSE (server drop D40, bearer loss
        # D24) and no module reboot since it was created (§8: sessions vanish silently).
        return not self.m.peer_closed(PROTO, 1) and self.m.reboots == self._boots


    def open(self):
        """Connect and authenticate (+WIPCREATE=6; OK then +WIPREADY: 6,1, D28)."""
        if self.closed:
            claim(self.m, self)
            try:
                self.m.command("+WIPCREATE=" + self._create_args, self.timeout)
                self.closed = False
                self._boots = self.m.reboots
                self.m.wait_ready(PROTO, 1, self.timeout)
            except BaseException:
                self.close()
                raise
        return self

    def _set(self, opt, quoted):
        self.m.command("+WIPOPT=6,1,2,%d,%s" % (opt, quoted), self.timeout)

    def send(self, sender, to, subject, body, cc=None, bcc=None, sender_name=None,
             format_header=True):
        """Send one mail; to/cc/bcc are a str or a list of addresses. Returns the byte count."""
        m = self.m
        fields = (
            (OPT_SENDER, m.quote(sender)),
            (OPT_SENDER_NAME, m.quote(sender_name or "")),
            (OPT_TO, _address_list(m, to)),
            (OPT_CC, _address_list(m, cc)),
            (OPT_BCC, _address_list(m, bcc)),
            (OPT_SUBJECT, m.quote(subject or "")),
        )
        self.open()
        try:
            # Every field is written each time: options persist across mails (§2.6 reuse).
            for opt, quoted in fields:
                self._set(opt, quoted)
            m.command("+WIPOPT=6,1,2,%d,%d" % (OPT_FORMAT_HEADER, 1 if format_header else 0),
                      self.timeout)
            ft = m.file_open("6,1,2", self.timeout)
            try:
                n = send_body(ft, body, self._buf)
            except BaseException:
                ft.abort()  # D52: the mail is not sent
                raise
            ft.finish()
            return n
        finally:
            if not self._keep_open:
                self.close()

    def status(self):
        """(code, text) of the server reply that ended the last operation (option 60, D44)."""
        for line in self.m.command("+WIPOPT=6,1,1,%d" % OPT_STATUS, self.timeout):
            if line.startswith("+WIPOPT:"):  # +WIPOPT: 6,60,<code>,"<text>"
                f = split_fields(line)
                return parse_int(f[2]), unquote(f[3]) if len(f) > 3 else ""
        raise WipError(860, "no +WIPOPT line in the reply")

    def close(self):
        """End the session (+WIPCLOSE=6,1); a no-op once closed."""
        if not self.closed:
            self.closed = True
            try:
                if self._alive():
                    self.m.command("+WIPCLOSE=6,1", self.timeout)
            finally:
                release(self.m, self)
        else:
            release(self.m, self)
