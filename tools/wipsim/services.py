"""Service sessions of the simulated module: FTP (4), HTTP (5), SMTP (6) and POP3 (7).

Each session is a real protocol client over real loopback sockets (spec §2.3, §2.5, §2.6,
D25-D28, D34, D37, D40-D52, D77). The AT core calls `create_session()` for
`AT+WIPCREATE=4..7`, `Session.get_option/set_option` for `AT+WIPOPT` and
`Session.start_file()` for `AT+WIPFILE`; the returned `Transfer` moves the payload bytes
between the core's file data mode and the server. Failures are `ServiceError(code)` with the
module's error code; a parameter list that fits no form is `ServiceSyntaxError` (D2).

Every destination goes through `env.resolve` (127/8 only, D72) and `env.real_port` (the
low-port offset). Downloads stream: `Transfer.read()` returns what the server sent so far.
"""

import base64
import select
import socket
import threading
from urllib.parse import urljoin, urlsplit

FTP, HTTP, SMTP, POP3 = 4, 5, 6, 7
DEFAULT_PORTS = {FTP: 21, HTTP: 80, SMTP: 25, POP3: 110}
MAX_FILENAME = 128  # D51
CHUNK = 16384
U32_MAX = 0xFFFFFFFF
IDLE_POLL_S = 0.2
DRAIN_TIMEOUT_S = 3.0


class ServiceError(Exception):
    """A failure with the module's numeric error code in args[0] / .code."""

    def __init__(self, code, message=""):
        super().__init__(code, message)
        self.code = code


class ServiceSyntaxError(Exception):
    """The parameter list fits no form of the command: the core answers plain ERROR (D2)."""


class _ServerGone(Exception):
    """The control connection was closed by the server."""


# ------------------------------------------------------------------------ field helpers


def _is_port_field(field):
    """D26: the field after <server> is the port if empty, a number or a string of digits."""
    return field is None or isinstance(field, int) or (isinstance(field, str)
                                                       and field.strip().isdigit())


def _port_value(field, default):
    """The port of a port field (832 if out of range)."""
    if field is None:
        return default
    port = int(field)
    if not 1 <= port <= 65535:
        raise ServiceError(832, "bad port number")
    return port


def _text(field):
    """A string parameter; a bare number is taken as its digits, an empty field as ''."""
    if field is None:
        return ""
    return str(field)


