"""Sockets over the module's channels: TCP client, TCP server, UDP (spec §1.2, §2.3-§2.7).

A Socket holds per-channel state only (index, pending bytes, URC bookkeeping); every byte
moves through its Modem. How CPython's socket calls map onto AT commands, which indices are
used, and what ``sendto`` can reach is explained in ``wip.modem``'s docstring.

Until it is connected, bound or used, a Socket has no module object (index 0).
Options set before that are applied right after ``+WIPCREATE``.
"""

from .errors import (
    EINVAL,
    EISCONN,
    EMSGSIZE,
    ENOPROTOOPT,
    ENOTCONN,
    WipError,
    again_error,
    timeout_error,
)

AF_INET = 2
SOCK_STREAM = 1
SOCK_DGRAM = 2
IPPROTO_IP = 0
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
SO_REUSEADDR = 2
TCP_NODELAY = 1
IP_TOS = 1
IP_TTL = 2
SHUT_RD = 0
SHUT_WR = 1
SHUT_RDWR = 2

_P_UDP = 1
_P_TCP = 2
_P_SRV = 3
_UDP_MAX = 5840  # §3.5, D58
# (level, option) -> +WIPOPT option number (§2.5 socket options)
_WIPOPT = {(IPPROTO_TCP, TCP_NODELAY): 7, (IPPROTO_IP, IP_TTL): 8, (IPPROTO_IP, IP_TOS): 9}
_DEFAULTS = {7: 0, 8: 64, 9: 0}


def _port(port, lo=1):
    if not isinstance(port, int) or isinstance(port, bool) or not lo <= port <= 65535:
        raise ValueError("bad port: %r" % (port,))
    return port


