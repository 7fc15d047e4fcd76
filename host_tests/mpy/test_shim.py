# wip.shim: the `socket` module stand-in that umqtt/requests import, against the simulator
# and the runner's loopback echo servers.
# needs: sim
# timeout: 60
import errno
import os
import sys
import time

import wip
from mpytest import eq, ok, raises, run

modem = wip.Modem(wip.tcp_stream("127.0.0.1", int(os.getenv("WIPSIM_PORT"))), timeout=10,
                  guard_time=float(os.getenv("WIPSIM_GUARD")))
modem.start()
modem.gprs("internet")
socket = modem.socket_module()
ECHO_TCP = int(os.getenv("ECHO_TCP_PORT"))
ECHO_UDP = int(os.getenv("ECHO_UDP_PORT"))


def read_exactly(s, n):
    got = b""
    while len(got) < n:
        chunk = s.read(n - len(got))
        if not chunk:
            break
        got += chunk
    return got


def test_constants_are_the_drivers():
    for name in ("AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "IPPROTO_TCP", "IPPROTO_UDP",
                 "IPPROTO_IP", "SOL_SOCKET", "SO_REUSEADDR", "TCP_NODELAY", "IP_TTL", "IP_TOS"):
        eq(getattr(socket, name), getattr(wip, name), name)
    ok(socket.error is OSError)


def test_socket_module_is_cached_per_modem():
    ok(modem.socket_module() is modem.socket_module())


def test_install_as_sys_modules_socket():
    saved = sys.modules.get("socket")
    sys.modules["socket"] = socket
    try:
        import socket as imported

        ok(imported is socket)
        from socket import SOCK_STREAM, getaddrinfo  # noqa: F401

        eq(SOCK_STREAM, wip.SOCK_STREAM)
    finally:
        if saved is None:
            del sys.modules["socket"]
        else:
            sys.modules["socket"] = saved


def test_getaddrinfo_shape():
    ai = socket.getaddrinfo("127.0.0.1", 1883)
    eq(len(ai), 1)
    eq(ai[0][0], socket.AF_INET)
    eq(ai[0][1], socket.SOCK_STREAM)
    eq(ai[0][-1], ("127.0.0.1", 1883))
    ai = socket.getaddrinfo("127.0.0.1", 53, 0, socket.SOCK_DGRAM)
    eq((ai[0][1], ai[0][2]), (socket.SOCK_DGRAM, socket.IPPROTO_UDP))


def test_unsupported_family_and_type():
    raises(OSError, socket.socket, 10, socket.SOCK_STREAM)  # AF_INET6
    raises(OSError, socket.socket, socket.AF_INET, 3)  # SOCK_RAW


def test_inet_pton_ntop():
    eq(socket.inet_pton(socket.AF_INET, "10.0.200.7"), b"\x0a\x00\xc8\x07")
    eq(socket.inet_ntop(socket.AF_INET, b"\x7f\x00\x00\x01"), "127.0.0.1")
    raises(OSError, socket.inet_pton, socket.AF_INET, "1.2.3")
    raises(OSError, socket.inet_pton, socket.AF_INET, "1.2.3.256")


def test_stream_methods_umqtt_and_requests_use():
    s = socket.socket()
    s.settimeout(10)
    s.connect(socket.getaddrinfo("127.0.0.1", ECHO_TCP)[0][-1])
    packet = bytearray(b"\x30\x05abcdeXXXX")
    eq(s.write(packet, 7), 7)  # umqtt: sock.write(pkt, i + 1)
    eq(read_exactly(s, 7), b"\x30\x05abcde")
    s.write(b"line one\r\nline two\r\n")  # requests: readline() for status and headers
    eq(s.readline(), b"line one\r\n")
    eq(s.readline(), b"line two\r\n")
    payload = bytes(range(256)) * 4 + b"+++\x10\x03"  # control bytes of the data mode codec
    s.write(payload)
    eq(read_exactly(s, len(payload)), payload)
    s.close()


def test_nonblocking_read_returns_none_when_idle():
    """umqtt check_msg(): setblocking(False) then read(1) must give None, not block."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(("127.0.0.1", ECHO_TCP))
    s.setblocking(False)
    eq(s.read(1), None)
    s.setblocking(True)
    s.settimeout(10)
    s.write(b"x")
    eq(s.read(1), b"x")
    s.close()


def test_setblocking_true_restores_the_last_timeout():
    """umqtt calls setblocking(True) after each message; a dead link must still time out."""
    s = socket.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", ECHO_TCP))
    s.settimeout(0.3)
    s.setblocking(False)
    eq(s.gettimeout(), 0)
    s.setblocking(True)
    eq(s.gettimeout(), 0.3)
    start = time.ticks_ms()
    err = raises(OSError, s.read, 1)
    eq(err.args[0], errno.ETIMEDOUT)
    ok(250 <= time.ticks_diff(time.ticks_ms(), start) < 5000)
    s.settimeout(None)
    s.setblocking(True)
    eq(s.gettimeout(), None)
    s.close()


def test_udp_through_the_shim():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    addr = socket.getaddrinfo("127.0.0.1", ECHO_UDP, 0, socket.SOCK_DGRAM)[0][-1]
    s.sendto(b"datagram via shim", addr)
    data, sender = s.recvfrom(100)
    eq(data, b"datagram via shim")
    eq(sender[1], ECHO_UDP)
    s.close()


run(globals())
