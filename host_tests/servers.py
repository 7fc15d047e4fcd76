"""Real protocol servers on 127.0.0.1 high ports, as pytest fixtures and plain helpers.

The simulator's service clients (and later the driver's service helpers) are tested against
these. Each `start_*` helper returns a running server object with a `stop()` method, so
scripts outside pytest (benchmarks, the demo) can use them too; each fixture starts one and
stops it at teardown.

FTP (`ftp_server`, `start_ftp_server(user, password, root=None, port=0)`): pyftpdlib in
    a thread. .host ("127.0.0.1"), .port, .root (Path of the writable server root), .user,
    .password, .commands (every command line received, e.g. "TYPE I", "PASV"), .stop().
    Passive data ports are ephemeral ports on 127.0.0.1. USER of an unknown name is
    answered 530 at once (pyftpdlib would say 331 and fail at PASS); failed logins are
    answered after 50 ms instead of pyftpdlib's 3 s. Fixture user/password:
    "username"/"passwd" (spec C7).

HTTP (`http_server`, `start_http_server()`): ThreadingHTTPServer, HTTP/1.1.
    .host, .port, .url(path) -> "http://127.0.0.1:<port><path>", .root (Path, files served
    by GET), .requests (list of `RecordedRequest`: .method, .target (as on the request
    line, so a proxy request shows the absolute URL), .path, .version, .headers
    (email.message.Message: case-insensitive .get / .get_all), .body), .routes
    ({path: (status, body bytes, headers dict)} consulted first for any method),
    .stored ({path: body} of PUT/POST), .set_response(path, status, body, headers=None),
    .last_request(), .stop().
    Built-in GET paths: /bytes/<n>?seed=<s> (deterministic random bytes, see
    `random_bytes`), /status/<code>, /redirect/<n> (302 chain to /redirect/0, which answers
    200 "redirect done"), /chunked/<n> (n bytes with Transfer-Encoding: chunked for
    HTTP/1.1 requests), /headers (request headers as a JSON object), else a file under
    .root, else 404. POST/PUT store the body in .stored and answer 200 (201 for PUT of a
    new path) with JSON {"sha256": hex, "length": n}. DELETE answers 200 "deleted" if the
    path was stored (or a file), else 404. Any request line in absolute form is accepted,
    so the server also acts as an HTTP proxy for tests.

SMTP (`smtp_server`, `start_smtp_server(user, password, exclude_mechanisms=())`): aiosmtpd
    Controller with AUTH PLAIN/LOGIN over plain TCP (fixture: "user"/"password", spec C9).
    .host, .port, .user, .password, .envelopes (list of `RecordedMail`: .mail_from,
    .rcpt_tos, .content bytes, .auth_login), .auth_attempts (list of (mechanism, login,
    success)), reject sets .reject_senders and .reject_recipients (addresses answered 550),
    .reject_data (bool: the body is answered 554), .stop(). Mail is accepted without
    AUTH; with user=None every AUTH attempt fails.

POP3 (`pop3_server`, `start_pop3_server(users, port=None)`): Debian's real dovecot in the
    foreground with a generated config in its own temp dir under /tmp, passwd-file users,
    maildir mailboxes owned by `nobody` (by the current user when not run as root).
    .host, .port, .users ({name: password}), .dir, .log_path,
    .add_message(user, data: bytes) -> name (stored with LF line endings; its POP3 size is
    the CRLF size), .add_messages(user, count, size) -> [bytes] (messages of exactly
    `size` octets as POP3 counts them, in POP3 order; message k has "Subject: message k"
    and a dot-leading line), .message_count(user), .stop() (kills the whole process
    group). Fixture users: {"user": "password", "user name": "mail id"}. Failed logins
    answer after ~0.5 s; dovecot's growing per-IP penalty is switched off.

`start_banner_server(banner)` / `banner_server_factory`: a listener that sends one fixed
    greeting line (e.g. b"421 not ready" or b"-ERR busy") to every client, then waits for
    the client to close. .host, .port, .stop().
"""

