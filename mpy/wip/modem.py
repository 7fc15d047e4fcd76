"""The Modem: one UART, one receive loop, the channel table and the mode (design.md).

How the socket API maps onto the AT model (spec §1.2, §2.3, §2.7, §3):

* **Indices.** The driver allocates them; the app never sees them. A TCP client takes the
  lowest free TCP index (1-8) outside every server's reserved range. ``listen(backlog)``
  takes the lowest free server index (1-4) and reserves a contiguous block of
  ``min(backlog, 8)`` TCP indices, the highest free block that fits (shrinking the block if
  needed): every accepted connection lands on one of them (D29-D31), so ``backlog`` caps the
  number of connections alive at once. The range stays reserved until the server and every
  connection it accepted are closed (D31). UDP sockets take the lowest free UDP index (1-8).
* **Data mode.** Reading or writing a socket maps it (``AT+WIPDATA=p,i,1``, continuous mode);
  it stays mapped while the app keeps using it. Using another socket, or any AT command,
  leaves data mode first: guard silence, ``+++``, guard silence, ``OK`` (D62). Payload bytes
  still arriving before that ``OK`` are kept in the socket's pending buffer, never dropped.
  Outgoing payload is encoded with ``escape_plus`` so a ``+++`` in the data can never be
  taken for the escape. Transparent mode is not used.
* **TCP.** ``recv`` returns ``b""`` after the peer's FIN (``[ETX]`` + ``SHUTDOWN`` while
  mapped, D53; ``+WIPPEERCLOSE`` while not). A reset raises ``WipError`` 843 (errno
  ECONNRESET), a peer timeout 842 (D55). ``shutdown(SHUT_WR)`` sends a lone ETX (D54).
* **UDP.** Datagram boundaries are kept (an unescaped ETX ends each one, D57); datagrams over
  5840 bytes cannot be sent (EMSGSIZE, D58). The module only ever sends a socket's datagrams
  to its peer (given at creation) or, for a socket created without a peer, to the sender of
  the last datagram delivered to the host (D58). Hence: ``connect(addr)`` and a first
  ``sendto(addr)`` create the module socket with that peer; ``sendto`` to a *different*
  address re-creates the module socket for the new peer when the socket was neither bound
  nor connected by the app (datagrams queued for the old one are lost), and otherwise raises
  ``OSError(EISCONN)`` (connected) or ``OSError(EINVAL)`` (bound: only the last sender can be
  answered). ``recvfrom`` reports the sender from the ``+WIPDATA`` URC; while mapped, the
  module delivers only datagrams from the mapping's current sender (D66), so an unconnected
  socket leaves data mode after ``udp_linger`` seconds without data to hear other senders.
* **Timeouts** follow CPython: None blocks, 0 raises ``OSError(EAGAIN)``, t > 0 raises
  ``OSError(ETIMEDOUT)``. Commands use the Modem's ``timeout``.

Internal API for the service helpers (ftp/http/smtp/pop3/ping, supervisor):

* ``command(cmd, timeout=None) -> list[str]``: sends ``"AT" + cmd`` (a leading ``AT`` in cmd
  is accepted too) after leaving data mode; returns the information lines; raises WipError.
* ``quote(value) -> str``: the quoted parameter, or ValueError (``"``, CR, LF, NUL or any
  non-printable character).
* ``mask(secret)``: hide secret in the ``debug`` transcript (gprs() masks its password).
* ``file_open(args, timeout=None) -> FileTransfer`` (``AT+WIPFILE=<args>`` then CONNECT):
  ``readinto(buf, n=None)``, ``write(buf)``, ``finish()``, ``abort()``.
* ``on_urc(prefix, callback)``: callback(line) for every URC line starting with prefix,
  also ``"+CME ERROR"`` for an unsolicited error (D8). Callbacks run inside the receive
  loop: they must not issue commands.
* ``wait_for(predicate, timeout) -> bool``, ``wait_ready(proto, idx, timeout)``,
  ``peer_closed(proto, idx) -> bool``.
* State: ``bearer_up``, ``reboots`` (``+WIND: 3/4`` seen outside ``start()``), ``started``.

Not thread-safe: use one Modem from one thread or task.
"""

