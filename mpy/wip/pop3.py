"""POP3 client over the module's WIP POP3 service (+WIPCREATE=7, options 70-74, +WIPFILE=7;
spec §2.3, §2.5, §2.6; D44).

    with modem.pop3("127.0.0.1", "user", "secret") as p:
        for number, size in p.list():
            with p.retrieve(number) as msg:          # streamed: msg.readinto(buf)
                ...
            p.delete(number)                         # DELE; done when the session ends

The session holds the module's only service slot (D34) until close(). A retrieved message
is streamed from the +WIPFILE download (dot-stuffing already removed by the module) into the
caller's buffer; it must be read to the end or closed before the next command.
Deletions take effect at QUIT, i.e. when the session is closed (§2.5 option 74).
"""

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


from ._service import claim, read_body, release
from .errors import WipError
from .parser import parse_int, split_fields, unquote

PROTO = const(7)
OPT_STATUS = const(70)
OPT_COUNT = const(71)
OPT_SIZE = const(72)
OPT_LIST = const(73)
OPT_DELETE = const(74)


class POP3:
    """A POP3 session, connected and authenticated once the constructor returns."""

    def __init__(self, m, host, user=None, password=None, port=110, timeout=30, chunk=512):
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither")
        args = "7,1,%s,%d" % (m.quote(host), port)  # D26: the port field is always sent
        if user is not None:
            args += "," + m.quote(user) + "," + m.quote(password)
            m.mask(password)  # kept out of the debug transcript
        self.m = m
        self.host = host
        self.port = port
        self.timeout = timeout
        self.closed = True
        self._buf = bytearray(chunk)
        self._message = None
        claim(m, self)
        try:
            m.command("+WIPCREATE=" + args, timeout)
            self.closed = False
            self._boots = m.reboots
            m.wait_ready(PROTO, 1, timeout)  # D28
        except BaseException:
            self.close()
            raise

    def __str__(self):
        return "POP3 session 7,1 to %s:%d" % (self.host, self.port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def is_open(self):
        """True until close(), or until the session is gone on the module."""
        return not self.closed and self._alive()

    def _alive(self):
        # The module still has the session: no +WIPPEERCLOSE (server drop D40, bearer loss
        # D24) and no module reboot since it was created (§8: sessions vanish silently).
        return not self.m.peer_closed(PROTO, 1) and self.m.reboots == self._boots


    def _check(self):
        if self.closed:
            raise OSError("POP3 session is closed")
        if self._message is not None and not self._message.done:
            raise OSError("a message is still being retrieved; read it or close it first")

    def _read(self, opt):
        self._check()
        out = []
        for line in self.m.command("+WIPOPT=7,1,1,%d" % opt, self.timeout):
            if line.startswith("+WIPOPT:"):
                out.append(split_fields(line))
        return out

    def _number(self, opt):
        for f in self._read(opt):
            return parse_int(f[2])
        raise WipError(860, "no +WIPOPT line in the reply")

    def count(self):
        """Number of messages in the mailbox (STAT, option 71)."""
        return self._number(OPT_COUNT)

    def size(self):
        """Total mailbox size in octets (STAT, option 72)."""
        return self._number(OPT_SIZE)

    def list(self):
        """[(message number, size in octets), ...] (LIST, option 73)."""
        out = []
        for f in self._read(OPT_LIST):  # +WIPOPT: 7,73,"<id>,<size>"
            number, _, size = unquote(f[2]).partition(",")
            out.append((parse_int(number), parse_int(size)))
        return out

    def status(self):
        """(code, text) of the last operation: 0 and the +OK text, or 8xx and -ERR (D44)."""
        for f in self._read(OPT_STATUS):  # +WIPOPT: 7,70,<code>,"<text>"
            return parse_int(f[2]), unquote(f[3]) if len(f) > 3 else ""
        raise WipError(860, "no +WIPOPT line in the reply")

    def retrieve(self, number, delete=False):
        """Start RETR of a message; returns a Message stream. delete=True also DELEs it."""
        self._check()
        cmd = '7,1,%d,"%d"' % (3 if delete else 1, int(number))
        self._message = Message(self, self.m.file_open(cmd, self.timeout))
        return self._message

    def get(self, number, delete=False):
        """The whole message as bytes."""
        with self.retrieve(number, delete) as msg:
            return msg.read()

    def delete(self, number):
        """Mark a message for deletion (DELE, option 74); it goes when the session ends."""
        self._check()
        self.m.command("+WIPOPT=7,1,2,%d,%d" % (OPT_DELETE, int(number)), self.timeout)

    def close(self):
        """QUIT (+WIPCLOSE=7,1): deletions are committed by the server now."""
        if not self.closed:
            self.closed = True
            try:
                if self._message is not None and not self._message.done:
                    self._message.close()
                if self._alive():
                    self.m.command("+WIPCLOSE=7,1", self.timeout)
            finally:
                release(self.m, self)
        else:
            release(self.m, self)


class Message:
    """A message being retrieved: readinto/read; close() aborts an unfinished one (D52)."""

    def __init__(self, session, ft):
        self.session = session
        self.ft = ft
        self.done = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def readinto(self, buf, n=None):
        """Read up to n (default len(buf)) bytes into buf; 0 at the end of the message."""
        if self.done:
            return 0
        k = self.ft.readinto(buf, n)
        if not k:
            self.done = True
        return k

    def read(self, n=-1):
        """Read n bytes, or the rest of the message for n < 0."""
        return read_body(self.readinto, n, self.session._buf)


    def close(self):
        if not self.done:
            self.done = True
            self.ft.abort()