import asyncio
import hashlib
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

HOST = "127.0.0.1"
DOVECOT = "/usr/sbin/dovecot"


def free_port():
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port, deadline_s=10.0):
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def random_bytes(n, seed=0):
    """The deterministic body of GET /bytes/<n>?seed=<seed>."""
    return random.Random(seed).randbytes(n)


# ---------------------------------------------------------------------------------- FTP


class _RecordingHandler:
    """Records every command line; USER of an unknown name gets 530 at once (RFC 959
    allows it), so 861 is testable."""

    commands = None

    def pre_process_command(self, line, cmd, arg):
        self.commands.append(line)
        super().pre_process_command(line, cmd, arg)

    def ftp_USER(self, line):
        if not self.authenticated and not self.authorizer.has_user(line):
            self.respond("530 User unknown.")
            return
        super().ftp_USER(line)


class FTPServerThread:
    """pyftpdlib serving one user from a temp root in a background thread."""

    def __init__(self, user="username", password="passwd", root=None, port=0):
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer

        self.host = HOST
        self.user = user
        self.password = password
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="ftproot-")) if root is None else Path(root)
        authorizer = DummyAuthorizer()
        authorizer.add_user(user, password, str(self.root), perm="elradfmwMT")
        self.commands = []
        handler = type("TestFTPHandler", (_RecordingHandler, FTPHandler),
                       {"commands": self.commands})
        handler.authorizer = authorizer
        handler.auth_failed_timeout = 0.05
        handler.banner = "pyftpdlib test server ready."
        handler.permit_foreign_addresses = False
        handler.timeout = 60
        logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
        self._server = FTPServer((HOST, port), handler)
        self.port = self._server.address[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ftp-server", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self._server.ioloop.loop(0.02, blocking=False)
        self._server.close_all()

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)


def start_ftp_server(user="username", password="passwd", root=None, port=0):
    """Start pyftpdlib on 127.0.0.1 (port 0: any free port) with one read/write user."""
    return FTPServerThread(user, password, root, port)


@pytest.fixture
def ftp_server():
    server = start_ftp_server()
    yield server
    server.stop()


# --------------------------------------------------------------------------------- HTTP


class RecordedRequest:
    """One request as the HTTP server received it."""

    def __init__(self, method, target, path, version, headers, body):
        self.method = method
        self.target = target
        self.path = path
        self.version = version
        self.headers = headers
        self.body = body

    def __repr__(self):
        return f"<{self.method} {self.target} {self.version} {len(self.body)}B>"


