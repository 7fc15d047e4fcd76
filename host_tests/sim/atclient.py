"""A small AT client for talking to the WIP simulator from tests (TCP port or pty).

Stable API (other suites use it):

    client = ATClient.tcp(port)            # or ATClient.pty(path)
    info, final = client.cmd("AT+WIPCFG?")  # info lines (echo and URCs removed), final result
    client.expect_urc("+WIPREADY:")         # wait for (and consume) a URC with that prefix
    client.urcs                             # URC lines seen and not yet consumed, in order
    client.connect_data("AT+WIPDATA=2,1,1") # asserts CONNECT; the UART is now in data mode
    client.send_raw(b"...")                 # bytes as they are
    client.read_raw_until(b"x" or pred)     # raw bytes up to and including a marker
    client.escape(guard)                    # ~G~ +++ ~G~, wait for OK; returns bytes before it
    dle_escape(data) / dle_decode(raw)      # the DLE/ETX rules of spec §3 (own implementation)

Finals are "OK", "ERROR", "+CME ERROR: <n>" and "CONNECT". Every wait has a deadline and
raises TimeoutError with what was received so far.
"""

import os
import select
import socket
import time
import tty

FINALS = ("OK", "ERROR", "CONNECT")
URC_PREFIXES = ("+WIPREADY:", "+WIPACCEPT:", "+WIPPEERCLOSE:", "+WIPDATA:", "+WIPPING:",
                "+WIPFILE:", "+WIND:")
DLE = 0x10
ETX = 0x03


def dle_escape(data):
    """Host -> module encoding: DLE before every 0x10 and 0x03."""
    out = bytearray()
    for b in data:
        if b in (DLE, ETX):
            out.append(DLE)
        out.append(b)
    return bytes(out)


def dle_decode(raw):
    """Module -> host decoding: a list of bytes (data) and None (each unescaped ETX)."""
    items = []
    cur = bytearray()
    escaped = False
    for b in raw:
        if escaped:
            cur.append(b)
            escaped = False
        elif b == DLE:
            escaped = True
        elif b == ETX:
            items.append(bytes(cur))
            items.append(None)
            cur = bytearray()
        else:
            cur.append(b)
    if cur:
        items.append(bytes(cur))
    return [x for x in items if x != b""]


def is_urc(line):
    """Classify a line as unsolicited (Appendix B)."""
    if line.startswith(URC_PREFIXES):
        return True
    return line.startswith("+WIPBR:") and line.count(",") == 5


def is_final(line):
    return line in FINALS or line.startswith("+CME ERROR:")


