"""The UDP datagram path (D57, D58, D66): imported on first use by a UDP socket, then kept.

Functions take the Socket (or, for ``_recvfrom``, the Modem) first; they are the methods of
the same names (see ``wip.modem._call``). How ``sendto`` addresses map onto module sockets
is explained in ``wip.modem``'s docstring.
"""

from .errors import EINVAL, EISCONN, EMSGSIZE, ENOTCONN, WipError, again_error, timeout_error
from .modem import _call, const, ticks_add, ticks_diff, ticks_ms

_EV_NONE = const(0)
_UDP_MAX = const(5840)  # §3.5, D58


def _recvfrom(m, ch, tmo):
    """Modem: the next datagram of UDP socket ch and its sender (D57, D58, D66)."""
    deadline = None if tmo < 0 else ticks_add(ticks_ms(), tmo)
    while True:
        if ch.dq:
            return ch.dq.pop(0)
        if ch.dead:
            raise WipError(ch.dead)
        if ch.idx == 0:
            raise OSError(107, "socket not created")
        if m._mapped is ch and (ch.sender is not None or ch.p1 > ch.p0):
            lim = deadline
            if ch.peer is None and ch.p1 == ch.p0:
                lim = ticks_add(ticks_ms(), m.udp_linger_ms)
                if deadline is not None and ticks_diff(deadline, lim) < 0:
                    lim = deadline
            if m._pump(lim) == _EV_NONE:
                if deadline is None or m._left(deadline):
                    m._leave()  # lingered: listen for other senders (D66)
                    continue
                raise again_error() if tmo == 0 else timeout_error()
            continue
        if ch.dgram is not None or (ch.peer is not None and tmo != 0):
            m._map(ch)
            continue
        m._leave()
        if m._pump(deadline) == _EV_NONE:
            raise again_error() if tmo == 0 else timeout_error()


def _dgram_end(s):
    """An unescaped ETX ended a datagram: queue it with its sender (D57)."""
    if s.dq is None:
        s.dq = []
    s.dq.append((bytes(s.pbuf[s.p0:s.p1]), s.sender))
    s.p0 = s.p1 = 0


def sendall(s, data):
    """UDP: one datagram to the socket's peer (Socket.sendall on a UDP socket)."""
    if len(data) > _UDP_MAX:
        raise OSError(EMSGSIZE, "datagram over 5840 bytes (D58)")
    if not s.idx:
        raise OSError(ENOTCONN, "no peer: use connect() or sendto()")
    if s.dead:
        raise WipError(s.dead)
    m = s.m
    m._map(s)
    m._send_encoded(data)
    m._write(b"\x03")  # unescaped ETX: end of datagram (§3.5)


def sendto(s, data, addr):
    """UDP: send one datagram to addr (see wip.modem for what addr may be, D58)."""
    if s.type != 2:  # SOCK_DGRAM
        raise OSError(EISCONN, "sendto on a TCP socket")
    host, port = _call(s, "_setup", "_addr", addr)
    target = (host, port)
    if not s.idx:
        _call(s, "_sockops", "_udp_peer", host, port, False)
    elif s.peer is not None:
        if s.peer != target:
            if s.connected or s.bound:
                raise OSError(EISCONN, "the module socket has another peer (D58)")
            _call(s, "_sockops", "_udp_peer", host, port, False)
    elif target != s.sender:
        raise OSError(EINVAL, "a bound UDP socket can only answer its last sender (D58)")
    sendall(s, data)
    return len(data)


def recvfrom(s, n):
    """UDP: (datagram cut to n bytes, (ip, port) of its sender)."""
    data, addr = _next_dgram(s)
    return data[:n], addr


def _next_dgram(s):
    if s.type != 2:  # SOCK_DGRAM
        raise OSError(EINVAL, "not a UDP socket")
    data, addr = _recvfrom(s.m, s, s.timeout_ms)
    if addr is None:
        addr = (_call(s, "_sockops", "_read_opt", 2),  # D58: last sender read
                _call(s, "_sockops", "_read_opt", 1))
    s.sender = addr
    return data, addr
