# Leaving data mode on the MicroPython unix port with CR LF OK CR LF on the wire (Appendix B):
# just before each "+++" the peer sends 2048 OK lines, which reach the host's side of the
# wire, and the driver's first read after the "+++" stalls for 1.5 G, so it reads them all
# after the 0.9 G window. Only the last OK before the line goes quiet is the module's: every
# unit must reach the app, and no command the peer (host_tests/driver/test_escape_stalls.py
# is the CPython twin).
# needs: sim
# heapsize: 512K
# timeout: 60
import os
import socket
import time

import wip
from mpytest import eq, run

SIM_PORT = int(os.getenv("WIPSIM_PORT"))
GUARD = float(os.getenv("WIPSIM_GUARD"))
OK_UNIT = b"\r\nOK\r\n"


class StallingStream:
    """The simulator's UART; calls `before()` just before the next "+++" is written, then
    sleeps 1.5 G in the read after it."""

    def __init__(self, inner):
        self.inner = inner
        self.pollable = inner
        self.before = None
        self.stalls = 0
        self._stall_read = False

    def write(self, data):
        if self.before is not None and bytes(data) == b"+++":
            self.before()
            self.before = None
            self._stall_read = True
        return self.inner.write(data)

    def readinto(self, buf):
        if self._stall_read:
            self._stall_read = False
            self.stalls += 1
            time.sleep(1.5 * GUARD)
        return self.inner.readinto(buf)


def listen():
    """A listening socket on the first free loopback port from 31900; (socket, port)."""
    for port in range(31900, 31950):
        srv = socket.socket()
        try:
            srv.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        except OSError:
            srv.close()
            continue
        srv.listen(1)
        return srv, port
    raise OSError("no free port")


def test_ok_lines_in_flight_reach_the_app():
    stream = StallingStream(wip.tcp_stream("127.0.0.1", SIM_PORT))
    m = wip.Modem(stream, timeout=5, guard_time=GUARD)
    m.start()
    m.gprs("internet")
    srv, port = listen()
    s = m.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    peer, _ = srv.accept()
    srv.close()
    sent = [0]

    def send_ok_lines():
        peer.write(OK_UNIT * 2048)
        sent[0] += 2048
        time.sleep(0.02)  # on the wire before the "+++" (the module holds back after it)

    for round_ in range(3):
        s.sendall(b"x")  # mapped
        stream.before = send_ok_lines
        eq(m.command("AT"), [])
        eq(stream.stalls, round_ + 1)
    peer.settimeout(1)
    heard = b""
    try:
        while len(heard) < 3:
            chunk = peer.recv(100)
            if not chunk:
                break
            heard += chunk
        time.sleep(0.2)
        peer.setblocking(False)
        heard += peer.recv(100) or b""  # anything more would be a command
    except OSError:
        pass
    eq(heard, b"xxx")
    peer.close()
    got = bytearray()
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    eq(len(got), len(OK_UNIT) * sent[0])
    eq(bytes(got), OK_UNIT * sent[0])
    s.close()
    m.stop()


run(globals())
