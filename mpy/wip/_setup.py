"""Set-up code, used once per call: the rest of Modem.__init__, the Modem's start, gprs,
resync, bearer_option (and the reboot URC handler), wait_ready, the Socket's connect, index
allocation.

Imported by ``wip.modem._call`` for one call and dropped from ``sys.modules`` right after
(``_ONE_SHOT``), so none of this bytecode stays in RAM once a call returns. Functions take
the Modem or the Socket first and are their methods of the same names; they call each other
directly (not through the objects) so a nested call does not import this module a second
time. Index allocation (D29-D31) is explained in ``wip.modem``'s docstring; the other
socket calls are in ``wip._sockops``.
"""

try:
    import select
except ImportError:  # pragma: no cover
    select = None

from .errors import EISCONN, WipError, timeout_error
from .modem import _call, const, sleep_ms, ticks_diff, ticks_ms
from .parser import Parser, parse_int, split_fields, unquote

_ONE_SHOT = True
_EV_NONE = const(0)
_EV_OK = const(2)
_F_READY = const(1)
_P_UDP = const(1)
_P_TCP = const(2)
_P_SRV = const(3)
_SOCK_STREAM = const(1)
_SOCK_DGRAM = const(2)
_KIND_FILE = const(4)


def _init(m, stream, rx_size, line_size, tx_size):
    """The rest of Modem.__init__: buffers, channel tables, the stream's poller."""
    m._stream = stream
    m._rx = bytearray(rx_size)
    m._rpos = 0
    m._rend = 0
    m._tx = bytearray(tx_size)
    m._txmv = memoryview(m._tx)
    m._scratch = bytearray(64)
    m._parser = Parser(line_size)
    m._tcp = [None] * 9
    m._udp = [None] * 9
    m._srv = [None] * 5
    m._resv = [None] * 9  # TCP index -> the server socket reserving it (D30-D31)
    m._mapped = None
    m._cmd_active = False
    m._connected = False
    m._info = []
    m._urc_cbs = []
    m._flags = {}
    m._async_err = 0
    m._masks = []
    m._starting = False
    m._wind3 = False
    m._stale = False  # the module left data mode on its own: resync before a command
    m._tx_t = m._tx_t0 = ticks_ms()
    m._poll = None
    m._ipoll = False
    if select is not None:
        try:
            m._poll = select.poll()
            m._poll.register(getattr(stream, "pollable", stream), select.POLLIN)
            m._ipoll = hasattr(m._poll, "ipoll")
        except (AttributeError, TypeError, OSError, ValueError):
            m._poll = None


def _wind(m, n):
    # §8: +WIND: 3 then +WIND: 4 on every boot; count each boot once.
    if n == 3 or (n == 4 and not m._wind3):
        if not m._starting:
            m.reboots += 1
        _lost(m, 843)
        m.started = False
    m._wind3 = n == 3


def _lost(m, code):
    """Every socket is gone (reboot, stack or bearer stop): mark them dead, free indices."""
    for table in (m._tcp, m._udp, m._srv):
        for i in range(len(table)):
            ch = table[i]
            if ch is not None:
                ch.dead = ch.dead or code
                ch.idx = 0
                table[i] = None
    for i in range(9):
        m._resv[i] = None
    m._mapped = None
    m.bearer_up = False






def _rebooted(m, ch):
    """"+++" got no OK, "AT" did: the module left data mode unannounced (Modem._leave).

    A reboot (§8) if it lost AT+CMEE=1 (power-up default 0, D73): every socket is dead
    (843), the unread payload of ch (the socket that was mapped) is dropped, as the boot
    lines and the echo of "+++" are mixed into it, and echo off / numeric errors are set
    again. Otherwise (e.g. a UDP mapping ended by an error line, D24) nothing changes.
    """
    for line in m.command("+CMEE?"):
        if line.startswith("+CMEE:") and parse_int(split_fields(line)[0]) == 0:
            break
    else:
        return
    if ch.proto != _KIND_FILE:
        ch.p0 = ch.p1 = 0
    m.reboots += 1
    _lost(m, 843)
    m.started = False
    m.command("E0")
    m.command("+CMEE=1")


