"""I/O-free parser for the module -> host byte stream (spec §1.4, §2.10, §3.4, Appendix B).

Bytes in, events out. The parser never reads or writes a stream: the modem hands it a source
buffer with a start index and an end index, and, in data mode, a destination buffer for the
decoded payload. Each call to :meth:`Parser.feed` consumes bytes up to the next event and
returns it; ``parser.pos`` is where the next call continues and ``parser.dpos`` how far the
destination was filled.

Modes (spec §1.3):

* ``MODE_AT``: CR/LF-framed lines. Empty lines are skipped, a line starting with ``AT`` is
  command echo and skipped (§8, ATE1), spacing after ``:`` and commas is tolerated (D1).
  Finals: ``OK``, ``ERROR`` (code -1), ``+CME ERROR: n``, ``CONNECT``; anything else is a text
  line (information line or URC: the modem tells them apart).
* ``MODE_DATA``: continuous data mode after ``CONNECT``. Payload is DLE-decoded straight into
  the destination (one copy, no allocation: the hot path). An unescaped ETX is an event; what
  follows depends on ``kind`` (set by the modem before it sends ``AT+WIPDATA``/``AT+WIPFILE``):

  * ``KIND_TCP``: a line follows: ``SHUTDOWN`` (peer FIN, still in data mode, D53) or
    ``+CME ERROR: 84x`` / ``ERROR`` (reset or timeout, back in AT mode, D55);
  * ``KIND_UDP``: a datagram boundary, still in data mode (D57);
  * ``KIND_FILE``: end of the file; the final result follows in AT mode (D49).

* ``escaping``: set by the modem once it has sent a guarded ``+++`` (D62). Payload still in
  flight is decoded byte by byte while ``CR LF OK CR LF`` is looked for (Appendix B). A match
  is only a candidate: payload in flight can spell it too (the module does not escape CR,
  LF, O or K). Every byte goes to the destination as payload; on a match ``EV_MAYBE_OK`` is
  returned and ``after`` counts the bytes written since the candidate began (its six
  included; -1: no candidate). ``EV_MAYBE_OK`` comes again each time the source runs out
  while a candidate is pending. A later match (overlapping ones too) replaces it; an ETX
  drops it (the module sends none after its OK). The modem settles it once the line stays
  quiet: it takes the last ``after`` bytes back out of the payload, calls ``reset()`` (AT
  mode) and parses what followed the OK as lines.
"""

from array import array

try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


from . import codec

_EV_NONE = const(0)  # input used up (or destination full); nothing to report
_EV_LINE = const(1)  # self.text: an information line or a URC
_EV_OK = const(2)
_EV_ERROR = const(3)  # self.code: the +CME ERROR code, or -1 for a plain ERROR
_EV_CONNECT = const(4)  # data mode starts with the next byte
_EV_ETX = const(5)  # unescaped ETX (datagram end, TCP shutdown/reset, end of file)
_EV_SHUTDOWN = const(6)  # "SHUTDOWN" after an ETX on a TCP mapping (D53)
_EV_MAYBE_OK = const(7)  # escaping: a CR LF OK CR LF candidate is pending (see `after`)

_MODE_AT = const(0)
_MODE_DATA = const(1)
_MODE_AFTER_ETX = const(2)  # TCP: the line after an unescaped ETX

_KIND_TCP = const(2)
_KIND_UDP = const(1)
_KIND_FILE = const(4)

_ERROR_PLAIN = const(-1)


_CR = const(13)
_LF = const(10)
_DLE = const(0x10)
_ETX = const(0x03)
_ST_ESC = const(0)
_ST_POS = const(1)
_ST_ETX = const(2)


