"""Sockets of the simulated IP stack, backed by real OS sockets on 127.0.0.1."""

import collections
import socket
import struct

TCP_RX_LIMIT = 16384  # §2.7: unread bytes kept per TCP socket before reading stops
UDP_RX_LIMIT = 16  # §2.7: datagrams kept per UDP socket; further ones are dropped
UDP_MAX = 5840  # §3.5, D58
TX_PAUSE = 256 * 1024  # host input is paused while this much is waiting for a slow peer


def set_ip_option(sock, opt, value):
    """Apply TTL (8) or TOS (9) to an OS socket where the OS accepts the value."""
    name = socket.IP_TTL if opt == 8 else socket.IP_TOS
    try:
        sock.setsockopt(socket.IPPROTO_IP, name, value if (opt != 8 or value) else 1)
    except OSError:
        pass


class Channel:
    """Common state of a socket object (protocols 1, 2, 3)."""

    proto = 0

    def __init__(self, module, idx, sock):
        self.module = module
        self.loop = module.loop
        self.idx = idx
        self.sock = sock
        self.reading = False
        self.opts = {}

    @property
    def fileno(self):
        return self.sock.fileno() if self.sock is not None else -1

    def local_port(self):
        try:
            return self.module.ports.visible(self.sock.getsockname()[1])
        except OSError:
            return 0

    def start_reading(self):
        if not self.reading and self.sock is not None:
            self.loop.add_reader(self.sock.fileno(), self.on_readable)
            self.reading = True

    def stop_reading(self):
        if self.reading:
            try:
                self.loop.remove_reader(self.sock.fileno())
            except (ValueError, OSError):
                pass
            self.reading = False

    def on_readable(self):
        raise NotImplementedError

    def release(self):
        """Close the OS socket without any further event."""
        self.stop_reading()
        if self.sock is not None:
            try:
                self.loop.remove_writer(self.sock.fileno())
            except (ValueError, OSError):
                pass
            self.sock.close()
            self.sock = None


