"""FTP client session over the module's WIP FTP service (+WIPCREATE=4, +WIPFILE=4; spec §2.3,
§2.5 options 40-41, §2.6).

    with modem.ftp("127.0.0.1", "user", "secret", port=2121) as ftp:
        ftp.put("data.bin", b"...")              # bytes, or any object with readinto()
        with ftp.open("data.bin", "rb") as f:    # streamed download
            n = f.readinto(buf)
        blob = ftp.get("data.bin")
        ftp.delete("data.bin")                   # DELE over a plain TCP control connection

The module keeps one service session at a time (D34). The session holds that slot from
construction to close(); opening another session meanwhile raises WipError(840) naming this
one before anything is sent. Transfers are streamed: downloads go from the modem's receive
buffer straight into the caller's buffer, uploads are sent from the caller's bytes or through
one buffer allocated in the constructor, so memory use does not grow with file size.
"""

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


from ._service import claim, read_body, release, send_body
from .errors import WipError
from .parser import parse_int, split_fields

PROTO = const(4)
IDX = const(1)
OPT_TYPE = const(40)
OPT_PASSIVE = const(41)
MAX_PATH = const(128)


class FTP:
    """An FTP session: connected and logged in once the constructor returns (D28)."""

    def __init__(self, m, host, user, password, port=21, passive=True, binary=True,
                 account=None, timeout=30, chunk=512):
        fields = [m.quote(host), str(int(port)), m.quote(user), m.quote(password)]
        if account is not None:
            fields.append(m.quote(account))
        m.mask(password)  # kept out of the debug transcript
        self.m = m
        self.host = host
        self.port = port
        self.timeout = timeout
        self._login = (user, password, account)  # delete() logs in again on its own socket
        self.closed = True
        self._transfer = None
        self._buf = bytearray(chunk)
        claim(m, self)
        try:
            # D26: the port field is always sent; FTP needs user and password.
            m.command("+WIPCREATE=4,1," + ",".join(fields), timeout)
        except BaseException:
            release(m, self)
            raise
        self.closed = False
        self._boots = m.reboots
        try:
            # The module defaults to TYPE A and PASV (§2.5); set only what differs.
            if binary:
                self._option(OPT_TYPE, 1)
            if not passive:
                self._option(OPT_PASSIVE, 0)
        except BaseException:
            self.close()
            raise

    def __str__(self):
        return "FTP session 4,1 to %s:%d" % (self.host, self.port)

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
        return not self.m.peer_closed(PROTO, IDX) and self.m.reboots == self._boots


    def _option(self, opt, value):
        self.m.command("+WIPOPT=4,1,2,%d,%d" % (opt, value), self.timeout)

    def option(self, opt):
        """Read session option 40 (1 = binary) or 41 (1 = passive) from the module."""
        lines = self.m.command("+WIPOPT=4,1,1,%d" % opt, self.timeout)
        for line in lines:
            if line.startswith("+WIPOPT:"):  # +WIPOPT: 4,<opt>,<value> (D42)
                return parse_int(split_fields(line)[2])
        raise WipError(860, "no +WIPOPT line in the reply")

    def _start(self, path, mode):
        if len(path) > MAX_PATH:
            raise ValueError("FTP path longer than 128 characters (D51)")
        arg = self.m.quote(path)
        if self.closed:
            raise OSError("FTP session is closed")
        if self._transfer is not None and not self._transfer.done:
            raise OSError("a transfer is still open on this FTP session; close it first")
        ft = self.m.file_open("4,1,%d,%s" % (mode, arg), self.timeout)
        return ft

    def open(self, path, mode="rb"):
        """Start a download ("rb", RETR) or upload ("wb", STOR); returns an FtpFile."""
        if mode not in ("rb", "r", "wb", "w"):
            raise ValueError("mode must be 'rb' or 'wb'")
        upload = mode[0] == "w"
        self._transfer = FtpFile(self, self._start(path, 2 if upload else 1), upload)
        return self._transfer

    def get(self, path, stream=None):
        """Download path; return its bytes, or write them to stream and return the length."""
        with self.open(path, "rb") as f:
            if stream is not None:
                return f.copy_to(stream, self._buf)
            return f.read()

    def put(self, path, data):
        """Upload bytes/bytearray/str or a stream with readinto() (or read()) to path."""
        with self.open(path, "wb") as f:
            return send_body(f.ft, data, self._buf)

    def delete(self, path):
        """Delete path on the server (DELE) over a plain TCP control connection.

        The module's FTP client cannot delete: +WIPFILE=4 only runs RETR and STOR (mode 3
        is not supported for FTP, D51, D77). So this opens an ordinary TCP client socket
        through the module (AT+WIPCREATE=2, which needs a free TCP socket index: OSError
        ENOBUFS if all 8 are in use) to this session's host and port, logs in with the
        same user, password and account, sends DELE and QUIT, and closes it. The FTP
        session stays open and usable (sessions and sockets coexist, D33, D34).

        Errors, with the module's codes: greeting not 220 -> WipError(866), USER rejected
        -> 861, PASS rejected -> 862, ACCT rejected or needed but not given -> 865, DELE
        refused (4xx/5xx) or a broken reply -> 860; no reply in time -> OSError(ETIMEDOUT).
        ValueError, before anything is sent, for an empty path or one with a character
        outside printable ASCII (CR, LF, NUL, ...).
        """
        if not isinstance(path, str) or not path:
            raise ValueError("FTP path must be a non-empty string")
        for c in path:
            o = ord(c)
            if o < 32 or o > 126:
                raise ValueError("character not allowed in an FTP path: %r" % c)
        if self.closed:
            raise OSError("FTP session is closed")
        if self._transfer is not None and not self._transfer.done:
            raise OSError("a transfer is still open on this FTP session; close it first")
        sock = self.m.socket()
        try:
            sock.settimeout(self.timeout)
            sock.connect((self.host, self.port))
            _control_delete(sock, self._login, path)
        finally:
            sock.close()

    def close(self):
        """End the session (+WIPCLOSE=4,1; the module answers +WIPPEERCLOSE: 4,1, D39)."""
        if self.closed:
            return
        try:
            if self._transfer is not None and not self._transfer.done:
                self._transfer.abort()
            if self._alive():
                self.m.command("+WIPCLOSE=4,1", self.timeout)
        finally:
            self.closed = True
            release(self.m, self)