class _HTTPHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wiptest-http/1.0"

    def log_message(self, *args):
        pass

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self):
        body = self._read_body()
        target = self.path
        split = urlsplit(target)
        path = split.path or "/"
        if split.query:
            path += "?" + split.query
        headers = Message()
        for name, value in self.headers.items():
            headers[name] = value
        request = RecordedRequest(self.command, target, path, self.request_version, headers,
                                  body)
        self.server.owner.requests.append(request)
        return request

    def _send(self, status, body=b"", headers=None, reason=None):
        self.send_response(status, reason)
        headers = dict(headers or {})
        if "Transfer-Encoding" not in headers:
            headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _route(self, request):
        route = self.server.owner.routes.get(request.path.split("?")[0])
        if route is not None:
            status, body, headers = route
            self._send(status, body, headers)
            return True
        return False

    def do_GET(self):
        request = self._record()
        if self._route(request):
            return
        owner = self.server.owner
        split = urlsplit(request.path)
        parts = split.path.strip("/").split("/")
        query = parse_qs(split.query)
        if parts[0] == "bytes" and len(parts) == 2:
            seed = int(query.get("seed", ["0"])[0])
            self._send(200, random_bytes(int(parts[1]), seed),
                       {"Content-Type": "application/octet-stream"})
        elif parts[0] == "status" and len(parts) == 2:
            self._send(int(parts[1]), b"status %s\n" % parts[1].encode())
        elif parts[0] == "redirect" and len(parts) == 2:
            left = int(parts[1])
            if left <= 0:
                self._send(200, b"redirect done")
            else:
                self._send(302, b"moved\n", {"Location": f"/redirect/{left - 1}"})
        elif parts[0] == "chunked" and len(parts) == 2:
            self._send_chunked(random_bytes(int(parts[1]), 1))
        elif parts[0] == "headers":
            body = json.dumps(dict(request.headers.items())).encode()
            self._send(200, body, {"Content-Type": "application/json"})
        elif split.path in owner.stored:
            self._send(200, owner.stored[split.path])
        else:
            file = (owner.root / split.path.lstrip("/")).resolve()
            if file.is_file() and owner.root.resolve() in file.parents:
                self._send(200, file.read_bytes())
            else:
                self._send(404, b"not found\n")

    def _send_chunked(self, body):
        if self.request_version != "HTTP/1.1":
            self._send(200, body)
            return
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        step = 1000
        for pos in range(0, len(body), step):
            piece = body[pos:pos + step]
            self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")

    def _store(self, created_status):
        request = self._record()
        if self._route(request):
            return
        owner = self.server.owner
        key = urlsplit(request.path).path
        status = created_status if key not in owner.stored else 200
        owner.stored[key] = request.body
        reply = {"sha256": hashlib.sha256(request.body).hexdigest(),
                 "length": len(request.body)}
        self._send(status, json.dumps(reply).encode(), {"Content-Type": "application/json"})

    def do_POST(self):
        self._store(200)

    def do_PUT(self):
        self._store(201)

    def do_DELETE(self):
        request = self._record()
        if self._route(request):
            return
        owner = self.server.owner
        key = urlsplit(request.path).path
        file = owner.root / key.lstrip("/")
        if key in owner.stored:
            del owner.stored[key]
            self._send(200, b"deleted")
        elif file.is_file():
            file.unlink()
            self._send(200, b"deleted")
        else:
            self._send(404, b"not found\n")


class HTTPServerThread:
    """ThreadingHTTPServer on 127.0.0.1 that records requests; see the module docstring."""

    def __init__(self, root=None):
        self.host = HOST
        self.requests = []
        self.routes = {}
        self.stored = {}
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="httproot-")) if root is None else Path(root)
        self._server = ThreadingHTTPServer((HOST, 0), _HTTPHandler)
        self._server.daemon_threads = True
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, name="http-server",
                                        daemon=True)
        self._thread.start()

    def url(self, path="/"):
        return f"http://{HOST}:{self.port}{path}"

    def set_response(self, path, status, body=b"", headers=None):
        self.routes[path] = (status, body, headers or {})

    def last_request(self):
        return self.requests[-1]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)


def start_http_server(root=None):
    """Start the recording HTTP server (and proxy) on 127.0.0.1; returns HTTPServerThread."""
    return HTTPServerThread(root)


@pytest.fixture
def http_server():
    server = start_http_server()
    yield server
    server.stop()


# --------------------------------------------------------------------------------- SMTP


class RecordedMail:
    """One accepted message."""

    def __init__(self, mail_from, rcpt_tos, content, auth_login):
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.content = content
        self.auth_login = auth_login

    def __repr__(self):
        return f"<mail {self.mail_from} -> {self.rcpt_tos} {len(self.content)}B>"


class _SMTPHandler:
    def __init__(self, owner):
        self.owner = owner

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address in self.owner.reject_senders:
            return "550 5.1.0 sender rejected"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.owner.reject_recipients:
            return "550 5.1.1 recipient rejected"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.owner.reject_data:
            return "554 5.6.0 message rejected"
        login = session.auth_data if isinstance(session.auth_data, str) else None
        self.owner.envelopes.append(
            RecordedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login))
        return "250 2.0.0 queued"