class Parser:
    """Incremental parser; see the module docstring for modes and events."""

    def __init__(self, line_size=256):
        self.line = bytearray(line_size)
        self.nline = 0
        self.mode = _MODE_AT
        self.kind = _KIND_TCP  # what the next CONNECT maps (set by the modem)
        self.escaping = False
        self.st = array("i", (0, 0, 0))  # the codec's decoder state (wip.codec.ST_*)
        self.pos = 0
        self.dpos = 0
        self.code = 0
        self.text = ""
        self._match = 0  # bytes of CR LF OK CR LF matched while escaping
        self.after = -1  # escaping: bytes written since the candidate OK began, or -1
        self._eat_lf = False  # data mode starts after the LF of "CONNECT\r\n" (§1.4)

    def reset(self):
        """Back to AT mode with empty state (after a resync or a module reboot)."""
        self.nline = 0
        self.mode = _MODE_AT
        self.escaping = False
        self._match = 0
        self.after = -1
        self._eat_lf = False
        self.st[_ST_ESC] = self.st[_ST_POS] = self.st[_ST_ETX] = 0

    def feed(self, src, pos, end, buf, dpos, stop):
        """Consume src[pos:end] up to the next event; return it.

        In data mode decoded payload goes to buf[dpos:stop]; buf may be None in AT mode.
        After the call ``self.pos`` and ``self.dpos`` tell how far both buffers were used.
        """
        if self.mode == _MODE_DATA:
            if self._eat_lf and pos < end:
                self._eat_lf = False
                if src[pos] == _LF:
                    pos += 1
            if self.escaping:
                return self._feed_escaping(src, pos, end, buf, dpos, stop)
            st = self.st
            lim = pos + (stop - dpos)
            if lim > end:
                lim = end
            st[_ST_POS] = pos
            dpos = codec.decode(src, lim, buf, dpos, st)
            self.pos = st[_ST_POS]
            self.dpos = dpos
            if st[_ST_ETX]:
                st[_ST_ETX] = 0
                return self._on_etx()
            return _EV_NONE
        self.dpos = dpos
        return self._feed_lines(src, pos, end)

    def _on_etx(self):
        kind = self.kind
        if kind == _KIND_TCP:
            self.mode = _MODE_AFTER_ETX
        elif kind == _KIND_FILE:
            self.mode = _MODE_AT
            self.escaping = False
        return _EV_ETX

    def _feed_escaping(self, src, pos, end, buf, dpos, stop):
        # Slow path for the short window between "+++" and its OK (Appendix B, D62). Every
        # byte is payload until the modem settles a candidate; _match counts the bytes of
        # CR LF OK CR LF just written (on a mismatch only a CR can start it again).
        st = self.st
        seq = b"\r\nOK\r\n"
        m = self._match
        after = self.after
        while pos < end and dpos < stop:
            b = src[pos]
            pos += 1
            if st[_ST_ESC]:  # an escaped byte: payload, never part of the module's OK
                st[_ST_ESC] = 0
                m = 0
            elif b == _DLE:
                st[_ST_ESC] = 1
                m = 0
                continue
            elif b == _ETX:  # the module sends none after its OK: no candidate
                self._match = 0
                self.after = -1
                self.pos = pos
                self.dpos = dpos
                return self._on_etx()
            elif b == seq[m]:
                m += 1
            else:
                m = 1 if b == _CR else 0
            buf[dpos] = b
            dpos += 1
            if after >= 0:
                after += 1
            if m == 6:  # its CR LF may begin the next one
                self._match = 2
                self.after = 6
                self.pos = pos
                self.dpos = dpos
                return _EV_MAYBE_OK
        self._match = m
        self.after = after
        self.pos = pos
        self.dpos = dpos
        return _EV_MAYBE_OK if after >= 0 and pos == end else _EV_NONE

    def _feed_lines(self, src, pos, end):
        line = self.line
        cap = len(line)
        n = self.nline
        while pos < end:
            b = src[pos]
            pos += 1
            if b == _CR or b == _LF:
                if n == 0:
                    continue
                self.nline = 0
                ev = self._classify(n)
                if ev != _EV_NONE:
                    if b == _CR and self.mode == _MODE_DATA:
                        if pos < end:
                            if src[pos] == _LF:
                                pos += 1
                        else:
                            self._eat_lf = True
                    self.pos = pos
                    return ev
                n = 0
                continue
            if n < cap:
                line[n] = b if 32 <= b < 127 else 63  # '?' for control and 8-bit noise
                n += 1
        self.nline = n
        self.pos = pos
        return _EV_NONE

    def _classify(self, n):
        line = self.line
        # Echo of a command line (ATE1) is skipped (Appendix B).
        if n >= 2 and line[0] | 32 == 97 and line[1] | 32 == 116:
            return _EV_NONE
        text = line[:n].decode()
        after_etx = self.mode == _MODE_AFTER_ETX
        if text == "OK":
            self.mode = _MODE_AT
            self.escaping = False
            self._match = 0
            return _EV_OK
        if text == "ERROR":
            self.mode = _MODE_AT
            self.escaping = False
            self._match = 0
            self.code = _ERROR_PLAIN
            return _EV_ERROR
        if text.startswith("+CME ERROR"):
            self.mode = _MODE_AT
            self.escaping = False
            self._match = 0
            self.code = parse_int(text[text.find(":") + 1:], _ERROR_PLAIN)
            return _EV_ERROR
        if after_etx and text == "SHUTDOWN":
            self.mode = _MODE_DATA
            return _EV_SHUTDOWN
        if text.startswith("CONNECT"):
            self.mode = _MODE_DATA
            self._match = 0
            self.st[_ST_ESC] = self.st[_ST_POS] = self.st[_ST_ETX] = 0
            return _EV_CONNECT
        self.text = text
        return _EV_LINE


def parse_int(text, default=0):
    """int() of a field with spaces and optional quotes (D1); default if it is not a number."""
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].strip()
    try:
        return int(text)
    except ValueError:
        return default


def split_fields(text):
    """The comma-separated fields after the first ':' of a line, stripped; quotes kept.

    Commas inside double quotes do not split (POP3 listings, reason phrases).
    """
    colon = text.find(":")
    rest = text[colon + 1:] if colon >= 0 else text
    fields = []
    start = 0
    quoted = False
    for i in range(len(rest)):
        c = rest[i]
        if c == '"':
            quoted = not quoted
        elif c == "," and not quoted:
            fields.append(rest[start:i].strip())
            start = i + 1
    fields.append(rest[start:].strip())
    return fields


def unquote(text):
    """A field without its surrounding double quotes, if it has them."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


def __getattr__(name):
    """The public constants EV_*, MODE_*, KIND_*, ERROR_PLAIN (the values above).

    Looked up on use (RAM: as module globals each would cost a dict slot and an interned name;
    the driver's own modules use const() copies).
    """
    table = (" EV_NONE=0 EV_LINE=1 EV_OK=2 EV_ERROR=3 EV_CONNECT=4 EV_ETX=5 EV_SHUTDOWN=6"
             " EV_MAYBE_OK=7"
             " MODE_AT=0 MODE_DATA=1 MODE_AFTER_ETX=2 KIND_TCP=2 KIND_UDP=1 KIND_FILE=4"
             " ERROR_PLAIN=-1 ")
    i = table.find(" %s=" % name)
    if i < 0:
        raise AttributeError(name)
    i += len(name) + 2
    return int(table[i:table.find(" ", i)])