class FtpFile:
    """One RETR or STOR in progress: a binary file object over the +WIPFILE data mode."""

    def __init__(self, session, ft, upload):
        self.session = session
        self.ft = ft
        self.upload = upload
        self.done = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None and not self.done:
            self.abort()  # D52: an upload is cut short, not completed
        else:
            self.close()

    def readinto(self, buf, n=None):
        """Read up to n (default len(buf)) bytes into buf; 0 at the end of the file."""
        if self.upload:
            raise OSError("file opened for writing")
        if self.done:
            return 0
        got = self.ft.readinto(buf, n)
        if got == 0:
            self.done = True
        return got

    def read(self, n=-1):
        """Read n bytes (all that is left for n < 0)."""
        return read_body(self.readinto, n, self.session._buf)


    def copy_to(self, stream, buf):
        """Write the rest of the file to stream through buf; return the byte count."""
        total = 0
        mv = memoryview(buf)
        while True:
            k = self.readinto(buf)
            if not k:
                return total
            stream.write(mv[:k])
            total += k

    def write(self, buf):
        """Send buf (escaped on the wire, §3.7); return its length."""
        if not self.upload:
            raise OSError("file opened for reading")
        if self.done:
            raise OSError("file is closed")
        self.ft.write(buf)
        return len(buf)

    def abort(self):
        """Stop the transfer with a guarded +++ (D52)."""
        if not self.done:
            self.done = True
            self.ft.abort()

    def close(self):
        """Finish the upload (ETX, wait for the result) or abort an unfinished download."""
        if self.done:
            return
        if self.upload:
            self.done = True
            self.ft.finish()
        else:
            self.abort()


# The FTP control connection used by FTP.delete() (RFC 959 replies, one line at a time).


def _reply(sock, eof_code=860):
    """The final reply to the last command as (code, first line); 1xx replies are skipped."""
    while True:
        line = sock.readline()
        if not line:
            raise WipError(eof_code, "FTP server closed the control connection")
        try:
            first = line.decode().rstrip()
            code = int(first[:3])
        except ValueError:  # also UnicodeError
            raise WipError(860, "malformed FTP reply: %r" % line[:40]) from None
        if line[3:4] == b"-":  # multi-line reply: ends with "<code> "
            end = line[:3] + b" "
            while not line.startswith(end):
                line = sock.readline()
                if not line:
                    raise WipError(eof_code, "FTP server closed the control connection")
        if code >= 200:
            return code, first


def _ask(sock, command, arg):
    sock.sendall(command + arg.encode() + b"\r\n")
    return _reply(sock)


def _control_delete(sock, login, path):
    user, password, account = login
    code, text = _reply(sock, 866)
    if code != 220:
        raise WipError(866, "FTP server not ready: " + text)
    try:
        code, text = _ask(sock, b"USER ", user)
        if code == 331:
            code, text = _ask(sock, b"PASS ", password)
            if code != 230 and code != 202 and code != 332:
                raise WipError(862, "FTP password rejected: " + text)
        elif code != 230 and code != 332:
            raise WipError(861, "FTP user name rejected: " + text)
        if code == 332:
            if account is None:
                raise WipError(865, "FTP server asks for an account: " + text)
            code, text = _ask(sock, b"ACCT ", account)
            if code != 230 and code != 202:
                raise WipError(865, "FTP account rejected: " + text)
        code, text = _ask(sock, b"DELE ", path)
        if code // 100 != 2:
            raise WipError(860, "FTP DELE refused: " + text)
    except WipError:
        _quit(sock)
        raise
    _quit(sock)


def _quit(sock):
    # Polite end; the outcome is already known, so a missing 221 changes nothing.
    try:
        sock.sendall(b"QUIT\r\n")
        sock.readline()
    except OSError:
        pass