class SMTPServerThread:
    """aiosmtpd Controller with AUTH PLAIN/LOGIN on plain TCP; see the module docstring."""

    def __init__(self, user="user", password="password", exclude_mechanisms=()):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.host = HOST
        self.user = user
        self.password = password
        self.envelopes = []
        self.auth_attempts = []
        self.reject_senders = set()
        self.reject_recipients = set()
        self.reject_data = False

        def authenticator(server, session, envelope, mechanism, auth_data):
            login = auth_data.login.decode(errors="replace")
            secret = auth_data.password.decode(errors="replace")
            ok = (login, secret) == (self.user, self.password)
            self.auth_attempts.append((mechanism, login, ok))
            return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

        kwargs = {"auth_require_tls": False, "ident": "wiptest SMTP service ready",
                  "auth_exclude_mechanism": list(exclude_mechanisms)}
        if user is not None:
            kwargs["authenticator"] = authenticator
        for attempt in range(3):  # the free port may be taken before aiosmtpd binds it
            self.port = free_port()
            self._controller = Controller(_SMTPHandler(self), hostname=HOST, port=self.port,
                                          loop=asyncio.new_event_loop(), **kwargs)
            try:
                self._controller.start()
                break
            except (OSError, RuntimeError):
                self._controller.loop.close()
                if attempt == 2:
                    raise

    def stop(self):
        if self._controller.loop.is_closed():
            return
        self._controller.stop()
        self._controller.loop.close()


def start_smtp_server(user="user", password="password", exclude_mechanisms=()):
    """Start aiosmtpd on 127.0.0.1 (e.g. exclude_mechanisms=["PLAIN"] offers only LOGIN)."""
    return SMTPServerThread(user, password, exclude_mechanisms)


@pytest.fixture
def smtp_server():
    server = start_smtp_server()
    yield server
    server.stop()


# --------------------------------------------------------------------------------- POP3

