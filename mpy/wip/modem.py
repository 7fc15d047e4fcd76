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
  leaves data mode first: guard silence, ``+++``, guard silence, ``OK`` (D62), and, if
  payload was still arriving after the ``+++``, max(20 ms, G / 5) of quiet that tells the
  module's ``OK`` from payload spelling it (see ``_leave``). Payload bytes still arriving
  before that ``OK`` are kept in the socket's pending buffer, never dropped.
  Outgoing payload is encoded with ``escape_more`` so a ``+++`` in the data can never be
  taken for the escape, and 'T'/'t' are DLE-escaped too so payload still in flight when the
  module drops to AT mode by itself can never spell a command. Transparent mode is not used.
  A blocking ``recv`` maps its socket at once; a non-blocking one on an unmapped socket
  first leaves data mode (if another socket is mapped) to read the ``+WIPDATA`` URCs (D59),
  so polling many sockets costs two guard times per switch.
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

import sys

try:
    from time import sleep_ms, ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    from ._compat import sleep_ms, ticks_add, ticks_diff, ticks_ms


try:
    from micropython import const
except ImportError:  # CPython
    from ._compat import const


from . import codec
from .errors import WipError, again_error, timeout_error
from .parser import parse_int, split_fields, unquote

_EV_NONE = const(0)
_EV_LINE = const(1)
_EV_OK = const(2)
_EV_ERROR = const(3)
_EV_CONNECT = const(4)
_EV_ETX = const(5)
_EV_SHUTDOWN = const(6)
_EV_MAYBE_OK = const(7)
_MODE_AT = const(0)
_MODE_DATA = const(1)
_P_UDP = const(1)
_P_TCP = const(2)
_P_SRV = const(3)
_F_READY = const(1)
_F_PEERCLOSED = const(2)
_KIND_FILE = const(4)