def resync(m):
    """Guarded "+++", then "AT" until OK: back to a known AT-mode state (spec §8 step 1).

    True if the module answered the "+++" (it was in data mode)."""
    m._mapped = None
    m._stale = False
    m._parser.reset()
    g = m.guard_ms
    sleep_ms(max(0, g - ticks_diff(ticks_ms(), m._tx_t)) + max(10, g // 10))
    if m.debug:
        _call(m, "_debug", "_trace", ">", "+++ (resync)")
    m._write(b"+++")
    settle = m._deadline(g + 200)
    answered = False
    while True:
        ev = m._pump(settle)
        if ev == _EV_NONE:
            break
        answered = answered or ev == _EV_OK
    deadline = m._deadline(m.timeout_ms)
    while True:
        m._parser.reset()
        if m.debug:
            _call(m, "_debug", "_trace", ">", "AT")
        m._write(b"AT\r")
        wait = m._deadline(min(500, max(m._left(deadline), 1)))
        while True:
            ev = m._pump(wait)
            if ev == _EV_OK:
                return answered
            if ev == _EV_NONE:
                break
        if m._left(deadline) == 0:
            raise timeout_error()


def start(m):
    """Sync with the module and start the IP stack (spec §8 "Recommended driver init")."""
    m._starting = True
    try:
        _lost(m, 843)
        resync(m)
        m.command("E0")
        m.command("+CMEE=1")
        try:
            m.command("+WIPCFG=1")
        except WipError as exc:
            if exc.code != 844:  # already started (D14)
                raise
        now = ticks_ms()
        while m._pump(now) != _EV_NONE:
            pass
    finally:
        m._starting = False
    m.started = True


def gprs(m, apn, user="", password="", timeout=None):
    """Open, configure and start the GPRS bearer (bid 6); return the local IP address."""
    q_apn = m.quote(apn)
    q_user = m.quote(user)
    q_pass = m.quote(password)
    m.mask(password)
    try:
        m.command("+WIPBR=1,6")
    except WipError as exc:
        if exc.code != 804:  # already open (D19)
            raise
    m.command("+WIPBR=2,6,11," + q_apn)
    m.command("+WIPBR=2,6,0," + q_user)
    m.command("+WIPBR=2,6,1," + q_pass)
    try:
        m.command("+WIPBR=4,6,0", timeout)
    except WipError as exc:
        # 803 while the bearer is up anyway (D18: "+WIPBR: 6,1" or a bare "6,1") is fine.
        lines = m.command("+WIPBR?")
        if exc.code != 803 or "6,1" not in [ln[ln.find(":") + 1:].replace(" ", "")
                                            for ln in lines]:
            raise
    m.bearer_up = True
    return bearer_option(m, 15)


def bearer_option(m, opt, bid=6):
    """``AT+WIPBR=3,bid,opt``: the value (str for strings, else int)."""
    for line in m.command("+WIPBR=3,%d,%d" % (bid, opt)):
        f = split_fields(line)
        if len(f) >= 3:
            v = f[2]
            return unquote(v) if v.startswith('"') else parse_int(v)
    raise WipError(-1, "no +WIPBR reply")


def wait_ready(m, proto, idx, timeout=None):
    """Modem: wait for +WIPREADY: proto,idx; WipError for an unsolicited +CME ERROR (D8)."""
    key = proto * 16 + idx
    m._leave()
    deadline = m._deadline(m.timeout_ms if timeout is None else int(timeout * 1000))
    while not m._flags.get(key, 0) & _F_READY:
        if m._async_err:
            code = m._async_err
            m._async_err = 0
            raise WipError(code)
        if m._pump(deadline) == _EV_NONE:
            raise timeout_error()


def _free_index(m, t, start, end):
    for i in range(start, end + 1):
        if t[i] is None and (t is not m._tcp or m._resv[i] is None):
            return i
    raise OSError(105, "no free socket index")  # ENOBUFS


def _port(s, port, start=1):
    """port if it is an int in start..65535 (s: the Socket, unused), else ValueError."""
    if not isinstance(port, int) or isinstance(port, bool) or not start <= port <= 65535:
        raise ValueError("bad port: %r" % (port,))
    return port


def _detach(s):
    m = s.m
    idx = s.idx
    if idx:
        table = m._tcp if s.proto == _P_TCP else m._udp if s.proto == _P_UDP else m._srv
        if table[idx] is s:
            table[idx] = None
    s.idx = 0
    if s.m._mapped is s:
        s.m._mapped = None


def _addr(s, addr):
    host, port = addr
    s.m.quote(host)
    return host, _port(s, port)


def _create(s, proto, idx, text):
    m = s.m
    s.proto = proto
    s.idx = idx
    (m._tcp if proto == _P_TCP else m._udp if proto == _P_UDP else m._srv)[idx] = s
    timeout = None if s.timeout_ms <= 0 else s.timeout_ms / 1000
    try:
        m.command("+WIPCREATE=%d,%d,%s" % (proto, idx, text), timeout)
        if proto != _P_SRV:
            wait_ready(m, proto, idx, timeout)
    except OSError as exc:
        # These create errors leave no module socket behind; anything else is closed.
        if not isinstance(exc, WipError) or exc.code not in (842, 830, 832, 833, 838, 840,
                                                              845, 803):
            try:
                m.command("+WIPCLOSE=%d,%d" % (proto, idx))
            except OSError:
                pass
        _detach(s)
        raise
    if s.opts:
        for opt, value in s.opts.items():
            m.command("+WIPOPT=%d,%d,2,%d,%d" % (proto, idx, opt, value))


def connect(s, addr):
    """TCP: AT+WIPCREATE=2 then +WIPREADY (D8). UDP: fix the peer (see wip.modem)."""
    host, port = _addr(s, addr)
    if s.closed:
        raise OSError(9, "socket closed")
    m = s.m
    if s.type == _SOCK_DGRAM:
        return _call(s, "_sockops", "_udp_peer", host, port, True)
    if s.idx:
        raise OSError(EISCONN, "already connected")
    idx = _free_index(m, m._tcp, 1, 8)
    _create(s, _P_TCP, idx, "%s,%d" % (m.quote(host), port))
    s.peer = (host, port)
    s.connected = True
