"""HTTP client over the module's WIP HTTP service (+WIPCREATE=5, +WIPFILE=5; spec §2.3,
§2.5 options 50-53, §2.6; D27, D28, D48, D50).

    r = modem.http_get("http://127.0.0.1:8080/data.bin")
    while True:
        n = r.readinto(buf)            # streamed straight from the module's data mode
        if not n:
            break
    print(r.status, r.reason)

    with wip.http.Session(modem, proxy="127.0.0.1:3128", auth=("u", "p")) as s:
        s.post("http://127.0.0.1/up", data=stream_with_readinto).status

**When the status is known (D50).** The module reports the status line in a
`+WIPFILE: 5,1,<mode>,<code>,"<reason>"` URC that follows the final OK, i.e. after the whole
body. A request therefore reads ahead up to `prefix` bytes (512 by default) into one buffer
allocated with the session: a body that ends within it (error pages, small documents) is
complete on return and `status` is known at once. For a longer body `status` is known once
the body has been read to the end; reading `status` (or `reason`) before that raises
OSError(EAGAIN) instead of guessing. The rest of the body goes straight from the modem into
the caller's buffer, so memory use does not grow with the body size.

Only one service session exists at a time (D34): a `Session` holds it until `close()`; the
one-shot `request()` (behind `Modem.http_get`/`http_request`) closes its session as soon as
the response has been read or closed. A 4xx/5xx answer is a normal response; module errors
(842 unreachable, 860 malformed, ...) raise WipError with the code.
"""

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


from ._service import claim, read_body, release, send_body
from .errors import EAGAIN, timeout_error
from .parser import parse_int, split_fields, unquote

PROTO = const(5)
MAX_LINE = const(1024)  # D3: a longer AT line is a syntax ERROR
OPT_RCV_BUFSIZE = const(50)
OPT_SND_BUFSIZE = const(51)
OPT_VERSION = const(52)
OPT_MAXREDIRECT = const(53)

# +WIPFILE=5 modes (§2.6); PUT and POST upload, GET and DELETE download (D48).
METHODS = {"GET": 1, "PUT": 2, "DELETE": 3, "POST": 4}
_UPLOAD_MODES = (2, 4)


def _pairs(headers):
    if headers is None:
        return ()
    if isinstance(headers, dict):
        return list(headers.items())
    return headers


def _credential_fields(m, auth, headers):
    """',"user","pass"[,"name","value"]...' in the fixed positions of D27, or ''."""
    pairs = _pairs(headers)
    if auth is None and not pairs:
        return ""
    out = ","
    if auth is not None:
        out += m.quote(auth[0]) + "," + m.quote(auth[1])
        m.mask(auth[1])  # kept out of the debug transcript
    else:
        out += ","  # D27: both credential fields empty, headers follow
    for name, value in pairs:
        if not name:
            raise ValueError("empty header name")
        out += "," + m.quote(name) + "," + m.quote(value)
    return out


def request_args(m, method, url, headers=None, auth=None):
    """Validate a request; return (mode, the +WIPFILE argument string). Nothing is sent."""
    mode = METHODS.get(method.upper() if isinstance(method, str) else method)
    if mode is None:
        raise ValueError("HTTP method must be GET, PUT, DELETE or POST")
    if not url[:7].lower() == "http://":
        raise ValueError("the module speaks plain http:// only")
    args = "5,1,%d,%s%s" % (mode, m.quote(url), _credential_fields(m, auth, headers))
    if len(args) + 11 > MAX_LINE:  # "AT+WIPFILE=" ... CR
        raise ValueError("request line over 1024 bytes (D3)")
    return mode, args


def _split_proxy(proxy):
    if proxy is None:
        return None, None
    if isinstance(proxy, tuple):
        return proxy[0], int(proxy[1])
    host, sep, port = proxy.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return proxy, None