class Modem:
    """A WIP Soft module on a byte stream. See the module docstring for the mapping.

    ``stream``: machine.UART, ``wip.tcp_stream(...)``, ``wip.serial_stream(...)`` or anything
    with non-blocking ``readinto``/``write``. ``timeout``: seconds for each AT command.
    ``guard_time``: the module's ``+++`` guard G (1.0 on hardware; the simulator's
    ``--guard-time``). Buffers, allocated once here: ``rx_size`` (raw input), ``tx_size``
    (escaped output, half of it is payload per write), ``line_size`` (longest AT line kept),
    ``pending_size`` (per socket: payload that arrived while the app was not reading it;
    grows when needed rather than drop a byte). The defaults are lean (RAM on a small board);
    raise rx_size/tx_size (e.g. 2048) for throughput at high baud rates. ``debug``:
    ``callable(direction, text)`` gets the transcript (">" commands, "<" lines, ">>"/"<<"
    payload; masked secrets).
    ``udp_linger``: seconds an unconnected UDP socket stays mapped waiting for more from
    the same sender (D66; default 2 * guard_time).
    """

    # Methods kept in other modules (see __getattr__ and _lookup): set-up in wip._setup, rare
    # calls in wip._control, the service helpers' entry points in their modules.
    _ELSEWHERE = (" resync=_setup start=_setup gprs=_setup bearer_option=_setup"
                  " wait_ready=_setup stop_gprs=_control stop=_control version=_control"
                  " config=_control getaddrinfo=_control file_open=_control wait_for=_control"
                  " on_urc=_control mask=_control"
                  " http_request=http:request http_get=http:get ftp=ftp:FTP smtp=smtp:SMTP"
                  " pop3=pop3:POP3 ping=ping socket_module=shim ")

    def __init__(self, stream, timeout=10, guard_time=1.0, rx_size=256, line_size=256,
                 pending_size=256, tx_size=256, debug=None, udp_linger=None):
        self.timeout_ms = int(timeout * 1000)
        self.guard_ms = int(guard_time * 1000)
        linger = 2 * guard_time if udp_linger is None else udp_linger
        self.udp_linger_ms = int(linger * 1000)
        self.pending_size = pending_size
        self.debug = debug
        self.bearer_up = False
        self.reboots = 0
        self.started = False
        _call(self, "_setup", "_init", stream, rx_size, line_size, tx_size)  # buffers, state

    # ---- time -------------------------------------------------------------------------
    # Argument t: milliseconds in _deadline/_wait; elsewhere a deadline (ticks_ms or None).

    def _deadline(self, t):
        return None if t is None or t < 0 else ticks_add(ticks_ms(), t)

    def _left(self, t):
        if t is None:
            return -1
        d = ticks_diff(t, ticks_ms())
        return d if d > 0 else 0

    # ---- raw I/O ----------------------------------------------------------------------

    def _fill(self, t):
        """Read into the (empty) rx buffer; False if deadline t passed without a byte."""
        stream = self._stream
        rx = self._rx
        poller = self._poll
        while True:
            n = stream.readinto(rx)
            if n:
                self._rpos = 0
                self._rend = n
                return True
            left = self._left(t)
            if left == 0:
                return False
            if poller is None:
                sleep_ms(1 if left < 0 or left > 1 else left)
            elif self._ipoll:
                for _ in poller.ipoll(left):
                    break
            else:
                poller.poll(left)

    def _write(self, data):
        """Write all of data; read input meanwhile if the stream stalls (no deadlock).

        Afterwards ``_tx_t0`` is the time just before the call that took the last byte (it
        cannot have left earlier) and ``_tx_t`` the time the call returned (it has left)."""
        stream = self._stream
        n = len(data)
        t0 = ticks_ms()
        k = stream.write(data)
        if k is None:
            k = 0
        if k < n:
            mv = memoryview(data)
            deadline = self._deadline(self.timeout_ms)
            while k < n:
                if self._left(deadline) == 0:
                    raise timeout_error()
                # The module may be blocked writing to us: take its output meanwhile (no
                # loss), unless the mapped socket already holds plenty unread.
                ch = self._mapped
                if ch is None or ch.proto == _KIND_FILE or ch.p1 - ch.p0 <= 4 * self.pending_size:
                    self._pump(ticks_ms())
                sleep_ms(1)
                t0 = ticks_ms()
                w = stream.write(mv[k:])
                if w:
                    k += w
        self._tx_t0 = t0
        self._tx_t = ticks_ms()

    def _send_encoded(self, data, start=0, end=None):
        """Encode data[start:end] for data mode (``escape_more``, see wip.codec) and write it.

        Escaped beyond the two control bytes (any byte may follow a DLE, D65): '+' so a
        payload "+++" is never the escape (D62), and 'T'/'t' so the wire never holds "AT":
        payload still in flight when the module drops to AT mode on its own (reset, bearer
        loss, reboot: D55, D24) can then never form a command line (D3 drops lines without
        "AT"). data: bytes, bytearray, memoryview or str.
        """
        if isinstance(data, str):  # MicroPython streams take str too (requests does)
            data = data.encode()
            start, end = 0, None
        if end is None:
            end = len(data)
        if self.debug:
            _call(self, "_debug", "_trace", ">>", data[start:end])
        tx = self._tx
        room = len(tx) // 2  # every byte may take two
        enc = codec.encode
        while start < end:
            seg = end if end - start <= room else start + room
            self._write(self._txmv[:enc(data, start, seg, tx, 0, True)])
            start = seg

    # ---- the receive loop -------------------------------------------------------------

    def _feed(self, buf, pos, end):
        """One parser step over the rx buffer; applies the event to the modem state."""
        p = self._parser
        was = p.mode
        ev = p.feed(self._rx, self._rpos, self._rend, buf, pos, end)
        self._rpos = p.pos
        if self.debug:
            _call(self, "_debug", "_trace_feed", ev, buf, pos)
        if ev == _EV_NONE:
            return ev
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
            if ch is not None and (was != _MODE_AT or ch.proto == _KIND_FILE):
                self._mapped = None
                ch._unmapped(code)
                if code:  # leftover payload may draw replies: resync first (D3)
                    self._stale = True
            elif not self._cmd_active and ev == _EV_ERROR:
                self._async_err = code  # D8: unsolicited error while nothing waits
                self._on_line("+CME ERROR: %d" % code)
        return ev

    def _pump(self, t, strict=False):
        """Process input until one event; return it, or EV_NONE once deadline t passed.

        Input that keeps streaming is read past t unless strict: then only bytes read
        before t are processed; bytes a read returns later (this thread got the CPU back
        late) stay in the rx buffer for the caller's next step."""
        p = self._parser
        while True:
            if self._rpos == self._rend:
                if strict and not self._left(t) or not self._fill(t):
                    return _EV_NONE
                if strict and not self._left(t):
                    return _EV_NONE
            ch = self._mapped
            if p.mode == _MODE_DATA:
                if ch is None:
                    buf, pos, end = self._scratch, 0, len(self._scratch)
                else:
                    buf, pos, end = ch._sink()
                ev = self._feed(buf, pos, end)
                if ch is not None and ch.proto != _KIND_FILE:
                    ch.p1 = p.dpos  # the payload now ends there
                    if ev == _EV_ETX and ch.proto == _P_UDP:
                        _call(ch, "_udp", "_dgram_end")
            else:
                ev = self._feed(None, 0, 0)
            if ev != _EV_NONE:
                return ev

    # ---- URCs (Modem.on_urc registers a callback: wip._control) -------------------------

    def _on_line(self, text):
        """An information line (kept for the command waiting) or a URC (acted on, then handed
        to the on_urc callbacks)."""
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
        elif text.startswith("+WIPREADY:") or text.startswith("+WIPPEERCLOSE:"):
            f = split_fields(text)
            proto = parse_int(f[0])
            idx = parse_int(f[1]) if len(f) > 1 else 0
            flag = _F_READY if text[4] == "R" else _F_PEERCLOSED
            key = proto * 16 + idx
            self._flags[key] = self._flags.get(key, 0) | flag
            ch = None
            if 0 < idx < 9:
                if proto == _P_TCP:
                    ch = self._tcp[idx]
                elif proto == _P_UDP:
                    ch = self._udp[idx]
                elif proto == _P_SRV and idx < 5:
                    ch = self._srv[idx]
            if ch is not None:
                if flag == _F_READY:
                    ch.ready = True
                else:
                    ch.peer_closed = True
        elif text.startswith("+WIPACCEPT:"):
            f = split_fields(text)
            _call(self, "_control", "_accepted", parse_int(f[0]),
                  parse_int(f[1]) if len(f) > 1 else 0)
        elif text.startswith("+WIPBR:"):
            f = split_fields(text)
            if len(f) >= 6:  # server-mode bearer URC (D20); 3 fields = info line
                self.bearer_up = parse_int(f[1], -1) == 0
            else:
                urc = False
        elif text.startswith("+WIND:"):
            _call(self, "_setup", "_wind", parse_int(split_fields(text)[0]))
        elif not (text.startswith("+WIPPING:") or text.startswith("+WIPFILE:")
                  or text.startswith("+CME ERROR")):  # the last one: from _feed, D8
            urc = False
        if urc:
            for prefix, callback in self._urc_cbs:
                if text.startswith(prefix):
                    callback(text)
        elif self._cmd_active:
            self._info.append(text)

    def peer_closed(self, proto, idx):
        """True once +WIPPEERCLOSE was seen for (proto, idx) since its creation."""
        return bool(self._flags.get(proto * 16 + idx, 0) & _F_PEERCLOSED)

    # ---- commands ---------------------------------------------------------------------

    def quote(self, value):
        """'"value"', or ValueError for '"', CR, LF, NUL or a non-printable character (§1.5)."""
        if not isinstance(value, str):
            raise ValueError("string parameter expected")
        for o in value.encode():  # bytes: iterating a str would intern each char as a qstr
            if o < 32 or o > 126 or o == 34:
                raise ValueError("byte 0x%02x not allowed in an AT string" % o)
        return '"' + value + '"'

    def command(self, cmd, timeout=None):
        """Send "AT" + cmd + CR; return the information lines of the reply; WipError on error."""
        if cmd[:2].upper() == "AT":
            cmd = cmd[2:]
        if "\r" in cmd or "\n" in cmd or "\0" in cmd:
            raise ValueError("line break in a command")
        self._leave()
        if self._stale:
            self.resync()
        now = ticks_ms()
        while self._pump(now) != _EV_NONE:  # input already there: URCs first
            pass
        head = cmd[:cmd.find("=") + 1]
        if head == "+WIPCREATE=" or head == "+WIPCLOSE=":
            f = split_fields(cmd.replace("=", ":", 1))
            if len(f) > 1:
                self._flags.pop(parse_int(f[0]) * 16 + parse_int(f[1]), None)
                self._async_err = 0
        if head == "+WIPFILE=":
            self._parser.kind = _KIND_FILE
        if self.debug:
            _call(self, "_debug", "_trace", ">", "AT" + cmd)  # masks a password first
        deadline = self._deadline(self.timeout_ms if timeout is None else int(timeout * 1000))
        self._write(b"AT" + cmd.encode() + b"\r")
        self._cmd_active = True
        self._connected = False
        info = self._info = []
        try:
            while True:
                ev = self._pump(deadline)
                if ev == _EV_OK:
                    break
                if ev == _EV_ERROR:
                    raise WipError(self._parser.code)
                if ev == _EV_CONNECT:
                    self._connected = True
                    break
                if ev == _EV_NONE:
                    raise timeout_error()
        finally:
            self._cmd_active = False
        if self._connected and not (head == "+WIPDATA=" or head == "+WIPFILE="):
            self._parser.reset()
            raise WipError(-1, "unexpected CONNECT")
        return info

    # ---- data mode --------------------------------------------------------------------

    def _map(self, s):
        """Map s in continuous mode (AT+WIPDATA=p,i,1), leaving any other mapping."""
        if self._mapped is s:
            return
        self._leave()
        self._parser.kind = s.proto
        try:
            self.command("+WIPDATA=%d,%d,1" % (s.proto, s.idx))
        except WipError as exc:
            if exc.code in (842, 843):
                s.dead = exc.code  # D55: the socket is dead but allocated
            raise
        if not self._connected:
            raise WipError(-1, "no CONNECT")
        self._mapped = s
        s.hint = 0
        if s.proto == _P_UDP:
            d = s.dgram
            s.sender = (d[1], d[2]) if d is not None else s.peer  # D66
            s.dgram = None

    def _leave(self):
        """Back to AT mode: guard, "+++", OK (D62); in-flight data stays with the socket (§3.10).

        The guard counts from when the last byte left: a stream with ``flush()``
        (machine.UART, TcpStream) is drained first (flow control). The module cannot answer
        "+++" sooner than G after the third "+" (§3.9), so every byte read within 0.9 G of
        the instant before the "+++" was written is payload, a peer's CR LF OK CR LF
        included; only bytes read later are searched for the OK (the hold-back of §3.9
        leaves just the bytes already on the wire). Both ends of that window are taken
        where a late wake-up of this thread can only shift bytes to the later side.
        Margin G + max(10 ms, G / 10): scheduling and clock differences.

        A CR LF OK CR LF found then is a candidate, as the payload still on the wire can
        spell it too (Appendix B). It is the module's OK once the line has stayed quiet for
        max(20 ms, G / 5) after it: the module sends only URC lines after its OK, while the
        rest of the payload in flight follows at once, and a later OK makes the earlier one
        payload. (The wire ends less than 0.1 G before the OK: what is read after the window
        was sent before the first "+" arrived, and the OK G after the last one.) When the
        window brought nothing and the line is empty at its end, the first OK is taken at
        once: nothing can be in flight.
        """
        ch = self._mapped
        if ch is None:
            return
        p = self._parser
        g = self.guard_ms
        flush = getattr(self._stream, "flush", None)
        for _ in range(2):
            if flush is not None:
                t = ticks_ms()
                flush()
                if ticks_diff(ticks_ms(), t) > 1:  # it waited: the last byte left just now
                    self._tx_t = ticks_ms()
            t = ticks_add(self._tx_t, g + max(10, g // 10))
            while self._mapped is ch and self._left(t):
                self._pump(t)
            if self._mapped is not ch:
                return
            if self.debug:
                _call(self, "_debug", "_trace", ">", "+++")
            self._write(b"+++")
            sock = ch.proto != _KIND_FILE
            held = ch.p1 - ch.p0 if sock else 0
            heard = False
            # Counted from before the write() that took the last "+": the "+++" left then or
            # later, so its OK cannot arrive before the window ends, however late this thread
            # got the CPU back after write() (timed from after it, the OK once came in as
            # payload).
            t = ticks_add(self._tx_t0, g * 9 // 10)
            while self._mapped is ch and self._left(t):
                if self._pump(t, True) != _EV_NONE:
                    heard = True
            if self._mapped is not ch:
                return
            # Nothing came in the window and a read now finds nothing: no payload is left on
            # the wire (the module holds back after the first "+", §3.9), so the first OK
            # needs no quiet time.
            idle = (sock and not heard and ch.p1 - ch.p0 == held and not p.st[0]
                    and self._rpos == self._rend and not self._fill(t))
            p.escaping = True
            end = t = self._deadline(2 * g + 1000)
            while self._mapped is ch:
                ev = self._pump(t)
                if p.after < 0:
                    if ev == _EV_NONE:
                        break  # no OK in time
                    t = end
                elif idle:
                    self._settle(ch, p.after)
                elif ev == _EV_MAYBE_OK:  # input goes on: the quiet time starts again
                    t = ticks_add(ticks_ms(), max(20, g // 5))
                else:  # quiet since the candidate: the module's OK
                    self._settle(ch, p.after)
            if self._mapped is not ch:
                return
            p.escaping = False
        if not self.resync():  # "+++" unanswered, "AT" answered: left data mode unseen
            _call(self, "_setup", "_rebooted", ch)

    def _settle(self, ch, n):
        """The candidate OK was the module's (D62): AT mode. The n bytes the parser wrote since
        it began (the OK, then what followed it: URCs) leave the payload; what followed is
        parsed again as AT lines."""
        if self.debug:
            _call(self, "_debug", "_trace", "<", "OK (the last OK? was the module's)")
        self._parser.reset()
        self._mapped = None
        ch._unmapped(0)
        if ch.proto == _KIND_FILE:  # (its payload is dropped anyway, D52)
            return
        ch.p1 -= n
        n -= 6
        if n > 0:
            rx = self._rx
            if n > len(rx):
                n = len(rx)
            rx[0:n] = memoryview(ch.pbuf)[ch.p1 + 6:ch.p1 + 6 + n]
            self._rpos = 0
            self._rend = n

    @property
    def mapped(self):
        """The socket now in data mode (AT+WIPDATA), or None (AT mode)."""
        return self._mapped

    # ---- set-up and rare calls: the code is in modules imported per call (see _call) -----

    def __getattr__(self, name):
        """The methods named in _ELSEWHERE: ``wip.<module>.<function>(self, ...)``.

        One function here instead of a forwarding method each (RAM); modem.pyi and
        docs/api.md document them.
        """
        where = _lookup(self._ELSEWHERE, name)
        if where is None:
            raise AttributeError(name)
        return lambda *args, **kwargs: _call(self, where[0], where[1], *args, **kwargs)

    # ---- sockets ----------------------------------------------------------------------

    def socket(self, type=1, proto=0):
        """A new Socket (SOCK_STREAM or SOCK_DGRAM); nothing is sent until it is used."""
        from .socket import Socket

        return Socket(self, type)

    def _recv(self, s, buf, n, timeout):
        """TCP: up to n bytes into buf; 0 at EOF. The receive hot path: no allocation."""
        if n <= 0:
            return 0
        deadline = None if timeout < 0 else ticks_add(ticks_ms(), timeout)
        p = self._parser
        while True:
            if s.p1 > s.p0:
                return s._take(buf, n)
            if s.dead:
                raise WipError(s.dead)
            if s.eof:
                return 0
            if self._mapped is not s:
                if s.idx == 0:
                    raise OSError(107, "socket not connected")  # ENOTCONN
                if timeout == 0 and not (s.hint or s.peer_closed):
                    # Non-blocking: URCs (AT mode) say whether anything is waiting (D59).
                    self._leave()
                    now = ticks_ms()
                    while self._pump(now) != _EV_NONE:
                        pass
                    if not (s.hint or s.peer_closed or s.dead):
                        raise again_error()
                    if s.dead:
                        continue
                self._map(s)
                continue
            if self._rpos == self._rend and not self._fill(deadline):
                raise again_error() if timeout == 0 else timeout_error()
            if p.mode == _MODE_DATA:
                self._feed(buf, 0, n)
                k = p.dpos
                if k:
                    if k > 8 and buf[0] == 13 and buf[3] == 87:  # CR .. W: a boot line?
                        if _call(s, "_sockops", "_boot_lines", buf):
                            raise WipError(s.dead)
                    return k
            else:
                self._feed(None, 0, 0)


def _lookup(table, name):
    """(module, attribute) that a lazy table gives for name, or None.

    Entries are space separated: ``name=module`` (the attribute is also called name) or
    ``name=module:attribute`` (an empty attribute: the module itself).
    """
    i = table.find(" " + name + "=")
    if i < 0:
        return None
    i += len(name) + 2
    where = table[i:table.find(" ", i)]
    colon = where.find(":")
    if colon < 0:
        return where, name
    return where[:colon], where[colon + 1:]


def _call(target, module, method, *args, **kwargs):
    """wip.<module>.<method>(target, *args, **kwargs): a method whose code is kept elsewhere.

    RAM on a board is the scarce resource and bytecode loaded from a .mpy lives in it, so
    code the data path does not need sits in modules imported on first use. A module that
    sets _ONE_SHOT (set-up code: start, gprs, connect, close ...) is dropped from
    sys.modules and from the package before the call, so gc frees its bytecode once the
    call returns (its interned names stay); the next call imports it again (a few ms from a
    board's flash). On MicroPython its globals are also cleared after the call: the gc is
    conservative, and a stale pointer (a register, a dead stack slot) to the function would
    otherwise keep the whole module alive. (Not on CPython, which frees it at once, and where
    another thread may be running the same module object.) The other modules (debug
    transcript, UDP datagrams) stay loaded once used.
    """
    pkg = __name__[:__name__.rfind(".")]
    full = pkg + "." + module
    mod = __import__(full, None, None, ("*",))
    fn = getattr(mod, method)
    if not getattr(mod, "_ONE_SHOT", False):
        return fn(target, *args, **kwargs)
    sys.modules.pop(full, None)
    try:
        delattr(sys.modules[pkg], module)
    except (AttributeError, KeyError, TypeError):
        pass
    names = getattr(mod, "__dict__", None)  # a port without module __dict__: no clearing
    if names is None or sys.implementation.name != "micropython":
        return fn(target, *args, **kwargs)
    try:
        return fn(target, *args, **kwargs)
    finally:
        names.clear()
