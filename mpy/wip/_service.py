"""Shared by the service helpers (ftp, http, smtp, pop3): the module's one session slot and
streamed uploads. Part of the core package but imported only by a service helper, so an app
that uses sockets alone never loads it."""

from .errors import WipError


def claim(m, session):
    # D34: one service session at a time; refused here, before anything is sent, so the
    # open session keeps working.
    held = getattr(m, "service_session", None)
    if held is not None and held is not session and held.is_open():
        raise WipError(840, "one service session at a time (D34): %s is open" % held)
    m.service_session = session


def release(m, session):
    if getattr(m, "service_session", None) is session:
        m.service_session = None


def send_body(ft, data, buf):
    """Upload bytes-like data or a str, or a stream through buf (readinto() or read())."""
    if isinstance(data, str):
        data = data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        ft.write(data)
        return len(data)
    total = 0
    size = len(buf)
    readinto = getattr(data, "readinto", None)
    while True:
        if readinto is not None:
            k = readinto(buf) or 0
            chunk = buf if k == size else memoryview(buf)[:k]
        else:
            chunk = data.read(size)
            k = len(chunk) if chunk else 0
        if not k:
            return total
        ft.write(chunk)
        total += k


def read_body(readinto, n, chunk):
    """read(n) of a streamed body: n bytes (fewer at the end), or the rest for n < 0 or None,
    collected through readinto(buf) into a new bytes object (chunk: the session's buffer)."""
    if n is not None and n >= 0:
        buf = bytearray(n)
        mv = memoryview(buf)
        got = 0
        while got < n:
            k = readinto(mv[got:])
            if not k:
                break
            got += k
        return bytes(mv[:got])
    out = bytearray()
    while True:
        k = readinto(chunk)
        if not k:
            return bytes(out)
        out.extend(memoryview(chunk)[:k])