class ATClient:
    """Line-oriented AT access plus raw data-mode access over one byte stream."""

    def __init__(self, sock=None, fd=None, timeout=5.0):
        self.sock = sock
        self.fd = fd
        self.timeout = timeout
        self.buf = bytearray()
        self.urcs = []
        self.last_sent = time.monotonic()

    @classmethod
    def tcp(cls, port, host="127.0.0.1", timeout=5.0):
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        return cls(sock=sock, timeout=timeout)

    @classmethod
    def pty(cls, path, timeout=5.0):
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd)
        return cls(fd=fd, timeout=timeout)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- raw I/O -----------------------------------------------------------------------
    def _fileno(self):
        return self.sock.fileno() if self.sock is not None else self.fd

    def send_raw(self, data):
        """Write bytes as they are (blocking until all are written)."""
        view = memoryview(bytes(data))
        deadline = time.monotonic() + max(self.timeout, 30)
        while view:
            _, writable, _ = select.select([], [self._fileno()], [], 0.5)
            if time.monotonic() > deadline:
                raise TimeoutError("send_raw: the simulator stopped reading")
            if not writable:
                continue
            try:
                n = self.sock.send(view) if self.sock is not None else os.write(self.fd, view)
            except BlockingIOError:
                continue
            view = view[n:]
        self.last_sent = time.monotonic()

    def _fill(self, timeout):
        """Read what is available within `timeout`; False on timeout."""
        readable, _, _ = select.select([self._fileno()], [], [], max(0.0, timeout))
        if not readable:
            return False
        try:
            data = self.sock.recv(65536) if self.sock is not None else os.read(self.fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            raise ConnectionError("the simulator closed the connection")
        self.buf += data
        return True

    def read_raw_until(self, marker, timeout=None):
        """Raw bytes up to and including `marker` (bytes), or until `marker(buffer)` returns
        an end index (int) / True (everything buffered)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if isinstance(marker, (bytes, bytearray)):
                pos = self.buf.find(marker)
                end = pos + len(marker) if pos >= 0 else None
            else:
                result = marker(bytes(self.buf))
                end = len(self.buf) if result is True else (result or None)
            if end is not None:
                data = bytes(self.buf[:end])
                del self.buf[:end]
                return data
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"read_raw_until {marker!r}: got {bytes(self.buf)!r}")
            self._fill(left)

    def read_raw(self, count, timeout=None):
        """Exactly `count` raw bytes."""
        return self.read_raw_until(lambda b: count if len(b) >= count else None, timeout)

    def drain(self, wait=0.1):
        """Everything that arrives within `wait` seconds of quiet."""
        while self._fill(wait):
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    # -- lines -------------------------------------------------------------------------
    def _next_line(self, deadline):
        """Next non-empty line (CR and/or LF terminated)."""
        while True:
            while self.buf[:1] in (b"\r", b"\n"):
                del self.buf[:1]
            for i, b in enumerate(self.buf):
                if b in (0x0D, 0x0A):
                    line = bytes(self.buf[:i])
                    del self.buf[:i]
                    if self.buf[:2] == b"\r\n":
                        del self.buf[:2]
                    elif self.buf[:1] == b"\r" and line.startswith(b"CONNECT"):
                        self._need(2, deadline)
                        del self.buf[:2]
                    else:
                        del self.buf[:1]
                    return line.decode("latin-1")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete line; buffered {bytes(self.buf)!r}")
            self._fill(left)

    def _need(self, count, deadline):
        while len(self.buf) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("line end missing")
            self._fill(left)

    def cmd(self, line, timeout=None):
        """Send one command line; return (info lines, final result)."""
        self.send_raw(line.encode("latin-1") + b"\r")
        return self.read_reply(line, timeout)

    def read_reply(self, echo=None, timeout=None):
        """Lines up to a final result; echo of `echo` and URCs are set aside."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        info = []
        while True:
            line = self._next_line(deadline)
            if echo is not None and line == echo:
                echo = None
                continue
            if is_final(line):
                return info, line
            if is_urc(line):
                self.urcs.append(line)
            else:
                info.append(line)

    def ok(self, line, timeout=None):
        """Send a command that must answer OK; return its info lines."""
        info, final = self.cmd(line, timeout)
        if final != "OK":
            raise AssertionError(f"{line!r} -> {final!r} (info {info!r})")
        return info

    def expect_urc(self, prefix, timeout=None):
        """Wait for a URC starting with `prefix`; remove and return it."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            for i, line in enumerate(self.urcs):
                if line.startswith(prefix):
                    return self.urcs.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no URC {prefix!r}; seen {self.urcs!r}")
            line = self._next_line(deadline)
            if is_urc(line):
                self.urcs.append(line)
            else:
                raise AssertionError(f"unexpected line while waiting for {prefix!r}: {line!r}")

    def no_urc(self, wait=0.2):
        """Assert that nothing arrives within `wait` seconds; returns the URC list."""
        data = self.drain(wait)
        if data.strip():
            raise AssertionError(f"unexpected output: {data!r}")
        return self.urcs

    def connect_data(self, line, timeout=None):
        """Send a WIPDATA/WIPFILE command and require CONNECT."""
        info, final = self.cmd(line, timeout)
        if final != "CONNECT":
            raise AssertionError(f"{line!r} -> {final!r} (info {info!r})")
        return info

    def escape(self, guard, timeout=None):
        """Leave data mode: silence, "+++", silence, then OK. Returns the raw bytes that
        arrived before the OK (data still in flight)."""
        time.sleep(guard * 1.5 + 0.02)  # bytes written earlier may still be in flight
        self.send_raw(b"+++")
        data = self.read_raw_until(b"\r\nOK\r\n", timeout)
        return data[:-6]
