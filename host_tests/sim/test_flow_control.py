"""The TCP UART behaves like a UART with RTS/CTS: bytes the module has not read stay queued
on the host side (small kernel buffers on the simulator's end), so `stall` back-pressures."""

import fcntl
import socket
import struct
import termios
import time

from harness import listener, recv_exactly

BURST = 65536
SIM_SIDE_MAX = 16384  # what the simulator's kernel buffers may absorb while it reads nothing


def host_send_queue(sock):
    """Bytes written by the host and not yet taken by the simulator (SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]


def write_without_blocking(sock, data, seconds):
    """Write as much of `data` as the socket takes within `seconds`; returns the count."""
    sent = 0
    deadline = time.monotonic() + seconds
    sock.setblocking(False)
    try:
        while sent < len(data) and time.monotonic() < deadline:
            try:
                sent += sock.send(data[sent:])
            except BlockingIOError:
                time.sleep(0.005)
    finally:
        sock.setblocking(True)
    return sent


def test_stall_keeps_unread_bytes_in_the_host_send_queue(gprs, sim):
    srv = listener(sim, 80)
    gprs.ok('AT+WIPCREATE=2,1,"127.0.0.1",80')
    gprs.expect_urc("+WIPREADY:")
    peer, _ = srv.accept()
    srv.close()
    gprs.connect_data("AT+WIPDATA=2,1,2")  # transparent: bytes pass unchanged
    data = bytes(range(256)) * (BURST // 256)
    assert sim.control("stall 1000") == "OK"
    start = time.monotonic()
    sent = write_without_blocking(gprs.sock, data, 0.3)
    time.sleep(0.1)
    queued = host_send_queue(gprs.sock)
    assert time.monotonic() - start < 0.9, "the checks must run inside the stall"
    assert queued >= sent - SIM_SIDE_MAX, (sent, queued)
    assert queued > 0
    peer.settimeout(0.2)
    try:
        early = peer.recv(1)
    except TimeoutError:
        early = b""
    assert early == b""  # nothing read from the host while stalled
    gprs.send_raw(data[sent:])
    assert recv_exactly(peer, BURST, timeout=10) == data
    assert time.monotonic() - start >= 0.9
    assert host_send_queue(gprs.sock) == 0
    gprs.escape(0.05)
    peer.close()


def test_uart_listener_has_a_small_receive_buffer():
    from tools.wipsim.uart import UART_RCVBUF, TcpHostLink

    class Loop:
        def add_reader(self, fd, callback):
            pass

        def remove_reader(self, fd):
            pass

    link = TcpHostLink(Loop(), None, None, lambda *a: None)
    link.listen("127.0.0.1", 0)
    try:
        rcv = link.listener.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    finally:
        link.close()
    assert UART_RCVBUF == 4096
    assert rcv <= 2 * UART_RCVBUF  # Linux doubles the request
