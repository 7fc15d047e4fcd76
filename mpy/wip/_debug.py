"""The Modem's debug transcript (``Modem(debug=callable)``): imported on first use, kept.

Functions take the Modem first; the Modem calls them through ``wip.modem._call``.
"""

from .parser import split_fields, unquote

_EV_NAMES = ("", "", "OK", "ERROR", "CONNECT", "[ETX]", "SHUTDOWN", "OK?")


def _trace(m, direction, text):
    """m.debug(direction, text) with every masked secret replaced by ***."""
    if not isinstance(text, str):
        text = repr(bytes(text))
    elif direction == ">" and text.startswith("AT+WIP"):
        _mask_password(m, text[2:])
    for secret in m._masks:
        text = text.replace(secret, "***")
    m.debug(direction, text)


def _trace_feed(m, ev, dst, dpos):
    """Transcript of one parser step: payload decoded into dst[dpos:], then the event."""
    p = m._parser
    if p.dpos > dpos:
        _trace(m, "<<", dst[dpos:p.dpos])
    if ev == 1:  # EV_LINE
        _trace(m, "<", p.text)
    elif ev and (ev != 7 or p.after == 6):  # 7: EV_MAYBE_OK, once per candidate
        _trace(m, "<", _EV_NAMES[ev] + (" %d" % p.code if ev == 3 else ""))  # 3: EV_ERROR


def _mask_password(m, cmd):
    """Mask the password a command carries (§2.2, §2.3, §2.6): WIPBR option 1; WIPCREATE
    4-7 and WIPFILE 5 field 6 (user, password follow server/port or URL)."""
    f = split_fields(cmd.replace("=", ":", 1))
    if len(f) < 4:
        return
    if cmd.startswith("+WIPBR="):
        if f[0] == "2" and f[2] == "1":
            m.mask(unquote(f[3]))
    elif cmd.startswith("+WIPCREATE=") or cmd.startswith("+WIPFILE="):
        if len(f) > 5 and f[0] in ("4", "5", "6", "7"):
            m.mask(unquote(f[5]))
