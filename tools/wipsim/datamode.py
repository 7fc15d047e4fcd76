"""Data-mode helpers: the guarded `+++` detector (§3.9, D62) and the mapping record."""

from .codec import Decoder

PLUS = 0x2B


class EscapeDetector:
    """Finds a guarded `+++` in host input; the `+` bytes of a failed candidate are data.

    `feed(data, t)` returns the bytes that are certainly data, in order; candidate `+` bytes
    are held (`holding` is true) until `poll(now)` decides: it returns "escape" when the
    silence after the third `+` lasted G, the held bytes when the candidate failed, or None.
    """

    def __init__(self, guard, now):
        self.guard = guard
        # The silence before the first "+" is measured on arrival at the simulator, which can
        # lag the host's writes by a few ms of scheduling; accept G minus a small margin.
        self.lead_silence = guard - min(guard * 0.2, 0.05)
        self.last_rx = now
        self.plus = 0

    @property
    def holding(self):
        return self.plus > 0

    @property
    def deadline(self):
        """When `poll` should be called to decide the current candidate."""
        return self.last_rx + self.guard

    def poll(self, now):
        if not self.plus or now - self.last_rx < self.guard:
            return None
        if self.plus == 3:
            self.plus = 0
            return "escape"
        held = b"+" * self.plus
        self.plus = 0
        return held

    def feed(self, data, t):
        out = bytearray()
        i = 0
        n = len(data)
        while i < n:
            b = data[i]
            if self.plus:
                if b == PLUS and self.plus < 3 and t - self.last_rx < self.guard:
                    self.plus += 1
                    self.last_rx = t
                    i += 1
                    continue
                out += b"+" * self.plus
                self.plus = 0
            if b == PLUS and t - self.last_rx >= self.lead_silence:
                self.plus = 1
                self.last_rx = t
                i += 1
                continue
            out += data[i:]
            self.last_rx = t
            break
        return bytes(out)


class Mapping:
    """The UART's current data-mode attachment.

    kind: "cont" (continuous, DLE/ETX), "transp" (transparent, TCP only) or "file" (WIPFILE).
    """

    def __init__(self, kind, proto, idx, chan, guard, now):
        self.kind = kind
        self.proto = proto
        self.idx = idx
        self.chan = chan
        self.detector = EscapeDetector(guard, now)
        self.decoder = Decoder()
        self.fin_sent = False  # the SHUTDOWN marker was sent on this mapping (D53)
        self.sender = None  # UDP "current sender" (D66)
        self.udp_out = bytearray()  # UDP datagram being built from host bytes (§3.5)
        self.timer = None  # escape decision timer
        self.transfer = None  # WIPFILE transfer
        self.upload_queue = None
        self.finished = False  # WIPFILE: ETX seen (upload) or abort requested
        self.aborted = False