class Session:
    """An HTTP session (+WIPCREATE=5,1): proxy, session credentials and default headers.

    `auth` is (user, password): sent as Proxy-Authorization when a proxy is set, otherwise
    as the default Authorization (D27). `version` 0/1 selects HTTP/1.0 or 1.1 (option 52),
    `max_redirects` sets option 53, `rcv_bufsize`/`snd_bufsize` options 50/51.
    """


    def __init__(self, m, proxy=None, auth=None, headers=None, version=None,
                 max_redirects=None, rcv_bufsize=None, snd_bufsize=None, timeout=30,
                 chunk=512, prefix=512):
        host, port = _split_proxy(proxy)
        args = "5,1"
        tail = _credential_fields(m, auth, headers)
        if host is not None or tail:
            # D26/D27: the proxy and port fields are always present before the credentials.
            args += "," + (m.quote(host) if host is not None else "")
            args += "," + ("%d" % port if port is not None else "")
            args += tail if tail else ""
        if len(args) + 13 > MAX_LINE:
            raise ValueError("session line over 1024 bytes (D3)")
        self.m = m
        self.proxy = None if host is None else host if port is None else "%s:%d" % (host, port)
        self.timeout = timeout
        self.closed = True
        self.one_shot = False
        self._buf = bytearray(chunk)
        self._prefix = bytearray(prefix)
        self._response = None
        self._result = None
        claim(m, self)
        try:
            m.command("+WIPCREATE=" + args, timeout)
            self.closed = False
            self._boots = m.reboots
            _listen(m, "+WIPFILE:", self._on_status)
            # D28: +WIPREADY: 5,1 follows the OK at once and reports nothing (HTTP create does
            # no network I/O), so it is left to the URC dispatcher instead of being waited for.
            for opt, value in ((OPT_VERSION, version), (OPT_MAXREDIRECT, max_redirects),
                               (OPT_RCV_BUFSIZE, rcv_bufsize),
                               (OPT_SND_BUFSIZE, snd_bufsize)):
                if value is not None:
                    m.command("+WIPOPT=5,1,2,%d,%d" % (opt, value), timeout)
        except BaseException:
            self.close()
            raise

    def __str__(self):
        if self.proxy is None:
            return "HTTP session 5,1"
        return "HTTP session 5,1 via proxy " + self.proxy

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


    def _on_status(self, line):
        # D50: +WIPFILE: 5,<idx>,<mode>,<status code>,"<reason phrase>"
        f = split_fields(line)
        if len(f) >= 5 and parse_int(f[0]) == PROTO:
            self._result = (parse_int(f[3]), unquote(f[4]))

    def wait_status(self):
        """Wait for the +WIPFILE status URC that follows the OK of a request (D50)."""
        if not self.m.wait_for(lambda: self._result is not None, self.timeout):
            raise timeout_error()
        return self._result

    def request(self, method, url, data=None, headers=None, auth=None):
        """Send one request; return an HttpResponse (body streamed, status per D50)."""
        mode, args = request_args(self.m, method, url, headers, auth)
        return self.send(mode, args, data)

    def send(self, mode, args, data=None):
        """Run a request prepared by request_args()."""
        upload = mode in _UPLOAD_MODES
        if data is not None and not upload:
            raise ValueError("GET and DELETE carry no request body")
        if self.closed:
            raise OSError("HTTP session is closed")
        if self._response is not None:
            self._response.close()  # a new request abandons the previous body (D52)
        self._result = None
        ft = self.m.file_open(args, self.timeout)
        r = HttpResponse(self, ft)
        self._response = r
        if upload:
            try:
                send_body(ft, b"" if data is None else data, self._buf)
            except BaseException:
                r.close()
                raise
            ft.finish()  # D48: the response body is discarded by the module
            r._done()
        else:
            r._fill()
        return r

    def get(self, url, headers=None, auth=None):
        return self.request("GET", url, None, headers, auth)

    def post(self, url, data=None, headers=None, auth=None):
        return self.request("POST", url, data, headers, auth)

    def put(self, url, data=None, headers=None, auth=None):
        return self.request("PUT", url, data, headers, auth)

    def delete(self, url, headers=None, auth=None):
        return self.request("DELETE", url, None, headers, auth)

    def close(self):
        """Abort an unfinished body, then end the session (+WIPCLOSE=5,1)."""
        if self._response is not None:
            response, self._response = self._response, None
            response.close()
        if not self.closed:
            self.closed = True
            _listen(self.m, "+WIPFILE:", None)
            try:
                if self._alive():
                    self.m.command("+WIPCLOSE=5,1", self.timeout)
            finally:
                release(self.m, self)
        else:
            release(self.m, self)


