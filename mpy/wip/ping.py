"""ICMP echo through the module (+WIPPING and its URC; spec §2.8, D68-D70).

    rtts = modem.ping("127.0.0.1", count=3, interval_ms=200)   # e.g. [1, 0, None]

Returns one entry per packet, in packet order: the round trip in ms, or None for a packet
whose timeout expired (the URC then reports 1,<idx>,0, D70). Errors raise WipError (819 for
an unresolvable or refused host, or a series already running).
"""

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


from .errors import ETIMEDOUT
from .parser import parse_int, split_fields

_MARGIN_MS = const(3000)  # slack for the last URC on top of the series' own duration


def _check(name, value, low, high):
    if not low <= value <= high:
        raise ValueError("%s must be %d..%d" % (name, low, high))


def ping(m, host, count=4, interval_ms=1000, timeout_ms=2000, size=32, ttl=64):
    """Ping host count times; return [rtt_ms or None, ...] (D70: None for a timeout)."""
    _check("count", count, 1, 65535)
    _check("interval_ms", interval_ms, 1, 65535)
    _check("timeout_ms", timeout_ms, 1, 65535)
    _check("size", size, 1, 1500)
    if not host:
        raise ValueError("empty host")
    # D68: host, repeat, interval, timeout, nwrite, ttl; an omitted ttl means WIPCFG option 0.
    cmd = "+WIPPING=%s,%d,%d,%d,%d" % (m.quote(host), count, interval_ms, timeout_ms, size)
    if ttl is not None:
        _check("ttl", ttl, 0, 255)
        cmd += ",%d" % ttl
    results = [None] * count
    state = [0]  # URCs received

    def on_ping(line):
        # +WIPPING: <timeout_expired>,<packet_idx>,<response_time>; the index starts at 0 (D70)
        f = split_fields(line)
        if len(f) != 3:
            return
        idx = parse_int(f[1], -1)
        if 0 <= idx < count:
            results[idx] = None if parse_int(f[0]) else parse_int(f[2])
            state[0] += 1

    if not hasattr(m, "ping_urc_handler"):
        # on_urc() has no removal: one router per modem, pointed at the running series.
        m.on_urc("+WIPPING:", lambda line: m.ping_urc_handler and m.ping_urc_handler(line))
    m.ping_urc_handler = on_ping
    try:
        m.command(cmd)
        total_ms = (count - 1) * interval_ms + timeout_ms + _MARGIN_MS
        if not m.wait_for(lambda: state[0] >= count, total_ms / 1000):
            raise OSError(ETIMEDOUT, "ping: %d of %d results arrived" % (state[0], count))
    finally:
        m.ping_urc_handler = None
    return results
