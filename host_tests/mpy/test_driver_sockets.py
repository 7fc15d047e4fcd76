# The driver on the MicroPython unix port against the simulator: TCP and UDP round trips,
# a TCP server accepting a client, reset as WipError 843, and the proof that the receive hot
# path (recv_into on a mapped TCP socket) allocates nothing: it runs under heap_lock().
# needs: sim
# heapsize: 512K
# timeout: 60
import os
import socket
import time

import micropython
import wip
from mpytest import eq, ok, raises, run
from simlink import control, recv_exact

SIM_PORT = int(os.getenv("WIPSIM_PORT"))
GUARD = float(os.getenv("WIPSIM_GUARD"))
ECHO_TCP = int(os.getenv("ECHO_TCP_PORT"))
ECHO_UDP = int(os.getenv("ECHO_UDP_PORT"))

m = wip.Modem(wip.tcp_stream("127.0.0.1", SIM_PORT), timeout=5, guard_time=GUARD)
m.start()
IP = m.gprs("internet")


def test_gprs_address():
    eq(IP, "127.0.0.1")


def test_tcp_round_trip():
    s = m.socket(wip.SOCK_STREAM)
    s.settimeout(5)
    s.connect(("127.0.0.1", ECHO_TCP))
    payload = bytes(range(256)) + b"+++" + b"\x10\x03" * 50
    s.sendall(payload)
    eq(recv_exact(s, len(payload)), payload)
    s.close()


def test_udp_round_trip():
    s = m.socket(wip.SOCK_DGRAM)
    s.settimeout(5)
    addr = ("127.0.0.1", ECHO_UDP)
    s.sendto(b"first", addr)
    s.sendto(b"\x03\x10+++", addr)
    eq(s.recvfrom(100), (b"first", addr))
    eq(s.recvfrom(100), (b"\x03\x10+++", addr))
    s.close()


def test_server_accepts_a_client():
    srv = m.socket()
    srv.settimeout(5)
    srv.bind(("", 31771))
    srv.listen(1)
    c = socket.socket()
    c.connect(socket.getaddrinfo("127.0.0.1", 31771)[0][-1])
    c.write(b"knock")
    conn, addr = srv.accept()
    eq(addr[0], "127.0.0.1")
    conn.settimeout(5)
    eq(recv_exact(conn, 5), b"knock")
    conn.sendall(b"who is there")
    eq(c.read(12), b"who is there")
    conn.close()
    eq(c.read(1), b"")
    c.close()
    srv.close()


def test_reset_raises_843():
    s = m.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", ECHO_TCP))
    s.sendall(b"x")
    eq(recv_exact(s, 1), b"x")
    ok(control("reset %d" % s.idx).startswith("OK"))
    e = raises(wip.WipError, s.recv, 10)
    eq(e.code, 843)
    s.close()


def test_timeouts():
    s = m.socket()
    s.connect(("127.0.0.1", ECHO_TCP))
    s.settimeout(0)
    e = raises(OSError, s.recv, 10)
    eq(e.errno, 11)
    s.settimeout(0.2)
    t0 = time.ticks_ms()
    e = raises(OSError, s.recv, 10)
    eq(e.errno, 110)
    ok(time.ticks_diff(time.ticks_ms(), t0) >= 150)
    s.close()


def test_bad_string_is_value_error():
    raises(ValueError, m.gprs, 'a"b')
    raises(ValueError, m.socket().connect, ("x\r", 80))
    raises(ValueError, m.socket().connect, ("127.0.0.1", 70000))


def test_recv_hot_path_allocates_nothing():
    s = m.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", ECHO_TCP))
    payload = bytes((i * 7 + 3) & 0xFF for i in range(6000))  # DLE and ETX included
    buf = bytearray(256)
    total = len(payload)
    s.sendall(payload)  # maps the socket; the echo comes back while we read
    got = 0
    checksum = 0
    micropython.heap_lock()
    try:
        while got < total:
            k = s.recv_into(buf)
            if k == 0:
                break
            i = 0
            while i < k:
                checksum = (checksum + buf[i]) & 0xFFFF
                i += 1
            got += k
    finally:
        micropython.heap_unlock()
    eq(got, total)
    eq(checksum, sum(payload) & 0xFFFF)
    s.close()


def test_udp_server_answers_its_sender():
    srv = m.socket(wip.SOCK_DGRAM)
    srv.settimeout(5)
    srv.bind(("", 31772))
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.bind(socket.getaddrinfo("127.0.0.1", 31773)[0][-1])
    c.sendto(b"hello server", socket.getaddrinfo("127.0.0.1", 31772)[0][-1])
    data, addr = srv.recvfrom(100)
    eq(data, b"hello server")
    eq(addr, ("127.0.0.1", 31773))
    srv.sendto(b"hello client", addr)
    eq(c.recv(100), b"hello client")
    c.close()
    srv.close()


def test_stream_protocol_and_many_sockets():
    socks = []
    for _ in range(4):
        s = m.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", ECHO_TCP))
        socks.append(s)
    for i, s in enumerate(socks):
        s.write(b"line %d\nrest" % i)
    for i in reversed(range(4)):
        eq(socks[i].readline(), b"line %d\n" % i)
        eq(socks[i].read(4), b"rest")
    for s in socks:
        s.close()


run(globals())