class UdpChannel(Channel):
    """UDP socket (protocol 1): a queue of received datagrams and an optional peer."""

    proto = 1

    def __init__(self, module, idx, sock, peer):
        super().__init__(module, idx, sock)
        self.peer = peer  # (ip, real port) or None
        self.queue = collections.deque()  # (payload, (ip, real port))
        self.head_announced = False
        self.last_sender = None  # D58: destination of a socket without a peer
        self.opts = {8: module.cfg[0], 9: module.cfg[1]}

    def on_readable(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # ICMP port unreachable from an earlier send; nothing to deliver.
                continue
            if len(self.queue) >= UDP_RX_LIMIT:
                continue
            self.queue.append((data[:UDP_MAX], addr[:2]))
        self.module.udp_received(self)

    def send(self, payload):
        """Send one datagram to the peer, or the last sender delivered (D58); else drop."""
        dest = self.peer or self.last_sender
        if dest is None or self.sock is None:
            self.module.log("#", f"UDP 1,{self.idx}: no destination, {len(payload)} bytes dropped")
            return
        try:
            self.sock.sendto(payload, dest)
        except OSError as exc:
            self.module.log("#", f"UDP 1,{self.idx}: send failed: {exc}")


class TcpChannel(Channel):
    """TCP client socket (protocol 2), created by WIPCREATE or spawned by a server."""

    proto = 2

    def __init__(self, module, idx, sock, server_idx=None, opts=None):
        super().__init__(module, idx, sock)
        self.server_idx = server_idx  # the server that spawned it, if any
        self.reservation = None  # its server's Reservation, for spawned sockets
        self.rx = bytearray()
        self.tx = bytearray()  # waiting for the kernel (slow peer)
        self.coalesce = bytearray()  # §3.11 send coalescing
        self.coalesce_timer = None
        self.peer_fin = False
        self.dead = 0  # 843 reset / 842 timeout (D55)
        self.shut_wr = False  # host sent an unescaped ETX (D54)
        self.peerclose_sent = False
        self.writer_on = False
        self.opts = opts or {4: 1024, 5: 1, 7: 0, 8: module.cfg[0], 9: module.cfg[1]}
        try:
            self.peer = sock.getpeername()[:2]
        except OSError:
            self.peer = ("0.0.0.0", 0)

    def update_reading(self):
        if self.sock is None or self.peer_fin or self.dead or len(self.rx) >= TCP_RX_LIMIT:
            self.stop_reading()
        else:
            self.start_reading()

    def on_readable(self):
        try:
            data = self.sock.recv(TCP_RX_LIMIT - len(self.rx))
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionResetError:
            self.module.tcp_reset(self, 843)
            return
        except TimeoutError:
            self.module.tcp_reset(self, 842)
            return
        except OSError:
            self.module.tcp_reset(self, 843)
            return
        if not data:
            self.stop_reading()
            self.module.tcp_peer_fin(self)
            return
        was_empty = not self.rx
        self.rx += data
        self.update_reading()
        self.module.tcp_received(self, was_empty)

    def take(self, limit):
        """Remove up to `limit` received bytes; reading restarts when there is room."""
        chunk = bytes(self.rx[:limit])
        del self.rx[:limit]
        self.update_reading()
        return chunk

    # -- host -> peer ------------------------------------------------------------------
    def write(self, data):
        if self.sock is None or self.dead:
            return
        self.tx += data
        self._send_pending()

    def _send_pending(self):
        while self.tx and self.sock is not None:
            try:
                sent = self.sock.send(self.tx)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.tx.clear()
                self.module.tcp_reset(self, 843)  # the peer answered with RST
                return
            del self.tx[:sent]
        want_writer = bool(self.tx) and self.sock is not None
        if want_writer and not self.writer_on:
            self.loop.add_writer(self.sock.fileno(), self._on_writable)
            self.writer_on = True
        elif not want_writer and self.writer_on:
            self.writer_on = False
            if self.sock is not None:
                self.loop.remove_writer(self.sock.fileno())
        self.module.tcp_tx_level(self)

    def _on_writable(self):
        self._send_pending()

    def flush_blocking(self, timeout=2.0):
        """Push everything still buffered to the peer (before a close or shutdown)."""
        self.cancel_coalesce()
        if self.coalesce:
            self.tx += self.coalesce
            self.coalesce.clear()
        if self.sock is None or not self.tx or self.dead:
            self.tx.clear()
            return
        try:
            self.sock.settimeout(timeout)
            self.sock.sendall(self.tx)
        except OSError:
            pass
        finally:
            self.tx.clear()
            if self.sock is not None:
                self.sock.setblocking(False)
                if self.writer_on:
                    self.writer_on = False
                    self.loop.remove_writer(self.sock.fileno())

    def cancel_coalesce(self):
        if self.coalesce_timer is not None:
            self.coalesce_timer.cancel()
            self.coalesce_timer = None

    def shutdown_send(self):
        """Host ETX: flush, then FIN; receiving continues (D54)."""
        self.flush_blocking()
        self.shut_wr = True
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close_gracefully(self):
        """WIPCLOSE: flush, FIN, close; unread input is drained so the peer sees no RST."""
        self.flush_blocking()
        self.cancel_coalesce()
        sock = self.sock
        if sock is not None:
            self.stop_reading()
            try:
                while sock.recv(65536):
                    pass
            except OSError:
                pass
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        self.release()

    def abort(self):
        """Close with RST (SO_LINGER 0)."""
        self.cancel_coalesce()
        if self.sock is not None:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.release()


class ServerChannel(Channel):
    """TCP listener (protocol 3); accepted connections become spawned TCP clients."""

    proto = 3

    def __init__(self, module, idx, sock, first, last):
        super().__init__(module, idx, sock)
        self.first = first
        self.last = last
        self.reservation = None
        self.opts = {4: 1024, 5: 1, 7: 0, 8: module.cfg[0], 9: module.cfg[1]}

    def on_readable(self):
        try:
            conn, _addr = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        conn.setblocking(False)
        self.module.server_accepted(self, conn)


class Reservation:
    """Indexes first..last of the TCP client space held for server `server_idx` (D30, D31)."""

    def __init__(self, server_idx, first, last):
        self.server_idx = server_idx
        self.first = first
        self.last = last
        self.server_open = True
        self.spawned = set()

    def covers(self, idx):
        return self.first <= idx <= self.last

    def overlaps(self, first, last):
        return self.first <= last and first <= self.last

    @property
    def alive(self):
        return self.server_open or bool(self.spawned)