_DOVECOT_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_username_chars =
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = username_format=%u {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/mail/%u
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service anvil {{
  # An unreachable penalty socket turns off dovecot's growing delay after failed logins.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
}}
"""


class Pop3ServerProcess:
    """Debian's dovecot serving POP3 on 127.0.0.1; see the module docstring."""

    # dovecot refuses root as the mail user: as root, mail belongs to nobody and dovecot's
    # own service users are used; otherwise everything runs as the current user.
    AS_ROOT = os.geteuid() == 0
    MAIL_UID = 65534 if AS_ROOT else os.geteuid()
    MAIL_GID = 65534 if AS_ROOT else os.getegid()

    def __init__(self, users=None, port=None):
        if not os.path.exists(DOVECOT):
            raise RuntimeError(f"{DOVECOT} missing: run tools/install_system_deps.sh")
        self.host = HOST
        self.users = dict(users or {"user": "password"})
        self.dir = Path(tempfile.mkdtemp(prefix="dovecot-", dir="/tmp"))  # traversable
        self.dir.chmod(0o755)
        self.log_path = self.dir / "dovecot.log"
        self._counter = 0
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir()
        lines = [f"{name}:{{PLAIN}}{password}::::::" for name, password in self.users.items()]
        (self.dir / "passwd").write_text("\n".join(lines) + "\n")
        for name in self.users:
            for sub in ("new", "cur", "tmp"):
                (self._maildir(name) / sub).mkdir(parents=True, exist_ok=True)
        self._chown_mail()
        self.proc = None
        for _attempt in range(1 if port else 3):
            self.port = port or free_port()
            conf = self.dir / "dovecot.conf"
            conf.write_text(_DOVECOT_CONF.format(dir=self.dir, port=self.port,
                                                 uid=self.MAIL_UID, gid=self.MAIL_GID,
                                                 **self._service_users()))
            self.proc = subprocess.Popen(
                [DOVECOT, "-c", str(conf), "-F"], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
            if self._wait_ready():
                return
            self._kill()
        raise RuntimeError("dovecot did not start: " + self._log_text())

    def _service_users(self):
        if self.AS_ROOT:
            return {"internal_user": "dovecot", "login_user": "dovenull"}
        import pwd

        name = pwd.getpwuid(os.geteuid()).pw_name
        return {"internal_user": name, "login_user": name}

    def _log_text(self):
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-2000:]

    def _wait_ready(self, deadline_s=10.0):
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection((HOST, self.port), timeout=2) as s:
                    s.settimeout(2)
                    if s.recv(100).startswith(b"+OK"):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def _maildir(self, user):
        return self.dir / "mail" / user

    def _chown(self, path):
        if self.AS_ROOT:
            os.chown(path, self.MAIL_UID, self.MAIL_GID)

    def _chown_mail(self):
        for path in [self.dir / "mail", *(self.dir / "mail").rglob("*")]:
            self._chown(path)

    def add_message(self, user, data):
        """Drop one message (bytes, CRLF or LF endings) into user's maildir; returns its name."""
        self._counter += 1
        name = f"{int(time.time())}.M{self._counter:06d}P{os.getpid()}.wiptest"
        path = self._maildir(user) / "new" / name
        path.write_bytes(data.replace(b"\r\n", b"\n"))
        self._chown(path)
        return name

    def add_messages(self, user, count, size=1000):
        """Add `count` messages of exactly `size` POP3 octets; returns them in POP3 order.

        Message k (counting every message added so far) has "Subject: message k".
        """
        messages = []
        for _ in range(count):
            messages.append(make_message(self._counter + 1, size))
            self.add_message(user, messages[-1])
        return messages

    def message_count(self, user):
        return sum(1 for sub in ("new", "cur") for _ in (self._maildir(user) / sub).iterdir())

    def _kill(self):
        """SIGKILL dovecot's whole process group (master, login and mail processes)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its state lives in our temp dir
        except ProcessLookupError:
            pass
        self.proc.wait(5)
        deadline = time.monotonic() + 5
        while _group_has_live_process(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.proc.stderr:
            self.proc.stderr.close()

    def stop(self):
        self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _group_has_live_process(pgid):
    """True while a process of group pgid exists and is not a zombie (Linux /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def make_message(number, size):
    """An RFC 822 message (CRLF endings) of exactly `size` bytes, with dot-leading lines."""
    head = (f"From: sender@localhost\r\nTo: user@localhost\r\nSubject: message {number}\r\n"
            f"\r\n.leading dot line {number}\r\n").encode()
    filler_line = b"%03d " % (number % 1000) + b"x" * 70 + b"\r\n"
    body = bytearray(head)
    while len(body) + len(filler_line) <= size - 2:
        body += filler_line
    rest = size - len(body)
    if rest < 2:
        raise ValueError("size too small for a message")
    body += b"y" * (rest - 2) + b"\r\n"
    return bytes(body)


def start_pop3_server(users=None, port=None):
    """Start dovecot (POP3 only) on 127.0.0.1 (on `port`, else a free one)."""
    return Pop3ServerProcess(users, port)


@pytest.fixture
def pop3_server():
    server = start_pop3_server({"user": "password", "user name": "mail id"})
    yield server
    server.stop()


# ------------------------------------------------------------------------- banner server


class BannerServer:
    """Greets every client with one line, then waits for it to go away."""

    def __init__(self, banner):
        self.host = HOST
        self.banner = banner if banner.endswith(b"\r\n") else banner + b"\r\n"
        self._listener = socket.socket()
        self._listener.bind((HOST, 0))
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.received = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="banner-server", daemon=True)
        self._thread.start()

    def _run(self):
        clients = []
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                conn = None
            if conn is not None:
                conn.sendall(self.banner)
                conn.setblocking(False)
                clients.append(conn)
            for conn in list(clients):
                try:
                    data = conn.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    self.received.append(data)
                else:
                    conn.close()
                    clients.remove(conn)
        for conn in clients:
            conn.close()
        self._listener.close()

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def start_banner_server(banner):
    return BannerServer(banner)


@pytest.fixture
def banner_server_factory():
    started = []

    def start(banner):
        started.append(start_banner_server(banner))
        return started[-1]

    yield start
    for server in started:
        server.stop()
