"""Socket stream calls the TCP data path rarely needs: readline, read to EOF, gettimeout,
setblocking, makefile. Imported by ``wip.modem._call`` on first use and kept (not one-shot:
readline runs once per header line of an HTTP or MQTT client). Functions take the Socket
first and are its methods of the same names.
"""


def read_all(s):
    """read(-1): every byte up to EOF."""
    out = bytearray()
    buf = bytearray(512)
    mv = memoryview(buf)
    while True:
        k = s.recv_into(buf)
        if not k:
            return bytes(out)
        out.extend(mv[:k])


def readline(s):
    """Bytes up to and including the next LF (or to EOF)."""
    out = bytearray()
    try:
        while True:
            if s.p1 > s.p0:
                i = s.pbuf.find(b"\n", s.p0, s.p1)
                end = s.p1 if i < 0 else i + 1
                out.extend(memoryview(s.pbuf)[s.p0:end])
                s.p0 = end
                if s.p0 == s.p1:
                    s.p0 = s.p1 = 0
                if i >= 0:
                    return bytes(out)
            k = s.m._recv(s, s.pbuf, len(s.pbuf), s.timeout_ms)
            if not k:
                return bytes(out)
            s.p0 = 0
            s.p1 = k
    except OSError:
        if out:  # keep what was read for the next call
            rest = bytes(memoryview(s.pbuf)[s.p0:s.p1])
            s.pbuf = bytearray(bytes(out) + rest + bytes(64))
            s.p0 = 0
            s.p1 = len(out) + len(rest)
        raise


def gettimeout(s):
    return None if s.timeout_ms < 0 else s.timeout_ms / 1000


def setblocking(s, value):
    s.settimeout(None if value else 0)


def makefile(s, mode="rb", buffering=0):
    return s
