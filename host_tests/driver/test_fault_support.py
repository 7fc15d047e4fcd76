"""Loopback peers and helpers shared by the fault, security, load and supervisor tests.

Not a test module by itself (it holds no tests); the other modules import it by path.
"""

import hashlib
import os
import socket
import threading
import time
from contextlib import contextmanager

GUARD = 0.02


def payload(size, seed=0):
    """Deterministic pseudo-random bytes (covers DLE, ETX, '+' and CR/LF)."""
    out = bytearray()
    block = hashlib.sha256(b"wip-fault-%d" % seed).digest()
    while len(out) < size:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:size])


def sha(data):
    return hashlib.sha256(data).hexdigest()


class TcpPeer:
    """A loopback TCP server; each accepted connection is handed to ``handler(conn, peer)``.

    ``handler`` runs in its own thread. The default handler echoes. ``received`` keeps every
    byte each connection delivered, in order of acceptance.
    """

    def __init__(self, handler=None):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.handler = handler or self.echo
        self.conns = []
        self.received = []
        self.closed = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self):
        self.listener.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(30)
            index = len(self.conns)
            self.conns.append(conn)
            self.received.append(bytearray())
            threading.Thread(target=self._run, args=(conn, index), daemon=True).start()

    def _run(self, conn, index):
        try:
            self.handler(self, conn, index)
        except OSError:
            pass

    @staticmethod
    def echo(peer, conn, index):
        while True:
            data = conn.recv(65536)
            if not data:
                break
            peer.received[index] += data
            conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)

    @staticmethod
    def sink(peer, conn, index):
        """Keep what the app sends, send nothing; `closed` is set at the app's EOF."""
        while True:
            data = conn.recv(65536)
            if not data:
                break
            peer.received[index] += data
        peer.closed.set()

    def wait_conns(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.conns) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"peer saw {len(self.conns)} connections, wanted {n}")
            time.sleep(0.005)
        return self.conns[n - 1]

    def wait_received(self, index, size, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(self.received) <= index or len(self.received[index]) < size:
            if time.monotonic() > deadline:
                got = len(self.received[index]) if len(self.received) > index else 0
                raise TimeoutError(f"peer received {got} of {size} bytes")
            time.sleep(0.005)
        return bytes(self.received[index])

    def close(self):
        self._stop = True
        self.listener.close()
        for conn in self.conns:
            try:
                conn.close()
            except OSError:
                pass


class UdpPeer:
    """A loopback UDP socket; echoes every datagram unless ``echo`` is False."""

    def __init__(self, echo=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.echo = echo
        self.datagrams = []
        self.senders = []
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.datagrams.append(data)
            self.senders.append(addr)
            if self.echo:
                self.sock.sendto(data, addr)

    def wait_datagrams(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.datagrams) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"peer got {len(self.datagrams)} datagrams, wanted {n}")
            time.sleep(0.005)
        return self.datagrams[:n]

    def close(self):
        self._stop = True
        self.sock.close()


@contextmanager
def peers(*objs):
    try:
        yield objs
    finally:
        for obj in objs:
            obj.close()


class RecordingStream:
    """Wraps a driver stream and records every byte written to it (security tests)."""

    def __init__(self, inner):
        self.inner = inner
        self.written = bytearray()

    def write(self, data):
        self.written += bytes(data)
        return self.inner.write(data)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class Elapsed:
    """``with Elapsed() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.monotonic()
        self.seconds = None
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.start
        return False


def recv_to_eof(sock):
    """Everything a driver socket delivers until the peer's EOF."""
    out = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(out)
        out += chunk


def recv_exactly(sock, size, deadline_s=10.0):
    """Read exactly ``size`` bytes from a driver socket, or fewer if it reports EOF."""
    out = bytearray()
    end = time.monotonic() + deadline_s
    while len(out) < size:
        if time.monotonic() > end:
            raise TimeoutError(f"got {len(out)} of {size} bytes")
        chunk = sock.recv(size - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


OK_UNIT = b"\r\nOK\r\n"


def ok_flood(stop, burst, pause=0.0, limit=None):
    """A TcpPeer handler streaming CR LF OK CR LF to the app, `burst` units per send and
    `pause` s between sends, until `stop` is set or `limit` units went out; then it
    half-closes. It records what it receives; `peer.sent_units` counts the units sent."""

    def handler(peer, conn, index):
        peer.sent_units = 0

        def sender():
            while not stop.is_set() and (limit is None or peer.sent_units < limit):
                try:
                    conn.sendall(OK_UNIT * burst)
                except OSError:
                    break
                peer.sent_units += burst
                if pause:
                    time.sleep(pause)
            conn.shutdown(socket.SHUT_WR)

        threading.Thread(target=sender, daemon=True).start()
        TcpPeer.sink(peer, conn, index)

    return handler
