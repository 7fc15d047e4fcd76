"""The module's UART as a byte stream on a TCP port or a pty, with baud pacing and faults."""

import errno
import os
import socket
import tty

SPLIT_GAP = 0.005  # seconds between fragments while the `split` fault is on
PACE_SLICE = 0.005  # seconds of output sent per paced write
OUTPUT_BACKLOG_MAX = 1 << 20  # bytes kept for a pty nobody reads; older output is dropped
UART_RCVBUF = 4096  # host -> module kernel buffer of the TCP UART (the kernel doubles it)


class HostLink:
    """One UART: bytes from the host go to `on_input(data, t)`; `write()` queues output.

    Output is paced at `baud` (10 bits a byte, deadline based so it stays accurate over time)
    and can be cut into fragments (`split` fault). Output while no host is attached is lost.
    """

    def __init__(self, loop, on_input, on_drained, log, baud=0):
        self.loop = loop
        self.on_input = on_input
        self.on_drained = on_drained
        self.log = log
        self.rate = baud / 10.0 if baud else 0.0
        # Socket data is moved to the UART only while less than this is queued: about 20 ms
        # of output when paced (like a UART FIFO, so little is in flight after a "+++").
        self.high_water = max(64, int(self.rate * 0.02)) if self.rate else 8192
        self.split = 0
        self.out = bytearray()
        self.fd = None  # where output goes (a socket's fileno or the pty master)
        self._next_send = 0.0
        self._timer = None
        self._writer_on = False
        self._reading = False
        self._pauses = set()
        self._stall_timer = None

    # -- output ------------------------------------------------------------------------
    @property
    def pending(self):
        """Bytes queued for the host and not yet written."""
        return len(self.out)

    def write(self, data):
        if not data or self.fd is None:
            return
        self.out += data
        if len(self.out) > OUTPUT_BACKLOG_MAX:
            del self.out[:len(self.out) - OUTPUT_BACKLOG_MAX]
        self._kick()

    def _kick(self):
        if self._timer is None and not self._writer_on:
            self._timer = self.loop.call_soon(self._pump)

    def _pump(self):
        self._timer = None
        while self.out and self.fd is not None:
            now = self.loop.time()
            size = len(self.out)
            if self.rate:
                if now < self._next_send:
                    self._timer = self.loop.call_at(self._next_send, self._pump)
                    return
                size = min(size, max(1, int(self.rate * PACE_SLICE)))
            if self.split:
                size = min(size, self.split)
            try:
                sent = self._send(memoryview(self.out)[:size])
            except (BlockingIOError, InterruptedError):
                self._want_writable()
                return
            except OSError:
                self.detach()
                return
            del self.out[:sent]
            if self.rate:
                self._next_send = max(self._next_send, now) + sent / self.rate
            if sent < size:
                self._want_writable()
                return
            if self.split and self.out:
                self._timer = self.loop.call_later(SPLIT_GAP, self._pump)
                return
        self.on_drained()

    def _want_writable(self):
        if not self._writer_on and self.fd is not None:
            self._writer_on = True
            self.loop.add_writer(self.fd, self._on_writable)

    def _on_writable(self):
        self._stop_writer()
        self._pump()

    def _stop_writer(self):
        if self._writer_on:
            self._writer_on = False
            try:
                self.loop.remove_writer(self.fd)
            except (ValueError, OSError):
                pass

    # -- input -------------------------------------------------------------------------
    def pause(self, reason):
        """Stop reading host input (backpressure) until `resume(reason)`."""
        self._pauses.add(reason)
        self._update_reader()

    def resume(self, reason):
        self._pauses.discard(reason)
        self._update_reader()

    def stall(self, seconds):
        """The `stall` fault: read nothing from the host for a while."""
        if self._stall_timer:
            self._stall_timer.cancel()
        self.pause("stall")
        self._stall_timer = self.loop.call_later(seconds, self.resume, "stall")

    def _update_reader(self):
        want = self.fd is not None and not self._pauses
        if want and not self._reading:
            self.loop.add_reader(self.fd, self._on_readable)
            self._reading = True
        elif not want and self._reading:
            try:
                self.loop.remove_reader(self.fd)
            except (ValueError, OSError):
                pass
            self._reading = False

    def _on_readable(self):
        try:
            data = self._recv()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.detach()
            return
        self.on_input(data, self.loop.time())

    # -- attach/detach -----------------------------------------------------------------
    def _attach(self, fd):
        self.detach()
        self.fd = fd
        self.out.clear()
        self._next_send = 0.0
        self._update_reader()

    def detach(self):
        """Forget the current host; output is lost until the next one attaches."""
        if self.fd is None:
            return
        self._stop_writer()
        if self._reading:
            try:
                self.loop.remove_reader(self.fd)
            except (ValueError, OSError):
                pass
            self._reading = False
        if self._timer:
            self._timer.cancel()
            self._timer = None
        self._close_fd()
        self.fd = None
        self.out.clear()

    def close(self):
        self.detach()


class TcpHostLink(HostLink):
    """The UART served on a TCP port; a new connection replaces the previous host."""

    def __init__(self, loop, on_input, on_drained, log, baud=0):
        super().__init__(loop, on_input, on_drained, log, baud)
        self.conn = None
        self.listener = None
        self.address = None

    def listen(self, host, port):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # RTS/CTS stand-in: a small receive buffer, set before listen() so accepted sockets
        # inherit it (the window scale is fixed at the handshake). Host bytes the module has
        # not read stay on the host side, where TIOCOUTQ/SIOCOUTQ shows them. The send buffer
        # keeps the kernel default: module -> host flow is already bounded by `high_water`,
        # and a small one makes output trickle long after a "+++" (forged OKs in flight).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UART_RCVBUF)
        listener.bind((host, port))
        listener.listen()
        listener.setblocking(False)
        self.listener = listener
        self.address = self.listener.getsockname()[:2]
        self.loop.add_reader(self.listener.fileno(), self._on_accept)
        return self.address[1]

    def _on_accept(self):
        try:
            conn, addr = self.listener.accept()
        except OSError:
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.log("#", f"host attached from {addr[0]}:{addr[1]}")
        self._attach_conn(conn)

    def _attach_conn(self, conn):
        self._attach(conn.fileno())
        self.conn = conn

    def _send(self, data):
        return self.conn.send(data)

    def _recv(self):
        return self.conn.recv(65536)

    def _close_fd(self):
        if self.conn is not None:
            self.log("#", "host detached")
            self.conn.close()
            self.conn = None

    def close(self):
        super().close()
        if self.listener is not None:
            try:
                self.loop.remove_reader(self.listener.fileno())
            except (ValueError, OSError):
                pass
            self.listener.close()
            self.listener = None


class PtyHostLink(HostLink):
    """The UART on a pseudo-terminal in raw mode; the host opens the slave path."""

    def __init__(self, loop, on_input, on_drained, log, baud=0):
        super().__init__(loop, on_input, on_drained, log, baud)
        self.master = None
        self.slave = None
        self.path = None

    def open(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self._attach(self.master)
        return self.path

    def _send(self, data):
        return os.write(self.master, data)

    def _recv(self):
        try:
            return os.read(self.master, 65536)
        except OSError as exc:
            if exc.errno == errno.EIO:
                raise BlockingIOError from exc
            raise

    def _close_fd(self):
        pass

    def close(self):
        super().close()
        for fd in (self.master, self.slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self.slave = None
