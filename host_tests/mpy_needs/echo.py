"""Loopback TCP and UDP echo servers (threads); the mpy runner always starts one pair."""

import socket
import threading


class EchoServers:
    """A TCP echo server (one thread per connection) and a UDP echo server on 127.0.0.1."""

    def __init__(self):
        self._stopping = threading.Event()
        self._tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tcp.bind(("127.0.0.1", 0))
        self._tcp.listen(16)
        self._tcp.settimeout(0.2)
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", 0))
        self._udp.settimeout(0.2)
        self.tcp_port = self._tcp.getsockname()[1]
        self.udp_port = self._udp.getsockname()[1]
        self._threads = [
            threading.Thread(target=self._accept_loop, name="echo-tcp", daemon=True),
            threading.Thread(target=self._udp_loop, name="echo-udp", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def env(self):
        return {"ECHO_TCP_PORT": str(self.tcp_port), "ECHO_UDP_PORT": str(self.udp_port)}

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                conn, _ = self._tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._echo_tcp, args=(conn,), daemon=True).start()

    def _echo_tcp(self, conn):
        """Echo until the client half-closes or the servers stop, then close."""
        conn.settimeout(0.2)
        with conn:
            while not self._stopping.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                try:
                    conn.sendall(data)
                except OSError:
                    return

    def _udp_loop(self):
        while not self._stopping.is_set():
            try:
                data, addr = self._udp.recvfrom(65535)
                self._udp.sendto(data, addr)
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return

    def close(self):
        self._stopping.set()
        for thread in self._threads:
            thread.join(2)
        self._tcp.close()
        self._udp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def provide(request):
    """`# needs: echo` is accepted for clarity; the runner starts these servers anyway."""
    return request.getfixturevalue("mpy_echo_servers").env()