class HttpResponse:
    """One response: `status`/`reason` (see the module docstring), body via read/readinto."""

    def __init__(self, session, ft):
        self._session = session
        self._ft = ft
        self._start = 0
        self._end = 0
        self._status = None
        self._reason = None
        self.done = False
        self.aborted = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _known(self):
        if self._status is None:
            if self.aborted:
                raise OSError("transfer aborted before the status arrived (D52)")
            raise OSError(EAGAIN,
                          "the status follows the body (D50): read the body to the end first")

    @property
    def status(self):
        """The final HTTP status code (after redirects, option 53)."""
        self._known()
        return self._status

    @property
    def reason(self):
        self._known()
        return self._reason

    def _fill(self):
        """Read ahead into the session's prefix buffer (bounded by its size)."""
        pre = memoryview(self._session._prefix)
        size = len(pre)
        while not self.done and self._end < size:
            k = self._ft.readinto(pre[self._end:], size - self._end)
            if k:
                self._end += k
            else:
                self._done()

    def _done(self):
        self.done = True
        session = self._session
        try:
            self._status, self._reason = session.wait_status()
        finally:
            if session._response is self:
                session._response = None
            if session.one_shot:
                session.close()

    def readinto(self, buf, n=None):
        """Read up to n (default len(buf)) body bytes into buf; 0 at the end of the body."""
        if n is None:
            n = len(buf)
        avail = self._end - self._start
        if avail:
            k = avail if avail < n else n
            s = self._start
            memoryview(buf)[:k] = memoryview(self._session._prefix)[s:s + k]
            self._start = s + k
            return k
        if self.done:
            return 0
        k = self._ft.readinto(buf, n)
        if not k:
            self._done()
        return k

    def read(self, n=-1):
        """Read n body bytes, or the rest of the body for n < 0."""
        return read_body(self.readinto, n, self._session._buf)


    def close(self):
        """Abort the body if unread (guarded +++, D52: no status then); free a one-shot session."""
        self._start = self._end = 0
        if not self.done:
            self.done = True
            self.aborted = True
            session = self._session
            if session._response is self:
                session._response = None
            try:
                self._ft.abort()
            finally:
                if session.one_shot:
                    session.close()


def request(m, method, url, data=None, headers=None, auth=None, proxy=None, proxy_auth=None,
            timeout=30, **options):
    """One request on a session of its own, closed once the response is read or closed."""
    mode, args = request_args(m, method, url, headers, auth)
    if data is not None and mode not in _UPLOAD_MODES:
        raise ValueError("GET and DELETE carry no request body")
    s = Session(m, proxy=proxy, auth=proxy_auth, timeout=timeout, **options)
    s.one_shot = True
    try:
        return s.send(mode, args, data)
    except BaseException:
        s.close()
        raise


def get(m, url, headers=None, **kwargs):
    return request(m, "GET", url, None, headers, **kwargs)


def _listen(m, prefix, handler):
    # Modem.on_urc() has no removal: one router per modem and prefix, registered once, is
    # pointed at the current handler (None drops the lines).
    routes = getattr(m, "service_urc_routes", None)
    if routes is None:
        routes = m.service_urc_routes = {}
    if prefix not in routes:

        def route(line):
            handler = routes.get(prefix)
            if handler is not None:
                handler(line)

        m.on_urc(prefix, route)
    routes[prefix] = handler
