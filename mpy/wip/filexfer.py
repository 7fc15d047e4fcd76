"""One ``+WIPFILE`` transfer in file data mode (spec §2.6, §3.7, D49, D52).

Made by ``Modem.file_open(args)`` once ``CONNECT`` arrived; imported on first use so an app
that only uses sockets never loads it. Downloads decode straight into the caller's buffer;
uploads are escaped with ``escape_more`` so no payload can be taken for ``+++`` (D62).
"""

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


from .errors import WipError, timeout_error
from .parser import KIND_FILE

_EV_NONE = const(0)
_MODE_AT = const(0)
_MODE_DATA = const(1)


class FileTransfer:
    """One ``+WIPFILE`` transfer in file data mode (spec §2.6, §3.7, D49, D52)."""

    proto = KIND_FILE
    idx = 0

    def __init__(self, modem, timeout_ms):
        self.m = modem
        self.timeout_ms = timeout_ms
        self.done = False
        self.error = 0

    def _sink(self):
        return self.m._scratch, 0, len(self.m._scratch)

    def _unmapped(self, code):
        self.done = True
        self.error = code

    def _finish_wait(self):
        m = self.m
        deadline = m._deadline(self.timeout_ms)
        while not self.done:
            if m._pump(deadline) == _EV_NONE:
                raise timeout_error()
        if self.error:
            raise WipError(self.error)

    def readinto(self, buf, n=None):
        """Download: decoded bytes into buf; 0 once ETX and OK arrived; WipError on failure."""
        m = self.m
        if n is None:
            n = len(buf)
        deadline = m._deadline(self.timeout_ms)
        p = m._parser
        while not self.done:
            if p.mode == _MODE_DATA and m._mapped is self:
                if m._rpos == m._rend and not m._fill(deadline):
                    raise timeout_error()
                m._feed(buf, 0, n)
                if p.dpos:
                    return p.dpos
            elif m._pump(deadline) == _EV_NONE:
                raise timeout_error()
        if self.error:
            raise WipError(self.error)
        return 0

    def write(self, buf):
        """Upload: escape (DLE/ETX, and '+' so no payload can abort, D62) and send buf."""
        if self.done:
            raise OSError(9, "transfer finished")
        self.m._send_encoded(buf)
        return len(buf)

    def finish(self):
        """Upload: send the lone ETX, then wait for the final result (WipError on failure)."""
        if not self.done:
            self.m._write(b"\x03")
            self.m._parser.mode = _MODE_AT  # the module answers in AT mode (§2.6)
        self._finish_wait()

    def abort(self):
        """Guarded ``+++`` (D52); waits for the OK. Download data still in flight is dropped."""
        if not self.done:
            self.m._leave()
        self.done = True
