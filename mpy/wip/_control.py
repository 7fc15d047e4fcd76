"""Modem calls made rarely: stop, stop_gprs, version, config, getaddrinfo, file_open, the
service helpers' wait_for, on_urc and mask, and the +WIPACCEPT handler. (The service
helpers' entry points call their modules directly, so a transfer does not hold this module
in RAM.) ``_ONE_SHOT`` like ``wip._setup``: imported for one call, then dropped (see
``wip.modem._call``). Functions take the Modem first and are its methods of the same names.
"""

from .errors import WipError
from .modem import _call, const
from .parser import parse_int, split_fields

_ONE_SHOT = True
_P_TCP = const(2)
_EV_NONE = const(0)


def _accepted(m, sidx, cidx):
    srv = m._srv[sidx] if 0 < sidx < 5 else None
    if srv is None or not 0 < cidx < 9:
        return
    from .socket import Socket

    conn = Socket(m, 1)
    conn.proto = _P_TCP
    conn.idx = cidx
    conn.ready = True
    conn.server = srv
    m._tcp[cidx] = conn
    srv.acceptq.append(conn)


def file_open(m, args, timeout=None):
    """``AT+WIPFILE=<args>``; a FileTransfer once CONNECT came, else WipError (D49)."""
    ms = m.timeout_ms if timeout is None else int(timeout * 1000)
    m.command("+WIPFILE=" + args, timeout)
    if not m._connected:
        raise WipError(-1, "no CONNECT")
    from .filexfer import FileTransfer

    ft = FileTransfer(m, ms)
    m._mapped = ft
    return ft


def stop_gprs(m):
    """Stop and close the GPRS bearer; every socket is released (D24)."""
    m._leave()
    m.command("+WIPBR=0,6")
    _call(m, "_setup", "_lost", 831)


def stop(m):
    """Stop the IP stack (releases everything, D16)."""
    m._leave()
    m.command("+WIPCFG=0")
    _call(m, "_setup", "_lost", 803)
    m.started = False


def version(m):
    """``AT+WIPCFG=3``: the two version lines joined by a newline (D15)."""
    return "\n".join(m.command("+WIPCFG=3"))


def config(m, opt=None, value=None):
    """Stack options: config() -> {opt: value}; config(opt) -> int; config(opt, v) sets."""
    if value is not None:
        m.command("+WIPCFG=2,%d,%d" % (opt, value))
        return None
    table = {}
    for line in m.command("+WIPCFG?"):
        f = split_fields(line)
        if len(f) >= 2:
            table[parse_int(f[0])] = parse_int(f[1])
    return table if opt is None else table[opt]


def getaddrinfo(m, host, port, family=0, type=0, proto=0, flags=0):
    """socket.getaddrinfo's shape. The module resolves names itself (at create time)."""
    m.quote(host)
    if type == 2:
        return [(2, 2, 17, "", (host, port))]
    return [(2, 1, 6, "", (host, port))]


def wait_for(m, predicate, timeout):
    """Run the receive loop (in AT mode) until predicate() is true or timeout seconds."""
    m._leave()
    deadline = m._deadline(m.timeout_ms if timeout is None else int(timeout * 1000))
    while not predicate():
        if m._pump(deadline) == _EV_NONE:
            return bool(predicate())
    return True


def on_urc(m, prefix, callback):
    """Call callback(line) for each URC line that starts with prefix."""
    m._urc_cbs.append((prefix, callback))


def mask(m, secret):
    """Replace secret by *** in the debug transcript."""
    if secret and secret not in m._masks:
        m._masks.append(secret)
