"""DLE/ETX framing of continuous and file data mode (spec §3.2, §3.3, D65)."""

import re

_CONTROL = re.compile(b"[\x03\x10]")

DLE = 0x10
ETX = 0x03
ETX_BYTE = b"\x03"


def escape(data):
    """Module -> host: put a DLE before every 0x10 and 0x03 byte (§3.2)."""
    return bytes(data).replace(b"\x10", b"\x10\x10").replace(b"\x03", b"\x10\x03")


class Decoder:
    """Host -> module decoder; its state (a pending DLE) carries over between chunks (§3.3)."""

    def __init__(self):
        self.escaped = False

    def reset(self):
        """Drop a pending DLE (end of data mode, D65)."""
        self.escaped = False

    def feed(self, data):
        """Decode a chunk: a list of bytes objects (data) and None (an unescaped ETX)."""
        events = []
        out = bytearray()
        i = 0
        n = len(data)
        while i < n:
            if self.escaped:
                out.append(data[i])
                self.escaped = False
                i += 1
                continue
            m = _CONTROL.search(data, i)
            if m is None:
                out += data[i:]
                break
            j = m.start()
            out += data[i:j]
            if data[j] == DLE:
                self.escaped = True
            else:
                if out:
                    events.append(bytes(out))
                    out = bytearray()
                events.append(None)
            i = j + 1
        if out:
            events.append(bytes(out))
        return events