class Socket:
    """A CPython-like socket on a WIP Soft channel."""

    def __init__(self, modem, type=SOCK_STREAM):
        if type != SOCK_STREAM and type != SOCK_DGRAM:
            raise ValueError("SOCK_STREAM or SOCK_DGRAM")
        self.m = modem
        self.type = type
        self.proto = _P_TCP if type == SOCK_STREAM else _P_UDP
        self.idx = 0
        self.timeout_ms = -1
        self.pbuf = bytearray(modem.pending_size) if modem.pending_size else bytearray(64)
        self.p0 = 0
        self.p1 = 0
        self.hint = 0
        self.peer_closed = False
        self.eof = False
        self.dead = 0
        self.ready = False
        self.closed = False
        self.peer = None
        self.lport = 0
        self.bound = False
        self.connected = False
        self.server = None  # the listening Socket that accepted this one
        self.acceptq = None
        self.range = None
        self.dq = []  # UDP: complete datagrams (bytes, sender) not yet read
        self.dgram = None  # UDP: (size, ip, port) of the datagram announced by +WIPDATA
        self.sender = None  # UDP: the mapping's current sender (D66)
        self.opts = {}

    def __repr__(self):
        return "<wip.Socket proto=%d idx=%d>" % (self.proto, self.idx)

    # ---- hooks used by the Modem ------------------------------------------------------

    def _attach(self, proto, idx):
        self.proto = proto
        self.idx = idx
        table = self.m._tcp if proto == _P_TCP else self.m._udp if proto == _P_UDP else self.m._srv
        table[idx] = self

    def _detach(self):
        m = self.m
        idx = self.idx
        if idx:
            table = m._tcp if self.proto == _P_TCP else m._udp if self.proto == _P_UDP else m._srv
            if table[idx] is self:
                table[idx] = None
        self.idx = 0
        if m._mapped is self:
            m._mapped = None

    def _on_map(self):
        self.hint = 0
        if self.proto == _P_UDP:
            d = self.dgram
            self.sender = (d[1], d[2]) if d is not None else self.peer
            self.dgram = None

    def _unmapped(self, code):
        if code:
            self.dead = code

    def _sink(self):
        """Room at the end of the pending buffer (grown if needed: never lose data)."""
        buf = self.pbuf
        if len(buf) - self.p1 < 64:
            if self.p0:
                n = self.p1 - self.p0
                buf[0:n] = bytes(buf[self.p0:self.p1])
                self.p0 = 0
                self.p1 = n
            if len(buf) - self.p1 < 64:
                buf.extend(bytearray(len(buf) if len(buf) >= 64 else 64))
        return buf, self.p1, len(buf)

    def _sunk(self, dpos):
        self.p1 = dpos

    def _dgram_end(self):
        self.dq.append((bytes(self.pbuf[self.p0:self.p1]), self.sender))
        self.p0 = self.p1 = 0

    def _take(self, dst, n):
        k = self.p1 - self.p0
        if k > n:
            k = n
        dst[0:k] = memoryview(self.pbuf)[self.p0:self.p0 + k]
        self.p0 += k
        if self.p0 == self.p1:
            self.p0 = self.p1 = 0
        return k

    # ---- timeouts ---------------------------------------------------------------------

    def settimeout(self, value):
        """None blocks, 0 is non-blocking (EAGAIN), t > 0 raises ETIMEDOUT after t s."""
        if value is None:
            self.timeout_ms = -1
        elif value < 0:
            raise ValueError("timeout must be >= 0")
        else:
            self.timeout_ms = int(value * 1000)

    def gettimeout(self):
        return None if self.timeout_ms < 0 else self.timeout_ms / 1000

    def setblocking(self, flag):
        self.settimeout(None if flag else 0)

    def _cmd_timeout(self):
        return None if self.timeout_ms <= 0 else self.timeout_ms / 1000

    # ---- creation ---------------------------------------------------------------------

    def _addr(self, addr):
        host, port = addr
        self.m.quote(host)
        return host, _port(port)

    def _create(self, proto, idx, args):
        m = self.m
        self._attach(proto, idx)
        try:
            m.command("+WIPCREATE=%d,%d,%s" % (proto, idx, args), self._cmd_timeout())
            if proto != _P_SRV:
                m.wait_ready(proto, idx, self._cmd_timeout())
        except OSError as exc:
            if not isinstance(exc, WipError) or exc.code not in (842, 830, 832, 833, 838,
                                                                  840, 845, 803):
                try:
                    m.command("+WIPCLOSE=%d,%d" % (proto, idx))
                except OSError:
                    pass
            self._detach()
            raise
        for opt, value in self.opts.items():
            m.command("+WIPOPT=%d,%d,2,%d,%d" % (proto, idx, opt, value))

    def connect(self, addr):
        """TCP: AT+WIPCREATE=2 then +WIPREADY (D8). UDP: fix the peer (see wip.modem)."""
        host, port = self._addr(addr)
        if self.closed:
            raise OSError(9, "socket closed")
        m = self.m
        if self.type == SOCK_DGRAM:
            return self._udp_peer(host, port, True)
        if self.idx:
            raise OSError(EISCONN, "already connected")
        idx = m._free_index(m._tcp, 1, 8)
        self._create(_P_TCP, idx, "%s,%d" % (m.quote(host), port))
        self.peer = (host, port)
        self.connected = True

    def _udp_peer(self, host, port, explicit):
        m = self.m
        lport = self.lport
        if self.idx:
            if self.bound and not lport:
                lport = self._read_opt(0)
            self._close_channel()
        idx = m._free_index(m._udp, 1, 8)
        lp = "%d" % lport if lport else ""
        self._create(_P_UDP, idx, "%s,%s,%d" % (lp, m.quote(host), port))  # D25
        self.peer = (host, port)
        self.sender = None
        self.connected = explicit

    def bind(self, addr):
        """Record the local port; a UDP socket is created at once (AT+WIPCREATE=1,i,port)."""
        host, port = addr
        self.m.quote(host)
        self.lport = _port(port, 0)
        self.bound = True
        if self.type == SOCK_DGRAM:
            if self.idx:
                raise OSError(EINVAL, "already bound")
            idx = self.m._free_index(self.m._udp, 1, 8)
            self._create(_P_UDP, idx, "%d" % self.lport)

    def listen(self, backlog=8):
        """A TCP server: server index 1-4, spawn range of min(backlog, 8) indices (D29-D31)."""
        m = self.m
        if self.type != SOCK_STREAM or self.idx:
            raise OSError(EINVAL, "cannot listen")
        port = _port(self.lport)
        k = 8 if backlog > 8 else 1 if backlog < 1 else backlog
        sidx = m._free_index(m._srv, 1, 4)
        while k:
            for a in range(9 - k, 0, -1):
                if all(m._tcp[i] is None and m._resv[i] is None for i in range(a, a + k)):
                    self._create(_P_SRV, sidx, "%d,%d,%d" % (port, a, a + k - 1))
                    self.range = (a, a + k - 1)
                    self.acceptq = []
                    for i in range(a, a + k):
                        m._resv[i] = self
                    return
            k -= 1
        raise OSError(105, "no free TCP index range")

    def accept(self):
        """The next connection (+WIPACCEPT) as (Socket, (ip, port))."""
        m = self.m
        if self.acceptq is None:
            raise OSError(EINVAL, "not listening")
        deadline = m._deadline(self.timeout_ms)
        while not self.acceptq:
            if self.dead:
                raise WipError(self.dead)
            m._leave()
            if m._pump(deadline) == 0:
                if self.acceptq:
                    break
                raise again_error() if self.timeout_ms == 0 else timeout_error()
        conn = self.acceptq.pop(0)
        addr = None
        if conn.idx and not conn.dead:
            addr = (conn._read_opt(2), conn._read_opt(1))
            conn.peer = addr
        return conn, addr

    # ---- data -------------------------------------------------------------------------

    def sendall(self, data):
        """TCP: send every byte (mapped in continuous mode). UDP: one datagram to the peer."""
        if self.closed:
            raise OSError(9, "socket closed")
        if self.proto == _P_UDP or self.type == SOCK_DGRAM:
            return self._send_dgram(data)
        self.m._send(self, data, 0, len(data))

    def send(self, data):
        self.sendall(data)
        return len(data)

    def write(self, data):
        self.sendall(data)
        return len(data)

    def _send_dgram(self, data):
        if len(data) > _UDP_MAX:
            raise OSError(EMSGSIZE, "datagram over 5840 bytes (D58)")
        if not self.idx:
            raise OSError(ENOTCONN, "no peer: use connect() or sendto()")
        m = self.m
        m._send(self, data, 0, len(data))
        m._write(b"\x03")  # unescaped ETX: end of datagram (§3.5)

    def sendto(self, data, addr):
        """UDP: send one datagram to addr (see wip.modem for what addr may be, D58)."""
        if self.type != SOCK_DGRAM:
            raise OSError(EISCONN, "sendto on a TCP socket")
        host, port = self._addr(addr)
        target = (host, port)
        if not self.idx:
            self._udp_peer(host, port, False)
        elif self.peer is not None:
            if self.peer != target:
                if self.connected or self.bound:
                    raise OSError(EISCONN, "the module socket has another peer (D58)")
                self._udp_peer(host, port, False)
        elif target != self._last_sender():
            raise OSError(EINVAL, "a bound UDP socket can only answer its last sender (D58)")
        self._send_dgram(data)
        return len(data)

    def _last_sender(self):
        return self.sender

    def recv_into(self, buf, nbytes=0):
        """Up to nbytes (default len(buf)) into buf; 0 at EOF. No allocation when mapped."""
        n = nbytes if nbytes else len(buf)
        if self.type == SOCK_DGRAM:
            data, _ = self._next_dgram()
            k = len(data) if len(data) < n else n
            buf[0:k] = data[:k]
            return k
        return self.m._recv(self, buf, n, self.timeout_ms)

    def recv(self, n):
        if self.type == SOCK_DGRAM:
            return self._next_dgram()[0][:n]
        buf = bytearray(n)
        k = self.m._recv(self, buf, n, self.timeout_ms)
        return bytes(buf) if k == n else bytes(memoryview(buf)[:k])

    def recvfrom(self, n):
        """UDP: (datagram cut to n bytes, (ip, port) of its sender)."""
        data, addr = self._next_dgram()
        return data[:n], addr

    def _next_dgram(self):
        if self.type != SOCK_DGRAM:
            raise OSError(EINVAL, "not a UDP socket")
        data, addr = self.m._recvfrom(self, self.timeout_ms)
        if addr is None:
            addr = (self._read_opt(2), self._read_opt(1))  # D58: last sender read
        self.sender = addr
        return data, addr

    def read(self, n=-1):
        """Stream read: n bytes, fewer only at EOF; n < 0 reads to EOF."""
        if n is None or n < 0:
            out = bytearray()
            buf = bytearray(512)
            mv = memoryview(buf)
            while True:
                k = self.recv_into(buf)
                if not k:
                    return bytes(out)
                out.extend(mv[:k])
        buf = bytearray(n)
        k = self.readinto(buf)
        return bytes(buf) if k == n else bytes(memoryview(buf)[:k])

    def readinto(self, buf, nbytes=0):
        """Stream readinto: fill buf (or nbytes of it) unless EOF comes first."""
        n = nbytes if nbytes else len(buf)
        mv = memoryview(buf)
        got = 0
        while got < n:
            k = self.recv_into(mv[got:n]) if got else self.recv_into(buf, n)
            if not k:
                break
            got += k
        return got

    def readline(self):
        """Bytes up to and including the next LF (or to EOF)."""
        out = bytearray()
        try:
            while True:
                if self.p1 > self.p0:
                    i = self.pbuf.find(b"\n", self.p0, self.p1)
                    end = self.p1 if i < 0 else i + 1
                    out.extend(memoryview(self.pbuf)[self.p0:end])
                    self.p0 = end
                    if self.p0 == self.p1:
                        self.p0 = self.p1 = 0
                    if i >= 0:
                        return bytes(out)
                k = self.m._recv(self, self.pbuf, len(self.pbuf), self.timeout_ms)
                if not k:
                    return bytes(out)
                self.p0 = 0
                self.p1 = k
        except OSError:
            if out:  # keep what was read for the next call
                rest = bytes(memoryview(self.pbuf)[self.p0:self.p1])
                self.pbuf = bytearray(bytes(out) + rest + bytes(64))
                self.p0 = 0
                self.p1 = len(out) + len(rest)
            raise

    def makefile(self, mode="rb", buffering=0):
        return self

    def shutdown(self, how=SHUT_RDWR):
        """SHUT_WR / SHUT_RDWR on TCP: a lone ETX half-closes (flush, then FIN; D54)."""
        if self.type == SOCK_STREAM and how != SHUT_RD and self.idx and not self.dead:
            self.m._map(self)
            self.m._write(b"\x03")

    # ---- options ----------------------------------------------------------------------

    def _read_opt(self, opt):
        lines = self.m.command("+WIPOPT=%d,%d,1,%d" % (self.proto, self.idx, opt))
        for line in lines:
            f = line[line.find(":") + 1:].split(",")
            if len(f) >= 3:
                v = f[2].strip()
                if v.startswith('"'):
                    return v.strip('"')
                return int(v)
        raise WipError(-1, "no +WIPOPT reply")

    def setsockopt(self, level, optname, value):
        """TCP_NODELAY, IP_TTL, IP_TOS map to +WIPOPT 7, 8, 9; SO_REUSEADDR is accepted."""
        if level == SOL_SOCKET and optname == SO_REUSEADDR:
            self.opts_reuse = int(value)
            return
        opt = _WIPOPT.get((level, optname))
        if opt is None or (opt == 7 and self.type == SOCK_DGRAM):
            raise OSError(ENOPROTOOPT, "option not supported")
        value = int(value)
        if self.idx:
            self.m.command("+WIPOPT=%d,%d,2,%d,%d" % (self.proto, self.idx, opt, value))
        self.opts[opt] = value

    def getsockopt(self, level, optname):
        if level == SOL_SOCKET and optname == SO_REUSEADDR:
            return getattr(self, "opts_reuse", 0)
        opt = _WIPOPT.get((level, optname))
        if opt is None or (opt == 7 and self.type == SOCK_DGRAM):
            raise OSError(ENOPROTOOPT, "option not supported")
        if self.idx:
            return self._read_opt(opt)
        return self.opts.get(opt, _DEFAULTS[opt])

    # ---- closing ----------------------------------------------------------------------

    def _close_channel(self):
        m = self.m
        proto = self.proto
        idx = self.idx
        if not idx:
            return
        try:
            if m._mapped is self:
                m._leave()
            m.command("+WIPCLOSE=%d,%d" % (proto, idx))
        except WipError:
            pass
        finally:
            self._detach()
            self.dq = []
            self.dgram = None
            self.p0 = self.p1 = 0

    def close(self):
        """AT+WIPCLOSE (TCP: unsent data is flushed, then FIN; D39)."""
        if self.closed:
            return
        self.closed = True
        self._close_channel()
        m = self.m
        if self.acceptq is not None:
            m._release_range(self)
        if self.server is not None:
            m._release_range(self.server)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
