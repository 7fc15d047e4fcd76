"""Socket calls made rarely: bind, listen, accept, shutdown, setsockopt/getsockopt, close,
and the UDP re-creation for a new peer. ``_ONE_SHOT`` like ``wip._setup``: imported by
``wip.modem._call`` for one call and dropped right after. Functions take the Socket first
and are its methods of the same names.
"""

from .errors import EINVAL, ENOPROTOOPT, WipError, again_error, timeout_error
from .modem import _call, const

_ONE_SHOT = True
_EV_NONE = const(0)
_P_UDP = const(1)
_P_SRV = const(3)
_SOCK_STREAM = const(1)
_SOCK_DGRAM = const(2)
_SHUT_RD = const(0)
_SOL_SOCKET = const(1)
_SO_REUSEADDR = const(2)
# (level, option) -> +WIPOPT option number (§2.5 socket options)
_WIPOPT = {(6, 1): 7, (0, 2): 8, (0, 1): 9}  # TCP_NODELAY, IP_TTL, IP_TOS
_DEFAULTS = {7: 0, 8: 64, 9: 0}


def _boot_lines(s, buf):
    """recv() got payload that starts like a boot line (CR LF "+WIND: ", §8).

    Leave data mode to find out: True if the module rebooted (s is dead then); False if
    it was the peer's data (then it is delivered as usual).
    """
    if bytes(buf[:9]) != b"\r\n+WIND: ":
        return False
    s.m._leave()
    return bool(s.dead)


def _release_range(m, srv):
    """Free a closed server's TCP range once all its connections are closed (D31)."""
    if not srv.closed or srv.range is None:
        return
    a, b = srv.range
    for i in range(a, b + 1):
        ch = m._tcp[i]
        if ch is not None and ch.server is srv:
            return
    for i in range(a, b + 1):
        if m._resv[i] is srv:
            m._resv[i] = None
    srv.range = None


def _udp_peer(s, host, port, explicit):
    m = s.m
    lport = s.lport
    if s.idx:
        if s.bound and not lport:
            lport = _read_opt(s, 0)
        _close_channel(s)
    idx = _call(m, "_setup", "_free_index", m._udp, 1, 8)
    lp = "%d" % lport if lport else ""
    _call(s, "_setup", "_create", _P_UDP, idx, "%s,%s,%d" % (lp, m.quote(host), port))  # D25
    s.peer = (host, port)
    s.sender = None
    s.connected = explicit


def accept(s):
    """The next connection (+WIPACCEPT) as (Socket, (ip, port))."""
    m = s.m
    if s.acceptq is None:
        raise OSError(EINVAL, "not listening")
    deadline = m._deadline(s.timeout_ms)
    while not s.acceptq:
        if s.dead:
            raise WipError(s.dead)
        m._leave()
        if m._pump(deadline) == _EV_NONE:
            if s.acceptq:
                break
            raise again_error() if s.timeout_ms == 0 else timeout_error()
    conn = s.acceptq.pop(0)
    addr = None
    if conn.idx and not conn.dead:
        addr = (_read_opt(conn, 2), _read_opt(conn, 1))
        conn.peer = addr
    return conn, addr


def shutdown(s, how=2):
    """SHUT_WR / SHUT_RDWR on TCP: a lone ETX half-closes (flush, then FIN; D54)."""
    if s.type == _SOCK_STREAM and how != _SHUT_RD and s.idx and not s.dead:
        s.m._map(s)
        s.m._write(b"\x03")


def _read_opt(s, opt):
    lines = s.m.command("+WIPOPT=%d,%d,1,%d" % (s.proto, s.idx, opt))
    for line in lines:
        f = line[line.find(":") + 1:].split(",")
        if len(f) >= 3:
            v = f[2].strip()
            if v.startswith('"'):
                return v.strip('"')
            return int(v)
    raise WipError(-1, "no +WIPOPT reply")


def _option(s, level, optname):
    opt = _WIPOPT.get((level, optname))
    if opt is None or (opt == 7 and s.type == _SOCK_DGRAM):
        raise OSError(ENOPROTOOPT, "option not supported")
    return opt


def setsockopt(s, level, optname, value):
    """TCP_NODELAY, IP_TTL, IP_TOS map to +WIPOPT 7, 8, 9; SO_REUSEADDR is accepted."""
    if level == _SOL_SOCKET and optname == _SO_REUSEADDR:
        s.reuse = int(value)
        return
    opt = _option(s, level, optname)
    value = int(value)
    if s.idx:
        s.m.command("+WIPOPT=%d,%d,2,%d,%d" % (s.proto, s.idx, opt, value))
    if s.opts is None:
        s.opts = {}
    s.opts[opt] = value


def getsockopt(s, level, optname):
    if level == _SOL_SOCKET and optname == _SO_REUSEADDR:
        return s.reuse
    opt = _option(s, level, optname)
    if s.idx:
        return _read_opt(s, opt)
    return (s.opts or _DEFAULTS).get(opt, _DEFAULTS[opt])


def _close_channel(s):
    m = s.m
    if not s.idx:
        return
    try:
        if m._mapped is s:
            m._leave()
        m.command("+WIPCLOSE=%d,%d" % (s.proto, s.idx))
    except WipError:
        pass
    finally:
        _call(s, "_setup", "_detach")
        s.dq = None
        s.dgram = None
        s.p0 = s.p1 = 0


def close(s):
    """AT+WIPCLOSE (TCP: unsent data is flushed, then FIN; D39)."""
    if s.closed:
        return
    s.closed = True
    _close_channel(s)
    m = s.m
    if s.acceptq is not None:
        _release_range(m, s)
    if s.server is not None:
        _release_range(m, s.server)


def bind(s, addr):
    """Record the local port; a UDP socket is created at once (AT+WIPCREATE=1,i,port)."""
    host, port = addr
    s.m.quote(host)
    s.lport = _call(s, "_setup", "_port", port, 0)
    s.bound = True
    if s.type == _SOCK_DGRAM:
        if s.idx:
            raise OSError(EINVAL, "already bound")
        idx = _call(s.m, "_setup", "_free_index", s.m._udp, 1, 8)
        _call(s, "_setup", "_create", _P_UDP, idx, "%d" % s.lport)


def listen(s, backlog=8):
    """A TCP server: server index 1-4, spawn range of min(backlog, 8) indices (D29-D31)."""
    m = s.m
    if s.type != _SOCK_STREAM or s.idx:
        raise OSError(EINVAL, "cannot listen")
    port = _call(s, "_setup", "_port", s.lport)
    k = 8 if backlog > 8 else 1 if backlog < 1 else backlog
    sidx = _call(m, "_setup", "_free_index", m._srv, 1, 4)
    while k:
        for a in range(9 - k, 0, -1):
            if all(m._tcp[i] is None and m._resv[i] is None for i in range(a, a + k)):
                _call(s, "_setup", "_create", _P_SRV, sidx, "%d,%d,%d" % (port, a, a + k - 1))
                s.range = (a, a + k - 1)
                s.acceptq = []
                for i in range(a, a + k):
                    m._resv[i] = s
                return
        k -= 1
    raise OSError(105, "no free TCP index range")