try:
    import select
except ImportError:  # pragma: no cover
    select = None

try:
    from time import sleep_ms, ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    from time import monotonic as _monotonic
    from time import sleep as _sleep

    def ticks_ms():
        return int(_monotonic() * 1000)

    def ticks_add(t, delta):
        return t + delta

    def ticks_diff(a, b):
        return a - b

    def sleep_ms(ms):
        _sleep(ms / 1000)


try:
    from micropython import const
except ImportError:  # CPython

    def const(value):
        return value


from . import codec
from .errors import (
    WipError,
    again_error,
    timeout_error,
)
from .parser import (
    KIND_FILE,
    Parser,
    parse_int,
    split_fields,
    unquote,
)

_EV_NONE = const(0)
_EV_LINE = const(1)
_EV_OK = const(2)
_EV_ERROR = const(3)
_EV_CONNECT = const(4)
_EV_ETX = const(5)
_EV_SHUTDOWN = const(6)
_MODE_AT = const(0)
_MODE_DATA = const(1)
_P_UDP = const(1)
_P_TCP = const(2)
_P_SRV = const(3)
_F_READY = const(1)
_F_PEERCLOSED = const(2)
_MIN_SINK = const(64)


class Modem:
    """A WIP Soft module on a byte stream. See the module docstring for the mapping.

    ``stream``: machine.UART, ``wip.tcp_stream(...)``, ``wip.serial_stream(...)`` or anything
    with non-blocking ``readinto``/``write``. ``timeout``: seconds for each AT command.
    ``guard_time``: the module's ``+++`` guard G (1.0 on hardware; the simulator's
    ``--guard-time``). Buffers, allocated once here: ``rx_size`` (raw input), ``tx_size``
    (escaped output, half of it is payload per write), ``line_size`` (longest AT line kept),
    ``pending_size`` (per socket: payload that arrived while the app was not reading it;
    grows when needed rather than drop a byte). ``debug``: ``callable(direction, text)``
    gets the transcript (">" commands, "<" lines, ">>"/"<<" payload; masked secrets).
    ``udp_linger``: seconds an unconnected UDP socket stays mapped waiting for more from
    the same sender (D66; default 2 * guard_time).
    """

    def __init__(self, stream, timeout=10, guard_time=1.0, rx_size=512, line_size=256,
                 pending_size=512, tx_size=512, debug=None, udp_linger=None):
        self._stream = stream
        self.timeout_ms = int(timeout * 1000)
        self.guard_ms = int(guard_time * 1000)
        linger = 2 * guard_time if udp_linger is None else udp_linger
        self.udp_linger_ms = int(linger * 1000)
        self.pending_size = pending_size
        self._rx = bytearray(rx_size)
        self._rpos = 0
        self._rend = 0
        self._tx = bytearray(tx_size)
        self._txmv = memoryview(self._tx)
        self._scratch = bytearray(64)
        self._parser = Parser(line_size)
        self._tcp = [None] * 9
        self._udp = [None] * 9
        self._srv = [None] * 5
        self._resv = [None] * 9  # TCP index -> the server socket reserving it (D30-D31)
        self._mapped = None
        self._cmd_active = False
        self._connected = False
        self._info = []
        self._urc_cbs = []
        self._flags = {}
        self._async_err = 0
        self._masks = []
        self._starting = False
        self._wind3 = False
        self.debug = debug
        self.bearer_up = False
        self.reboots = 0
        self.started = False
        self._tx_t = ticks_ms()
        self._poll = None
        self._wpoll = None
        self._ipoll = False
        if select is not None:
            target = getattr(stream, "pollable", stream)
            try:
                self._poll = select.poll()
                self._poll.register(target, select.POLLIN)
                self._wpoll = select.poll()
                self._wpoll.register(target, select.POLLOUT)
                self._ipoll = hasattr(self._poll, "ipoll")
            except (AttributeError, TypeError, OSError, ValueError):
                self._poll = self._wpoll = None

    # ---- time -------------------------------------------------------------------------

    def _deadline(self, ms):
        return None if ms is None or ms < 0 else ticks_add(ticks_ms(), ms)

    def _left(self, deadline):
        if deadline is None:
            return -1
        d = ticks_diff(deadline, ticks_ms())
        return d if d > 0 else 0

    def _ms(self, timeout):
        return self.timeout_ms if timeout is None else int(timeout * 1000)

    # ---- raw I/O ----------------------------------------------------------------------

    def _wait(self, poller, ms):
        if poller is None:
            sleep_ms(1 if ms < 0 or ms > 1 else ms)
            return True
        if self._ipoll:
            for _ in poller.ipoll(ms):
                return True
            return False
        return bool(poller.poll(ms))

    def _fill(self, deadline):
        """Read into the (empty) rx buffer; False if the deadline passed without a byte."""
        stream = self._stream
        rx = self._rx
        while True:
            n = stream.readinto(rx)
            if n:
                self._rpos = 0
                self._rend = n
                return True
            left = self._left(deadline)
            if left == 0:
                return False
            self._wait(self._poll, left)

    def _write(self, data):
        """Write all of data; read input meanwhile if the stream stalls (no deadlock)."""
        stream = self._stream
        n = len(data)
        k = stream.write(data)
        if k is None:
            k = 0
        if k < n:
            mv = memoryview(data)
            deadline = self._deadline(self.timeout_ms)
            while k < n:
                if self._left(deadline) == 0:
                    raise timeout_error()
                self._stall()
                self._wait(self._wpoll, 10)
                w = stream.write(mv[k:])
                if w:
                    k += w
        self._tx_t = ticks_ms()

    def _stall(self):
        # The module may be blocked writing to us: take its output while it waits (no loss).
        ch = self._mapped
        if ch is not None and ch.proto != KIND_FILE and ch.p1 - ch.p0 > 4 * self.pending_size:
            return
        self._pump(ticks_ms())

    def _send_encoded(self, data, start=0, end=None):
        """Encode data[start:end] for data mode (escape_plus, D62) and write it."""
        if end is None:
            end = len(data)
        tx = self._tx
        step = len(tx) // 2
        enc = codec.encode
        if self.debug:
            self._trace(">>", bytes(data[start:end]))
        while start < end:
            stop = start + step if end - start > step else end
            k = enc(data, start, stop, tx, 0, True)
            self._write(self._txmv[:k])
            start = stop

    def _trace(self, direction, text):
        if not isinstance(text, str):
            text = repr(bytes(text))
        for secret in self._masks:
            text = text.replace(secret, "***")
        self.debug(direction, text)

    # ---- the receive loop -------------------------------------------------------------

    def _feed(self, dst, dpos, dend):
        """One parser step over the rx buffer; applies the event to the modem state."""
        p = self._parser
        was = p.mode
        ev = p.feed(self._rx, self._rpos, self._rend, dst, dpos, dend)
        self._rpos = p.pos
        if ev == _EV_NONE:
            if self.debug and p.dpos > dpos:
                self._trace("<<", dst[dpos:p.dpos])
            return ev
        if self.debug:
            if p.dpos > dpos:
                self._trace("<<", dst[dpos:p.dpos])
            self._trace("<", p.text if ev == _EV_LINE else _EV_NAMES[ev] + self._code_text(ev))
        if ev == _EV_LINE:
            self._on_line(p.text)
            return ev
        if ev == _EV_CONNECT and not self._cmd_active:
            p.reset()  # noise spelling CONNECT: nothing asked for data mode
            return _EV_NONE
        ch = self._mapped
        if ev == _EV_SHUTDOWN:
            if ch is not None:
                ch.eof = True
            return ev
        if ev == _EV_OK or ev == _EV_ERROR:
            code = p.code if ev == _EV_ERROR else 0
            if ch is not None and (was != _MODE_AT or ch.proto == KIND_FILE):
                self._mapped = None
                ch._unmapped(code)
            elif not self._cmd_active and ev == _EV_ERROR:
                self._async_err = code  # D8: unsolicited error while nothing waits
                self._dispatch("+CME ERROR: %d" % code)
        return ev

    def _code_text(self, ev):
        return " %d" % self._parser.code if ev == _EV_ERROR else ""

    def _pump(self, deadline):
        """Process input until one event; return it, or EV_NONE once the deadline passed."""
        p = self._parser
        while True:
            if self._rpos == self._rend and not self._fill(deadline):
                return _EV_NONE
            ch = self._mapped
            if p.mode == _MODE_DATA:
                if ch is None:
                    buf, pos, end = self._scratch, 0, len(self._scratch)
                else:
                    buf, pos, end = ch._sink()
                ev = self._feed(buf, pos, end)
                if ch is not None:
                    ch._sunk(p.dpos)
                    if ev == _EV_ETX and ch.proto == _P_UDP:
                        ch._dgram_end()
            else:
                ev = self._feed(None, 0, 0)
            if ev != _EV_NONE:
                return ev

    def _drain(self):
        """Process input that is already there, without waiting."""
        now = ticks_ms()
        while self._pump(now) != _EV_NONE:
            pass

    def wait_for(self, predicate, timeout):
        """Run the receive loop (in AT mode) until predicate() is true or timeout seconds."""
        self._leave()
        deadline = self._deadline(self._ms(timeout))
        while not predicate():
            if self._pump(deadline) == _EV_NONE:
                return bool(predicate())
        return True

    # ---- URCs -------------------------------------------------------------------------

    def on_urc(self, prefix, callback):
        """Call callback(line) for each URC line that starts with prefix."""
        self._urc_cbs.append((prefix, callback))

    def _dispatch(self, text):
        for prefix, cb in self._urc_cbs:
            if text.startswith(prefix):
                cb(text)

    def _on_line(self, text):
        urc = True
        if text.startswith("+WIPDATA:"):
            f = split_fields(text)
            proto = parse_int(f[0])
            idx = parse_int(f[1]) if len(f) > 1 else 0
            if proto == _P_TCP and 0 < idx < 9 and self._tcp[idx] is not None:
                n = parse_int(f[2]) if len(f) > 2 else 1
                self._tcp[idx].hint = n if n > 0 else 1  # D59: a hint only
            elif proto == _P_UDP and 0 < idx < 9 and self._udp[idx] is not None and len(f) > 4:
                self._udp[idx].dgram = (parse_int(f[2]), unquote(f[3]), parse_int(f[4]))
        elif text.startswith("+WIPREADY:"):
            self._flag(text, _F_READY)
        elif text.startswith("+WIPACCEPT:"):
            f = split_fields(text)
            self._accepted(parse_int(f[0]), parse_int(f[1]) if len(f) > 1 else 0)
        elif text.startswith("+WIPPEERCLOSE:"):
            self._flag(text, _F_PEERCLOSED)
        elif text.startswith("+WIPBR:"):
            f = split_fields(text)
            if len(f) >= 6:  # server-mode bearer URC (D20); 3 fields = info line
                self.bearer_up = parse_int(f[1], -1) == 0
            else:
                urc = False
        elif text.startswith("+WIND:"):
            self._wind(parse_int(split_fields(text)[0]))
        elif not (text.startswith("+WIPPING:") or text.startswith("+WIPFILE:")):
            urc = False
        if urc:
            self._dispatch(text)
        elif self._cmd_active:
            self._info.append(text)

    def _flag(self, text, bit):
        f = split_fields(text)
        proto = parse_int(f[0])
        idx = parse_int(f[1]) if len(f) > 1 else 0
        key = proto * 16 + idx
        self._flags[key] = self._flags.get(key, 0) | bit
        ch = self._obj(proto, idx)
        if ch is not None:
            if bit == _F_READY:
                ch.ready = True
            else:
                ch.peer_closed = True

    def _obj(self, proto, idx):
        if 0 < idx < 9:
            if proto == _P_TCP:
                return self._tcp[idx]
            if proto == _P_UDP:
                return self._udp[idx]
            if proto == _P_SRV and idx < 5:
                return self._srv[idx]
        return None

    def _accepted(self, sidx, cidx):
        srv = self._srv[sidx] if 0 < sidx < 5 else None
        if srv is None or not 0 < cidx < 9:
            return
        from .socket import Socket

        conn = Socket(self, 1)
        conn._attach(_P_TCP, cidx)
        conn.ready = True
        conn.server = srv
        self._tcp[cidx] = conn
        srv.acceptq.append(conn)

    def _wind(self, n):
        # §8: +WIND: 3 then +WIND: 4 on every boot; count each boot once.
        if n == 3 or (n == 4 and not self._wind3):
            if not self._starting:
                self.reboots += 1
            self._lost(843)
            self.started = False
        self._wind3 = n == 3

    def _lost(self, code):
        """Every socket is gone (reboot, stack or bearer stop): mark them dead, free indices."""
        for table in (self._tcp, self._udp, self._srv):
            for i in range(len(table)):
                ch = table[i]
                if ch is not None:
                    ch.dead = ch.dead or code
                    ch.idx = 0
                    table[i] = None
        for i in range(9):
            self._resv[i] = None
        self._mapped = None
        self.bearer_up = False

    def peer_closed(self, proto, idx):
        """True once +WIPPEERCLOSE was seen for (proto, idx) since its creation."""
        return bool(self._flags.get(proto * 16 + idx, 0) & _F_PEERCLOSED)

    def wait_ready(self, proto, idx, timeout=None):
        """Wait for +WIPREADY: proto,idx; WipError for an unsolicited +CME ERROR (D8)."""
        key = proto * 16 + idx
        self._leave()
        deadline = self._deadline(self._ms(timeout))
        while not self._flags.get(key, 0) & _F_READY:
            if self._async_err:
                code = self._async_err
                self._async_err = 0
                raise WipError(code)
            if self._pump(deadline) == _EV_NONE:
                raise timeout_error()

    # ---- commands ---------------------------------------------------------------------

    def quote(self, value):
        """'"value"', or ValueError for '"', CR, LF, NUL or a non-printable character (§1.5)."""
        if not isinstance(value, str):
            raise ValueError("string parameter expected")
        for c in value:
            o = ord(c)
            if o < 32 or o > 126 or o == 34:
                raise ValueError("character not allowed in an AT string: %r" % c)
        return '"' + value + '"'

    def mask(self, secret):
        """Replace secret by *** in the debug transcript."""
        if secret and secret not in self._masks:
            self._masks.append(secret)

    def command(self, cmd, timeout=None):
        """Send "AT" + cmd + CR; return the information lines of the reply; WipError on error."""
        if cmd[:2] in ("AT", "at", "At", "aT"):
            cmd = cmd[2:]
        for c in cmd:
            if c == "\r" or c == "\n" or c == "\0":
                raise ValueError("line break in a command")
        self._leave()
        self._drain()
        if cmd.startswith("+WIPCREATE=") or cmd.startswith("+WIPCLOSE="):
            f = split_fields(cmd.replace("=", ":", 1))
            if len(f) > 1:
                self._flags.pop(parse_int(f[0]) * 16 + parse_int(f[1]), None)
                self._async_err = 0
        if cmd.startswith("+WIPFILE="):
            self._parser.kind = KIND_FILE
        deadline = self._deadline(self._ms(timeout))
        if self.debug:
            self._trace(">", "AT" + cmd)
        self._write(b"AT" + cmd.encode() + b"\r")
        info = self._result(deadline)
        if self._connected and not (cmd.startswith("+WIPDATA=") or cmd.startswith("+WIPFILE=")):
            self._parser.reset()
            raise WipError(-1, "unexpected CONNECT")
        return info

    def _result(self, deadline):
        self._cmd_active = True
        self._connected = False
        self._info = []
        try:
            while True:
                ev = self._pump(deadline)
                if ev == _EV_OK:
                    return self._info
                if ev == _EV_ERROR:
                    raise WipError(self._parser.code)
                if ev == _EV_CONNECT:
                    self._connected = True
                    return self._info
                if ev == _EV_NONE:
                    raise timeout_error()
        finally:
            self._cmd_active = False

    def file_open(self, args, timeout=None):
        """``AT+WIPFILE=<args>``; a FileTransfer once CONNECT came, else WipError (D49)."""
        ms = self._ms(timeout)
        self.command("+WIPFILE=" + args, timeout)
        if not self._connected:
            raise WipError(-1, "no CONNECT")
        from .filexfer import FileTransfer

        ft = FileTransfer(self, ms)
        self._mapped = ft
        return ft

    # ---- data mode --------------------------------------------------------------------

    def _map(self, ch):
        """Map ch in continuous mode (AT+WIPDATA=p,i,1), leaving any other mapping."""
        if self._mapped is ch:
            return
        self._leave()
        self._parser.kind = ch.proto
        try:
            self.command("+WIPDATA=%d,%d,1" % (ch.proto, ch.idx))
        except WipError as exc:
            if exc.code in (842, 843):
                ch.dead = exc.code  # D55: the socket is dead but allocated
            raise
        if not self._connected:
            raise WipError(-1, "no CONNECT")
        self._mapped = ch
        ch._on_map()

    def _leave(self):
        """Back to AT mode: guard, "+++", guard, OK (D62); in-flight data kept (§3.10)."""
        ch = self._mapped
        if ch is None:
            return
        p = self._parser
        for _ in range(2):
            guard_end = ticks_add(self._tx_t, self.guard_ms + 5)
            while self._mapped is ch and self._left(guard_end):
                self._pump(guard_end)
            if self._mapped is not ch:
                return
            p.escaping = True
            if self.debug:
                self._trace(">", "+++")
            self._write(b"+++")
            deadline = self._deadline(3 * self.guard_ms + 2000)
            while self._mapped is ch:
                if self._pump(deadline) == _EV_NONE:
                    break
            if self._mapped is not ch:
                return
            p.escaping = False
        self._mapped = None
        self.resync()

    def resync(self):
        """Guarded "+++", then "AT" until OK: back to a known AT-mode state (spec §8 step 1)."""
        self._mapped = None
        self._parser.reset()
        sleep_ms(max(0, self.guard_ms - ticks_diff(ticks_ms(), self._tx_t)) + 5)
        if self.debug:
            self._trace(">", "+++ (resync)")
        self._write(b"+++")
        settle = self._deadline(self.guard_ms + 200)
        while self._pump(settle) != _EV_NONE:
            pass
        deadline = self._deadline(self.timeout_ms)
        while True:
            self._parser.reset()
            if self.debug:
                self._trace(">", "AT")
            self._write(b"AT\r")
            wait = self._deadline(min(500, max(self._left(deadline), 1)))
            while True:
                ev = self._pump(wait)
                if ev == _EV_OK:
                    return
                if ev == _EV_NONE:
                    break
            if self._left(deadline) == 0:
                raise timeout_error()

    # ---- life cycle -------------------------------------------------------------------

    def start(self):
        """Sync with the module and start the IP stack (spec §8 "Recommended driver init")."""
        self._starting = True
        try:
            self._lost(843)
            self.resync()
            self.command("E0")
            self.command("+CMEE=1")
            try:
                self.command("+WIPCFG=1")
            except WipError as exc:
                if exc.code != 844:  # already started (D14)
                    raise
            self._drain()
        finally:
            self._starting = False
        self.started = True

    def gprs(self, apn, user="", password="", timeout=None):
        """Open, configure and start the GPRS bearer (bid 6); return the local IP address."""
        q_apn = self.quote(apn)
        q_user = self.quote(user)
        q_pass = self.quote(password)
        self.mask(password)
        try:
            self.command("+WIPBR=1,6")
        except WipError as exc:
            if exc.code != 804:  # already open (D19)
                raise
        self.command("+WIPBR=2,6,11," + q_apn)
        self.command("+WIPBR=2,6,0," + q_user)
        self.command("+WIPBR=2,6,1," + q_pass)
        try:
            self.command("+WIPBR=4,6,0", timeout)
        except WipError as exc:
            if exc.code != 803 or "6,1" not in [ln.replace(" ", "") for ln in
                                                self._bearer_lines()]:
                raise
        self.bearer_up = True
        return self.bearer_option(15)

    def _bearer_lines(self):
        return [ln[ln.find(":") + 1:] if ln.startswith("+WIPBR:") else ln
                for ln in self.command("+WIPBR?")]

    def bearer_option(self, opt, bid=6):
        """``AT+WIPBR=3,bid,opt``: the value (str for strings, else int)."""
        for line in self.command("+WIPBR=3,%d,%d" % (bid, opt)):
            f = split_fields(line)
            if len(f) >= 3:
                v = f[2]
                return unquote(v) if v.startswith('"') else parse_int(v)
        raise WipError(-1, "no +WIPBR reply")

    def stop_gprs(self):
        """Stop and close the GPRS bearer; every socket is released (D24)."""
        self._leave()
        self.command("+WIPBR=0,6")
        self._lost(831)

    def stop(self):
        """Stop the IP stack (releases everything, D16)."""
        self._leave()
        self.command("+WIPCFG=0")
        self._lost(803)
        self.started = False

    def version(self):
        """``AT+WIPCFG=3``: the two version lines joined by a newline (D15)."""
        return "\n".join(self.command("+WIPCFG=3"))

    def config(self, opt=None, value=None):
        """Stack options: config() -> {opt: value}; config(opt) -> int; config(opt, v) sets."""
        if value is not None:
            self.command("+WIPCFG=2,%d,%d" % (opt, value))
            return None
        table = {}
        for line in self.command("+WIPCFG?"):
            f = split_fields(line)
            if len(f) >= 2:
                table[parse_int(f[0])] = parse_int(f[1])
        return table if opt is None else table[opt]

    # ---- sockets ----------------------------------------------------------------------

    def socket(self, type=1, proto=0):
        """A new Socket (SOCK_STREAM or SOCK_DGRAM); nothing is sent until it is used."""
        from .socket import Socket

        return Socket(self, type)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        """socket.getaddrinfo's shape. The module resolves names itself (at create time)."""
        self.quote(host)
        if type == 2:
            return [(2, 2, 17, "", (host, port))]
        return [(2, 1, 6, "", (host, port))]

    def _free_index(self, table, lo, hi):
        for i in range(lo, hi + 1):
            if table[i] is None and (table is not self._tcp or self._resv[i] is None):
                return i
        raise OSError(105, "no free socket index")  # ENOBUFS

    def _release_range(self, srv):
        """Free a closed server's TCP range once all its connections are closed (D31)."""
        if not srv.closed or srv.range is None:
            return
        a, b = srv.range
        for i in range(a, b + 1):
            ch = self._tcp[i]
            if ch is not None and ch.server is srv:
                return
        for i in range(a, b + 1):
            if self._resv[i] is srv:
                self._resv[i] = None
        srv.range = None

    def _recv(self, ch, dst, n, tmo):
        """TCP: up to n bytes into dst; 0 at EOF. The receive hot path: no allocation."""
        if n <= 0:
            return 0
        deadline = None if tmo < 0 else ticks_add(ticks_ms(), tmo)
        p = self._parser
        while True:
            if ch.p1 > ch.p0:
                return ch._take(dst, n)
            if ch.dead:
                raise WipError(ch.dead)
            if ch.eof:
                return 0
            if self._mapped is not ch:
                self._map_for_recv(ch, tmo)
                continue
            if self._rpos == self._rend and not self._fill(deadline):
                raise again_error() if tmo == 0 else timeout_error()
            if p.mode == _MODE_DATA:
                self._feed(dst, 0, n)
                if p.dpos:
                    return p.dpos
            else:
                self._feed(None, 0, 0)

    def _map_for_recv(self, ch, tmo):
        if ch.idx == 0:
            raise OSError(107, "socket not connected")  # ENOTCONN
        if tmo == 0 and not (ch.hint or ch.peer_closed):
            # Non-blocking: URCs (AT mode) say whether anything is waiting (D59).
            self._leave()
            self._drain()
            if not (ch.hint or ch.peer_closed or ch.dead):
                raise again_error()
            if ch.dead:
                return
        self._map(ch)

    def _send(self, ch, data, start, end):
        if ch.dead:
            raise WipError(ch.dead)
        if ch.idx == 0:
            raise OSError(107, "socket not connected")
        self._map(ch)
        self._send_encoded(data, start, end)

    def _recvfrom(self, ch, tmo):
        """UDP: the next datagram and its sender (D57, D58, D66)."""
        deadline = None if tmo < 0 else ticks_add(ticks_ms(), tmo)
        while True:
            if ch.dq:
                return ch.dq.pop(0)
            if ch.dead:
                raise WipError(ch.dead)
            if ch.idx == 0:
                raise OSError(107, "socket not created")
            if self._mapped is ch and (ch.sender is not None or ch.p1 > ch.p0):
                lim = deadline
                if ch.peer is None and ch.p1 == ch.p0:
                    lim = ticks_add(ticks_ms(), self.udp_linger_ms)
                    if deadline is not None and ticks_diff(deadline, lim) < 0:
                        lim = deadline
                if self._pump(lim) == _EV_NONE:
                    if deadline is None or self._left(deadline):
                        self._leave()  # lingered: listen for other senders (D66)
                        continue
                    raise again_error() if tmo == 0 else timeout_error()
                continue
            if ch.dgram is not None or (ch.peer is not None and tmo != 0):
                self._map(ch)
                continue
            self._leave()
            if self._pump(deadline) == _EV_NONE:
                raise again_error() if tmo == 0 else timeout_error()


    # ---- optional parts, imported on first use ----------------------------------------

    def http_request(self, method, url, data=None, headers=None, **kwargs):
        """wip.http.request(self, ...): one HTTP request (+WIPFILE on an HTTP session)."""
        from . import http

        return http.request(self, method, url, data, headers, **kwargs)

    def http_get(self, url, headers=None, **kwargs):
        return self.http_request("GET", url, None, headers, **kwargs)

    def ftp(self, host, user, password, port=21, passive=True, binary=True, **kwargs):
        from . import ftp

        return ftp.FTP(self, host, user, password, port, passive, binary, **kwargs)

    def smtp(self, host, port=25, user=None, password=None, **kwargs):
        from . import smtp

        return smtp.SMTP(self, host, port, user, password, **kwargs)

    def pop3(self, host, user, password, port=110, **kwargs):
        from . import pop3

        return pop3.POP3(self, host, user, password, port, **kwargs)

    def ping(self, host, count=4, interval_ms=1000, timeout_ms=2000, size=32, ttl=64):
        from . import ping

        return ping.ping(self, host, count, interval_ms, timeout_ms, size, ttl)

    def socket_module(self):
        """A `socket`-module lookalike on this modem (wip.shim), for umqtt/requests."""
        from . import shim

        return shim.socket_module(self)


_EV_NAMES = ("", "", "OK", "ERROR", "CONNECT", "[ETX]", "SHUTDOWN")