def _int_value(value, low, high):
    """A numeric option value (a quoted number is accepted, §1.5); else 801."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ServiceError(801, "invalid option value")
    return value


def _quoted(text):
    """A string value as the module prints it: quoted, with no quotes inside (§1.5)."""
    return '"' + text.replace('"', "'").replace("\r", " ").replace("\n", " ") + '"'


def _split_server_port(fields, proto):
    """(server, port, rest) for modes 4, 6, 7 (D26); an empty server is 800."""
    if not fields:
        raise ServiceSyntaxError("server missing")
    server = fields[0]
    rest = list(fields[1:])
    port = DEFAULT_PORTS[proto]
    if rest and _is_port_field(rest[0]):
        port = _port_value(rest.pop(0), port)
    return server, port, rest


def _header_pairs(fields):
    """D27: empty fields are dropped, the rest paired as name, value; an odd count is 800."""
    items = [_text(f) for f in fields if f is not None and f != ""]
    if len(items) % 2:
        raise ServiceError(800, "odd header list")
    return [(items[i], items[i + 1]) for i in range(0, len(items), 2)]


def _address_list(text):
    """D47: comma-separated, trimmed, empty items skipped."""
    return [item.strip() for item in text.split(",") if item.strip()]


# ------------------------------------------------------------------------- connections


class _Conn:
    """A TCP connection with a read buffer and line reads; every wait has a timeout."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.buf = bytearray()
        self.timeout = timeout
        sock.settimeout(timeout)

    def _fill(self):
        data = self.sock.recv(CHUNK)
        if not data:
            raise _ServerGone()
        self.buf += data

    def readline(self):
        """One line without its line ending."""
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[:end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > 65536:
                raise ServiceError(860, "line too long")
            self._fill()

    def read_some(self, limit=CHUNK):
        """Buffered bytes, or one recv; b'' at EOF."""
        if self.buf:
            data = bytes(self.buf[:limit])
            del self.buf[:limit]
            return data
        return self.sock.recv(limit)

    def read_exact(self, count):
        while len(self.buf) < count:
            self._fill()
        data = bytes(self.buf[:count])
        del self.buf[:count]
        return data

    def send(self, data):
        self.sock.sendall(data)

    def send_line(self, text):
        self.sock.sendall(text.encode("latin-1", "replace") + b"\r\n")

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def _connect(env, host, port, what="server"):
    """A connection to host:port through the hosts table and port offset (D72); 842 if not."""
    ip = env.resolve(_text(host))
    real = env.real_port(port)
    try:
        sock = socket.create_connection((ip, real), timeout=env.connect_timeout)
    except OSError as exc:
        env.log(f"service: connect to {what} {ip}:{port} (real {real}) failed: {exc}")
        raise ServiceError(842, "host unreachable") from exc
    env.log(f"service: connected to {what} {ip}:{port} (real {real})")
    return sock


def _io_timeout(env):
    return max(30.0, float(getattr(env, "io_timeout", 0) or 0), float(env.connect_timeout))


# ---------------------------------------------------------------------------- sessions


class Session:
    """Common part of the four session kinds: option dispatch, busy flag, close watcher."""

    proto = 0
    ready_urc = True
    OPTIONS = {}  # opt -> access "R", "W" or "RW"

    def __init__(self, idx, env):
        self.idx = idx
        self.env = env
        self.conn = None
        self.transfer = None
        self.dead = False
        self.closed = False
        self.lock = threading.RLock()
        self._stop_watch = threading.Event()

    # -- options (§2.5, D43)
    def _check_option(self, opt, access):
        if opt == 54 and self.proto == HTTP:
            if access == "R":
                raise ServiceError(834, "not implemented")
            raise ServiceError(835, "option not supported")
        allowed = self.OPTIONS.get(opt)
        if allowed is None:  # D43: each service's table is its own family (60 on FTP: 800)
            raise ServiceError(800, "invalid option")
        if access not in allowed:
            raise ServiceError(835, "access not allowed")

    def get_option(self, opt):
        self._check_option(opt, "R")
        with self.lock:
            return self._get(opt)

    def set_option(self, opt, value):
        self._check_option(opt, "W")
        with self.lock:
            return self._set(opt, value)

    def _get(self, opt):
        raise ServiceError(800, "invalid option")

    def _set(self, opt, value):
        raise ServiceError(800, "invalid option")

    # -- transfers
    def start_file(self, mode, fields):
        with self.lock:
            if self.transfer is not None:
                raise ServiceError(831, "session busy")
            if self.dead or self.closed:
                raise ServiceError(831, "session not ready")
            transfer = self._start(mode, list(fields))
            self.transfer = transfer
            return transfer

    def _start(self, mode, fields):
        raise ServiceError(800, "mode not supported")

    def _transfer_done(self):
        self.transfer = None

    # -- control-connection watcher (D40)
    def _start_watcher(self):
        thread = threading.Thread(target=self._watch, name=f"wipsim-svc-{self.proto}",
                                  daemon=True)
        thread.start()

    def _watch(self):
        while not self._stop_watch.wait(IDLE_POLL_S):
            if not self.lock.acquire(blocking=False):
                continue
            try:
                if self.closed or self.dead:
                    return
                if self.transfer is not None:
                    continue
                gone = self._poll_server_gone()
            finally:
                self.lock.release()
            if gone:
                self._server_dropped()
                return

    def _poll_server_gone(self):
        try:
            readable, _, _ = select.select([self.conn.sock], [], [], 0)
            if not readable:
                return False
            data = self.conn.sock.recv(CHUNK)
        except OSError:
            return True
        if data:
            self.conn.buf += data
            return False
        return True

    def _server_dropped(self):
        """The server closed the control connection: release and report it once (D40)."""
        with self.lock:
            if self.dead or self.closed:
                return
            self.dead = True
            self._stop_watch.set()
            if self.conn is not None:
                self.conn.close()
        self.env.log(f"service: server dropped session {self.proto},{self.idx}")
        self.env.peer_closed(self.proto, self.idx)

    def _guard(self, func, *args, code=860):
        """Run a command exchange; a dropped connection or timeout becomes `code`."""
        try:
            return func(*args)
        except _ServerGone as exc:
            self._server_dropped()
            raise ServiceError(code, "connection closed by server") from exc
        except TimeoutError as exc:
            raise ServiceError(842 if code == 860 else code, "server timeout") from exc
        except OSError as exc:
            self._server_dropped()
            raise ServiceError(code, str(exc)) from exc

    def close(self):
        """Release the session; True if the core must send +WIPPEERCLOSE (FTP, §2.4)."""
        self._stop_watch.set()
        with self.lock:
            if self.closed:
                return False
            self.closed = True
            was_dead = self.dead
            if self.transfer is not None:
                self.transfer.abort()
            if not was_dead and self.conn is not None:
                try:
                    self.conn.sock.settimeout(DRAIN_TIMEOUT_S)
                    self._quit()
                except (OSError, _ServerGone, ServiceError):
                    pass
            if self.conn is not None:
                self.conn.close()
        # FTP: always True. After a D40 drop the core has already released the session and
        # does not call close(); if the drop races this close, the core ignores the drop.
        return self.proto == FTP

    def _quit(self):
        pass


class Transfer:
    """One +WIPFILE operation; `upload` tells the direction of the payload."""

    upload = False

    def __init__(self, session):
        self.session = session
        self.done = False

    def read(self):
        raise ServiceError(800, "not a download")

    def write(self, data):
        raise ServiceError(800, "not an upload")

    def finish(self):
        self._end()
        return None

    def abort(self):
        self._end()

    def _end(self):
        if not self.done:
            self.done = True
            self.session._transfer_done()


# -------------------------------------------------------------------------------- FTP


class FTPSession(Session):
    """FTP client: USER/PASS/ACCT, TYPE, PASV or PORT, RETR/STOR, QUIT (D77)."""

    proto = FTP
    ready_urc = False  # D28
    OPTIONS = {40: "RW", 41: "RW"}

    def __init__(self, idx, env, server, port, user, password, account):
        super().__init__(idx, env)
        self.binary = 0
        self.passive = 1
        self.pending_replies = 0
        self.conn = _Conn(_connect(env, server, port, "FTP server"), env.connect_timeout)
        try:
            self._login(user, password, account)
        except BaseException:
            self.conn.close()
            raise
        self.conn.sock.settimeout(_io_timeout(env))
        self._start_watcher()

    def _reply(self):
        """(code, last line text) of one possibly multi-line reply."""
        line = self.conn.readline().decode("latin-1")
        if len(line) < 3 or not line[:3].isdigit():
            raise ServiceError(860, "bad FTP reply")
        code = line[:3]
        if line[3:4] == "-":
            while True:
                more = self.conn.readline().decode("latin-1")
                if more[:3] == code and more[3:4] == " ":
                    line = more
                    break
        return int(code), line

    def _command(self, text):
        self.conn.send_line(text)
        return self._reply()

    def _login(self, user, password, account):
        try:
            code, _ = self._reply()
            while code == 120:
                code, _ = self._reply()
        except (_ServerGone, OSError, ServiceError) as exc:
            code = 842 if isinstance(exc, TimeoutError) else 866
            raise ServiceError(code, "no greeting") from exc
        if code != 220:
            raise ServiceError(866, "server not ready")
        try:
            code, _ = self._command(f"USER {user}")
            if code == 331:
                code, _ = self._command(f"PASS {password}")
                if code not in (230, 202, 332):
                    raise ServiceError(862, "password rejected")
            elif code not in (230, 332):
                raise ServiceError(861, "user name rejected")
            if code == 332:
                if not account:
                    raise ServiceError(865, "account required")
                code, _ = self._command(f"ACCT {account}")
                if code not in (230, 202):
                    raise ServiceError(865, "account rejected")
        except TimeoutError as exc:
            raise ServiceError(842, "server timeout") from exc
        except (_ServerGone, OSError) as exc:
            raise ServiceError(860, "connection lost during login") from exc

    def _get(self, opt):
        return [str(self.binary if opt == 40 else self.passive)]

    def _set(self, opt, value):
        value = _int_value(value, 0, 1)
        if opt == 40:
            self.binary = value
        else:
            self.passive = value
        return []

    def _drain_pending(self):
        """Read the final replies of aborted transfers before the next command."""
        while self.pending_replies:
            self.conn.sock.settimeout(DRAIN_TIMEOUT_S)
            try:
                self._reply()
            except (TimeoutError, ServiceError):
                pass
            finally:
                self.conn.sock.settimeout(_io_timeout(self.env))
            self.pending_replies -= 1

    def _start(self, mode, fields):
        if mode not in (1, 2):
            raise ServiceError(800, "mode not supported")  # D51
        if len(fields) != 1:
            raise ServiceSyntaxError("FTP takes one file name")
        name = _text(fields[0])
        if not name or len(name) > MAX_FILENAME:
            raise ServiceError(800, "bad file name")  # D51
        return self._guard(self._open_transfer, mode, name)

    def _open_transfer(self, mode, name):
        self._drain_pending()
        code, _ = self._command("TYPE " + ("I" if self.binary else "A"))
        if code != 200:
            raise ServiceError(860, "TYPE refused")
        data_sock = listener = None
        try:
            if self.passive:
                data_sock = self._pasv_connect()
            else:
                listener = self._port_listen()
            code, line = self._command(("RETR " if mode == 1 else "STOR ") + name)
            if code >= 400 or code < 100:
                raise ServiceError(860, line)
            if code >= 200:
                raise ServiceError(860, "no data connection opened")
            if listener is not None:
                listener.settimeout(self.env.connect_timeout)
                try:
                    data_sock, _ = listener.accept()
                except OSError as exc:
                    self.pending_replies += 1
                    raise ServiceError(842, "data connection not made") from exc
        except BaseException:
            if data_sock is not None:
                data_sock.close()
            raise
        finally:
            if listener is not None:
                listener.close()
        data_sock.settimeout(_io_timeout(self.env))
        self.env.log(f"service: FTP {'RETR' if mode == 1 else 'STOR'} {name} started")
        return FTPTransfer(self, data_sock, upload=(mode == 2))

    def _pasv_connect(self):
        code, line = self._command("PASV")
        if code != 227:
            raise ServiceError(860, "PASV refused")
        try:
            numbers = line[line.index("(") + 1:line.index(")")].split(",")
            host = ".".join(n.strip() for n in numbers[:4])
            port = int(numbers[4]) * 256 + int(numbers[5])
        except (ValueError, IndexError) as exc:
            raise ServiceError(860, "bad PASV reply") from exc
        ip = self.env.resolve(host)  # D72: the data connection must stay on loopback too
        try:
            # The PASV port is the server's real port: no low-port offset applies to it.
            return socket.create_connection((ip, port), timeout=self.env.connect_timeout)
        except OSError as exc:
            raise ServiceError(842, "data connection failed") from exc

    def _port_listen(self):
        listener = socket.socket()
        try:
            listener.bind((self.conn.sock.getsockname()[0], 0))
            listener.listen(1)
            host, port = listener.getsockname()
            spec = ",".join(host.split(".") + [str(port >> 8), str(port & 0xFF)])
            code, _ = self._command("PORT " + spec)
            if code != 200:
                raise ServiceError(860, "PORT refused")
        except BaseException:
            listener.close()
            raise
        return listener

    def _finish_transfer(self):
        code, line = self._reply()
        if code not in (226, 250):
            raise ServiceError(860, line)

    def _quit(self):
        self._drain_pending()
        self._command("QUIT")


class FTPTransfer(Transfer):
    def __init__(self, session, data_sock, upload):
        super().__init__(session)
        self.data = data_sock
        self.upload = upload

    def read(self):
        try:
            return self.data.recv(CHUNK)
        except TimeoutError as exc:
            raise ServiceError(842, "data connection timeout") from exc
        except OSError as exc:
            raise ServiceError(860, str(exc)) from exc

    def write(self, data):
        try:
            self.data.sendall(data)
        except OSError as exc:
            raise ServiceError(860, str(exc)) from exc

    def _close_data(self):
        try:
            self.data.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.data.close()

    def finish(self):
        session = self.session
        with session.lock:
            self._close_data()
            try:
                session._guard(session._finish_transfer)
            finally:
                self._end()
        return None

    def abort(self):
        """D52: cut the data connection; the control reply is read before the next command."""
        self._close_data()
        if not self.done:
            self.session.pending_replies += 1
        self._end()


# ------------------------------------------------------------------------------- HTTP


class HTTPSession(Session):
    """HTTP/1.0 or 1.1 client with `Connection: close`, optional proxy (D27, D28, D48-D50)."""

    proto = HTTP
    ready_urc = True  # D28: no network I/O at create
    OPTIONS = {50: "RW", 51: "RW", 52: "RW", 53: "W", 54: "R"}

    def __init__(self, idx, env, proxy, proxy_port, user, password, headers):
        super().__init__(idx, env)
        self.proxy = proxy
        self.proxy_port = proxy_port
        self.user = user
        self.password = password
        self.headers = headers
        self.rcvbuf = 0
        self.sndbuf = 0
        self.version = 1
        self.max_redirect = 8

    def _get(self, opt):
        return [str({50: self.rcvbuf, 51: self.sndbuf, 52: self.version}[opt])]

    def _set(self, opt, value):
        if opt == 52:
            self.version = _int_value(value, 0, 1)
        elif opt == 50:
            self.rcvbuf = _int_value(value, 0, U32_MAX)
        elif opt == 51:
            self.sndbuf = _int_value(value, 0, U32_MAX)
        else:
            self.max_redirect = _int_value(value, 0, U32_MAX)
        return []

    def _start(self, mode, fields):
        if mode not in (1, 2, 3, 4):
            raise ServiceError(800, "mode not supported")  # D51
        if not fields:
            raise ServiceSyntaxError("URL missing")
        url = _text(fields[0])
        user = _text(fields[1]) if len(fields) > 1 else ""
        password = _text(fields[2]) if len(fields) > 2 else ""
        headers = _header_pairs(fields[3:])  # D27
        _parse_url(url)
        method = {1: "GET", 2: "PUT", 3: "DELETE", 4: "POST"}[mode]
        request = HTTPRequest(self, method, url, (user, password) if user or password else None,
                              headers)
        transfer = HTTPTransfer(self, mode, request)
        if transfer.upload:
            transfer.sock = request.connect(url)  # reachability is known before CONNECT (D49)
        else:
            transfer.begin_download()
        return transfer


def _parse_url(url):
    """(host, port, path) of http://host[:port]/path; 800 if it is not such a URL."""
    split = urlsplit(url)
    if split.scheme.lower() != "http" or not split.hostname:
        raise ServiceError(800, "bad URL")
    try:
        port = 80 if split.port is None else split.port
    except ValueError as exc:
        raise ServiceError(800, "bad URL port") from exc
    if not 1 <= port <= 65535:
        raise ServiceError(800, "bad URL port")
    path = split.path or "/"
    if split.query:
        path += "?" + split.query
    return split.hostname, port, path


def _basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


STANDARD_HEADERS = {"host", "connection", "content-length", "transfer-encoding"}


class HTTPRequest:
    """Builds and sends one request (and its redirects), parses the response head."""

    def __init__(self, session, method, url, credentials, headers):
        self.session = session
        self.env = session.env
        self.method = method
        self.url = url
        self.credentials = credentials
        self.headers = headers
        self.status = 0
        self.reason = ""
        self.response_headers = {}

    def connect(self, url):
        session = self.session
        if session.proxy:
            sock = _connect(self.env, session.proxy, session.proxy_port, "HTTP proxy")
        else:
            host, port, _ = _parse_url(url)
            sock = _connect(self.env, host, port, "HTTP server")
        if session.rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, min(session.rcvbuf, 1 << 30))
        if session.sndbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, min(session.sndbuf, 1 << 30))
        return sock

    def head_bytes(self, url, body_length):
        """The request line and headers (§2.6 HTTP request)."""
        session = self.session
        host, port, path = _parse_url(url)
        target = url if session.proxy else path
        version = "HTTP/1.1" if session.version else "HTTP/1.0"
        lines = [f"{self.method} {target} {version}",
                 "Host: " + (host if port == 80 else f"{host}:{port}")]
        if self.credentials:
            lines.append("Authorization: " + _basic(*self.credentials))
        if session.user or session.password:
            if session.proxy:
                lines.append("Proxy-Authorization: " + _basic(session.user, session.password))
            elif not self.credentials:
                lines.append("Authorization: " + _basic(session.user, session.password))
        own = {name.lower() for name, _ in self.headers}
        extra = [(n, v) for n, v in session.headers if n.lower() not in own] + self.headers
        for name, value in extra:
            if name.lower() not in STANDARD_HEADERS:
                lines.append(f"{name}: {value}")
        if body_length is not None:
            lines.append(f"Content-Length: {body_length}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def exchange(self, sock, body=None):
        """Send the request on `sock` and follow redirects; returns the final _Conn."""
        url = self.url
        redirects = self.session.max_redirect
        while True:
            conn = _Conn(sock, _io_timeout(self.env))
            try:
                conn.send(self.head_bytes(url, None if body is None else len(body)))
                if body:
                    conn.send(body)
                self._read_head(conn)
            except BaseException:
                conn.close()
                raise
            location = self.response_headers.get("location")
            if (self.status in (301, 302, 303, 307, 308) and location and redirects > 0):
                redirects -= 1
                conn.close()
                new_url = urljoin(url, location)
                _parse_url(new_url)
                if urlsplit(new_url).netloc != urlsplit(url).netloc:
                    self.credentials = None
                if self.status == 303 or (self.status in (301, 302) and self.method == "POST"):
                    self.method, body = "GET", None
                self.env.log(f"service: HTTP {self.status} redirect to {new_url}")
                url = new_url
                sock = self.connect(url)
                continue
            return conn

    def _read_head(self, conn):
        try:
            while True:
                line = conn.readline().decode("latin-1")
                parts = line.split(" ", 2)
                if (len(parts) < 2 or not parts[0].startswith("HTTP/") or len(parts[1]) != 3
                        or not parts[1].isdigit()):
                    raise ServiceError(860, "malformed status line")
                status = int(parts[1])
                headers = {}
                while True:
                    header = conn.readline().decode("latin-1")
                    if not header:
                        break
                    name, sep, value = header.partition(":")
                    if not sep:
                        raise ServiceError(860, "malformed header")
                    key = name.strip().lower()
                    value = value.strip()
                    headers[key] = headers[key] + ", " + value if key in headers else value
                if 100 <= status < 200:
                    continue
                break
        except _ServerGone as exc:
            raise ServiceError(860, "connection closed before the response") from exc
        except TimeoutError as exc:
            raise ServiceError(842, "response timeout") from exc
        except OSError as exc:
            raise ServiceError(842, str(exc)) from exc
        self.status = status
        self.reason = parts[2].strip() if len(parts) > 2 else ""
        self.response_headers = headers

    def body_chunks(self, conn):
        """The response body, de-chunked, as it arrives."""
        headers = self.response_headers
        if self.method == "HEAD" or self.status in (204, 304):
            return
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = conn.readline().split(b";")[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError as exc:
                    raise ServiceError(860, "bad chunk size") from exc
                if size == 0:
                    while conn.readline():
                        pass
                    return
                while size:
                    data = conn.read_some(min(size, CHUNK))
                    if not data:
                        raise _ServerGone()
                    size -= len(data)
                    yield data
                if conn.readline():
                    raise ServiceError(860, "bad chunk end")
        elif "content-length" in headers:
            try:
                left = int(headers["content-length"])
            except ValueError as exc:
                raise ServiceError(860, "bad Content-Length") from exc
            while left > 0:
                data = conn.read_some(min(left, CHUNK))
                if not data:
                    raise _ServerGone()
                left -= len(data)
                yield data
        else:
            while True:
                data = conn.read_some(CHUNK)
                if not data:
                    return
                yield data

    def status_urc(self, mode):
        """D50: +WIPFILE: 5,<idx>,<mode>,<status>,"<reason>"."""
        return f"+WIPFILE: 5,{self.session.idx},{mode},{self.status},{_quoted(self.reason)}"


class HTTPTransfer(Transfer):
    def __init__(self, session, mode, request):
        super().__init__(session)
        self.mode = mode
        self.request = request
        self.upload = mode in (2, 4)  # D48
        self.sock = None
        self.conn = None
        self.body = bytearray()
        self.chunks = None

    def begin_download(self):
        sock = self.request.connect(self.request.url)
        self.conn = self.request.exchange(sock)
        self.chunks = self.request.body_chunks(self.conn)

    def read(self):
        try:
            return next(self.chunks, b"")
        except _ServerGone as exc:
            raise ServiceError(860, "body cut short") from exc
        except TimeoutError as exc:
            raise ServiceError(842, "body timeout") from exc
        except OSError as exc:
            raise ServiceError(842, str(exc)) from exc

    def write(self, data):
        self.body += data  # sent with its Content-Length at the end of the upload

    def finish(self):
        try:
            if self.upload:
                self.conn = self.request.exchange(self.sock, bytes(self.body))
                self.sock = None  # D48: the response body is discarded
            return self.request.status_urc(self.mode)
        finally:
            self.abort()

    def abort(self):
        for item in (self.conn, self.sock):
            if isinstance(item, _Conn):
                item.close()
            elif item is not None:
                try:
                    item.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                item.close()
        self.conn = self.sock = None
        self._end()


# ------------------------------------------------------------------------------- SMTP


class SMTPSession(Session):
    """SMTP client: EHLO (HELO fallback), AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, QUIT (D77)."""

    proto = SMTP
    ready_urc = True
    OPTIONS = {60: "R", 61: "RW", 62: "RW", 63: "RW", 64: "RW", 65: "RW", 66: "RW", 67: "RW"}
    HELO_NAME = "wipsim"

    def __init__(self, idx, env, server, port, user, password):
        super().__init__(idx, env)
        self.strings = {opt: "" for opt in range(61, 67)}
        self.format_header = 1
        self.status = (0, "")
        self.conn = _Conn(_connect(env, server, port, "SMTP server"), env.connect_timeout)
        try:
            self._open(user, password)
        except BaseException:
            self.conn.close()
            raise
        self.conn.sock.settimeout(_io_timeout(env))
        self._start_watcher()

    def _reply(self):
        """(code, text of the first line, all lines)."""
        lines = []
        while True:
            line = self.conn.readline().decode("latin-1")
            if len(line) < 3 or not line[:3].isdigit():
                raise ServiceError(860, "bad SMTP reply")
            lines.append(line)
            if line[3:4] != "-":
                first = lines[0] if len(lines) == 1 else lines[0][:3] + " " + lines[0][4:]
                return int(line[:3]), first, lines

    def _command(self, text):
        self.conn.send_line(text)
        return self._reply()

    def _open(self, user, password):
        try:
            code, text, _ = self._reply()
        except (_ServerGone, ServiceError) as exc:
            raise ServiceError(866, "no greeting") from exc
        except OSError as exc:
            raise ServiceError(842, "greeting timeout") from exc
        if code != 220:
            raise ServiceError(866, "server not ready")
        greeting = (code, text)
        try:
            code, _, lines = self._command(f"EHLO {self.HELO_NAME}")
            mechanisms = set()
            if code == 250:
                for line in lines[1:]:
                    words = line[4:].upper().replace("=", " ").split()
                    if words and words[0] == "AUTH":
                        mechanisms.update(words[1:])
            else:
                code, _, _ = self._command(f"HELO {self.HELO_NAME}")
                if code != 250:
                    raise ServiceError(860, "HELO refused")
            if user:
                self._authenticate(user, password, mechanisms)
        except TimeoutError as exc:
            raise ServiceError(842, "server timeout") from exc
        except (_ServerGone, OSError) as exc:
            raise ServiceError(860, "connection lost") from exc
        self.status = greeting  # D44: the greeting after a create

    def _authenticate(self, user, password, mechanisms):
        if "PLAIN" in mechanisms or "LOGIN" not in mechanisms:
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            code, _, _ = self._command(f"AUTH PLAIN {token}")
        else:
            code, _, _ = self._command("AUTH LOGIN")
            for secret in (user, password):
                if code != 334:
                    break
                code, _, _ = self._command(base64.b64encode(secret.encode()).decode())
        if code != 235:
            raise ServiceError(865, "authentication failed")

    def _get(self, opt):
        if opt == 60:
            return [f"{self.status[0]},{_quoted(self.status[1])}"]  # D44
        if opt == 67:
            return [str(self.format_header)]
        return [_quoted(self.strings[opt])]

    def _set(self, opt, value):
        if opt == 67:
            self.format_header = _int_value(value, 0, 1)
        else:
            self.strings[opt] = _text(value)
        return []

    def _start(self, mode, fields):
        if mode != 2:
            raise ServiceError(800, "mode not supported")  # D51
        if any(field is not None for field in fields):
            raise ServiceSyntaxError("SMTP takes no file parameters")
        return self._guard(self._envelope)

    def _envelope(self):
        """MAIL FROM and RCPT TO before CONNECT (D49): 880..883."""
        sender = self.strings[61].strip()
        groups = [(_address_list(self.strings[opt]), code)
                  for opt, code in ((63, 881), (64, 882), (65, 883))]
        if not sender:
            raise ServiceError(880, "no sender")
        if not any(addresses for addresses, _ in groups):
            raise ServiceError(881, "no recipient")
        self._checked(f"MAIL FROM:<{sender}>", (250,), 880)
        for addresses, code in groups:
            for address in addresses:
                self._checked(f"RCPT TO:<{address}>", (250, 251), code)
        return SMTPTransfer(self)

    def _checked(self, command, good, error):
        code, text, _ = self._command(command)
        self.status = (code, text)
        if code not in good:
            self._reset()
            raise ServiceError(error, text)

    def _reset(self):
        try:
            self._command("RSET")
        except (OSError, _ServerGone, ServiceError):
            pass

    def header(self):
        """The module-built header (option 67 = 1), ending with the blank line."""
        sender, name = self.strings[61].strip(), self.strings[62]
        lines = [f'From: "{name}" <{sender}>' if name else f"From: <{sender}>",
                 "To: " + ", ".join(_address_list(self.strings[63]))]
        cc = _address_list(self.strings[64])
        if cc:
            lines.append("Cc: " + ", ".join(cc))
        lines.append("Subject: " + self.strings[66])
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def _send_mail(self, body):
        code, text, _ = self._command("DATA")
        self.status = (code, text)
        if code != 354:
            self._reset()
            raise ServiceError(884, text)
        message = (self.header() if self.format_header else b"") + body
        if not message.endswith(b"\r\n"):
            message += b"\r\n"
        self.conn.send(dot_stuff(message) + b".\r\n")
        code, text, _ = self._reply()
        self.status = (code, text)
        if code != 250:
            raise ServiceError(884, text)

    def _quit(self):
        self._command("QUIT")


def dot_stuff(data):
    """SMTP transparency: a '.' at the start of a line is doubled."""
    stuffed = data.replace(b"\n.", b"\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


class SMTPTransfer(Transfer):
    upload = True

    def __init__(self, session):
        super().__init__(session)
        self.body = bytearray()

    def write(self, data):
        self.body += data  # D52: nothing reaches the server until the final ETX

    def finish(self):
        session = self.session
        with session.lock:
            try:
                session._guard(session._send_mail, bytes(self.body), code=884)
            finally:
                self._end()
        return None

    def abort(self):
        session = self.session
        if not self.done:
            with session.lock:
                session._reset()
        self._end()


# ------------------------------------------------------------------------------- POP3


class POP3Session(Session):
    """POP3 client: USER, PASS, STAT, LIST, RETR, DELE, QUIT (D77)."""

    proto = POP3
    ready_urc = True
    OPTIONS = {70: "R", 71: "R", 72: "R", 73: "R", 74: "W"}

    def __init__(self, idx, env, server, port, user, password):
        super().__init__(idx, env)
        self.status = (0, "")
        self.retr_pending = False
        self.conn = _Conn(_connect(env, server, port, "POP3 server"), env.connect_timeout)
        try:
            self._open(user, password)
        except BaseException:
            self.conn.close()
            raise
        self.conn.sock.settimeout(_io_timeout(env))
        self._start_watcher()

    def _command(self, text):
        self._drain_retr()
        self.conn.send_line(text)
        line = self.conn.readline().decode("latin-1")
        return line.startswith("+OK"), line

    def _open(self, user, password):
        try:
            line = self.conn.readline().decode("latin-1")
        except _ServerGone as exc:
            raise ServiceError(866, "no greeting") from exc
        except OSError as exc:
            raise ServiceError(842, "greeting timeout") from exc
        if not line.startswith("+OK"):
            raise ServiceError(866, "server not ready")
        self.status = (0, line)
        if not user:
            return
        try:
            for command, error in ((f"USER {user}", 861), (f"PASS {password}", 862)):
                ok, line = self._command(command)
                if not ok:
                    raise ServiceError(error, line)
                self.status = (0, line)
        except TimeoutError as exc:
            raise ServiceError(842, "server timeout") from exc
        except (_ServerGone, OSError) as exc:
            raise ServiceError(860, "connection lost") from exc

    def _checked(self, command, error):
        """Send a command; -ERR becomes `error` and is kept as the status (D44)."""
        ok, line = self._command(command)
        if not ok:
            self.status = (error, line)
            raise ServiceError(error, line)
        self.status = (0, line)
        return line

    def _get(self, opt):
        if opt == 70:
            return [f"{self.status[0]},{_quoted(self.status[1])}"]  # D44
        if self.dead:
            raise ServiceError(860, "connection lost")
        if opt in (71, 72):
            line = self._guard(self._checked, "STAT", 860)
            try:
                count, size = line.split()[1:3]
                return [str(int(count) if opt == 71 else int(size))]
            except ValueError as exc:
                raise ServiceError(860, "bad STAT reply") from exc
        return self._guard(self._listing)

    def _listing(self):
        self._checked("LIST", 864)
        items = []
        while True:
            line = self.conn.readline().decode("latin-1")
            if line == ".":
                return items
            words = line.split()
            if len(words) >= 2:
                items.append(_quoted(f"{words[0]},{words[1]}"))

    def _set(self, opt, value):
        if self.dead:
            raise ServiceError(860, "connection lost")
        mail_id = _int_value(value, 1, U32_MAX)
        self._guard(self._checked, f"DELE {mail_id}", 863)
        return [str(mail_id)]

    def _start(self, mode, fields):
        if mode not in (1, 3):
            raise ServiceError(800, "mode not supported")  # D51
        if len(fields) != 1:
            raise ServiceSyntaxError("POP3 takes one mail id")
        mail_id = _text(fields[0]).strip()
        if not mail_id:
            raise ServiceError(800, "empty mail id")
        self._guard(self._checked, f"RETR {mail_id}", 867)
        self.retr_pending = True
        return POP3Transfer(self, mode, mail_id)

    def _drain_retr(self):
        """Skip the rest of an aborted RETR (D52) so the next reply lines up."""
        while self.retr_pending:
            if self.conn.readline() == b".":
                self.retr_pending = False

    def _quit(self):
        self._command("QUIT")  # commits the DELEs (option 74, mode 3)


class POP3Transfer(Transfer):
    """RETR output with dot-stuffing removed and without the final '.' line."""

    def __init__(self, session, mode, mail_id):
        super().__init__(session)
        self.mode = mode
        self.mail_id = mail_id
        self.ended = False

    def read(self):
        """The next complete lines of the message; the partial line stays in the buffer."""
        with self.session.lock:  # an abort may start the next command from another thread
            return self._read_lines()

    def _read_lines(self):
        if self.ended:
            return b""
        conn = self.session.conn
        try:
            end = conn.buf.rfind(b"\r\n")
            while end < 0:
                conn._fill()
                end = conn.buf.rfind(b"\r\n")
        except _ServerGone as exc:
            self.session._server_dropped()
            raise ServiceError(860, "connection lost during RETR") from exc
        except TimeoutError as exc:
            raise ServiceError(842, "RETR timeout") from exc
        lines = bytes(conn.buf[:end]).split(b"\r\n")
        del conn.buf[:end + 2]
        out = bytearray()
        for number, line in enumerate(lines):
            if line == b".":
                self.ended = True
                self.session.retr_pending = False
                conn.buf[:0] = b"".join(rest + b"\r\n" for rest in lines[number + 1:])
                break
            out += (line[1:] if line.startswith(b".") else line) + b"\r\n"
        return bytes(out)

    def finish(self):
        session = self.session
        with session.lock:
            try:
                if self.mode == 3:
                    session._guard(session._checked, f"DELE {self.mail_id}", 863, code=863)
            finally:
                self._end()
        return None

    def abort(self):
        session = self.session
        if not self.ended and not self.done:
            session.retr_pending = True
        self._end()


# ---------------------------------------------------------------------------- creation


def check_create(proto, fields):
    """Parse and check AT+WIPCREATE=4..7 fields without any I/O (D2, D5, D26, D27).

    Raises ServiceSyntaxError or ServiceError(832/800); returns the parsed arguments. The core
    calls it before its "session already exists" check so that 832 and 800 win over 840 (D5).
    """
    fields = list(fields)
    if proto == HTTP:
        return _http_args(fields)
    server, port, rest = _split_server_port(fields, proto)
    account = ""
    if proto == FTP:
        if not 2 <= len(rest) <= 3:
            raise ServiceSyntaxError("FTP needs user and password")
        user, password = _text(rest[0]), _text(rest[1])
        account = _text(rest[2]) if len(rest) == 3 else ""
        if not user:
            raise ServiceError(800, "empty user name")
    elif rest and len(rest) != 2:
        raise ServiceSyntaxError("user without password")
    else:
        user, password = (_text(rest[0]), _text(rest[1])) if rest else ("", "")
    if not _text(server).strip():
        raise ServiceError(800, "empty server")  # D26
    return server, port, user, password, account


def create_session(proto, idx, fields, env):
    """AT+WIPCREATE=4..7: connect and log in as the session needs (D8, D26-D28, D37)."""
    args = check_create(proto, fields)
    if not env.internet_enabled:
        raise ServiceError(839, "internet feature disabled")  # D37
    if proto == HTTP:
        return HTTPSession(idx, env, *args)
    server, port, user, password, account = args
    if proto == FTP:
        return FTPSession(idx, env, server, port, user, password, account)
    if proto == SMTP:
        return SMTPSession(idx, env, server, port, user, password)
    if proto == POP3:
        return POP3Session(idx, env, server, port, user, password)
    raise ServiceError(837, "bad protocol")


def _http_args(fields):
    """(proxy, proxy_port, user, password, headers) of mode 5 (D26, D27)."""
    proxy = _text(fields[0]).strip() if fields else ""
    rest = fields[1:]
    port = DEFAULT_PORTS[HTTP]
    if rest and _is_port_field(rest[0]):
        port = _port_value(rest.pop(0), port)
    user = _text(rest[0]) if rest else ""
    password = _text(rest[1]) if len(rest) > 1 else ""
    headers = _header_pairs(rest[2:])
    return proxy, port, user, password, headers
