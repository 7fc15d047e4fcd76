"""The driver on CPython against the simulator: life cycle, TCP, UDP, servers, many sockets.

Every peer is a real loopback socket run by the test; the module is the simulator.
"""

import socket
import threading
import time

import pytest
import wip
from wip.errors import EAGAIN, ETIMEDOUT


def test_start_is_repeatable_and_version_is_two_lines(wmodem):
    wmodem.start()  # resync from a known state works too (spec §8)
    lines = wmodem.version().split("\n")
    assert len(lines) == 2 and lines[0].startswith("WIP soft")
    assert wmodem.started


def test_config_reads_and_writes_stack_options(wmodem):
    table = wmodem.config()
    assert sorted(table) == list(range(13)) and table[6] == 20  # D10
    wmodem.config(0, 10)
    assert wmodem.config(0) == 10
    with pytest.raises(wip.WipError) as exc:
        wmodem.config(0, 300)
    assert exc.value.code == 801


def test_gprs_returns_local_address_and_bearer_is_up(wmodem_factory):
    m = wmodem_factory(gprs=False)
    assert not m.bearer_up
    assert m.gprs("internet", user="me", password="pw") == "127.0.0.1"
    assert m.bearer_up
    assert m.gprs("internet") == "127.0.0.1"  # 804 / already started are fine (D19)


def test_tcp_client_round_trip(wmodem, echo):
    with wmodem.socket(wip.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(("127.0.0.1", echo.tcp_port))
        for payload in (b"hello", b"+++", bytes([3, 16, 3, 16, 16]), b"x" * 3000):
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                got += s.recv(4096)
            assert got == payload


def test_tcp_stream_protocol(wmodem, echo):
    s = wmodem.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", echo.tcp_port))
    assert s.write(b"line one\nline two\nrest") == 22
    assert s.readline() == b"line one\n"
    assert s.read(4) == b"line"
    buf = bytearray(5)
    assert s.readinto(buf) == 5 and buf == b" two\n"
    assert s.recv(10) == b"rest"
    s.close()
    s.close()


def test_tcp_server_accepts_loopback_clients(wmodem):
    srv = wmodem.socket()
    srv.settimeout(5)
    srv.bind(("", 0x7A01))
    srv.listen(2)
    clients = []
    for i in range(2):
        c = socket.create_connection(("127.0.0.1", 0x7A01), timeout=5)
        c.sendall(b"from client %d" % i)
        clients.append(c)
    for _ in range(2):
        conn, addr = srv.accept()
        assert addr[0] == "127.0.0.1" and isinstance(addr[1], int)
        conn.settimeout(5)
        data = b""
        while len(data) < 13:
            data += conn.recv(100)
        n = int(data[-1:])
        conn.sendall(b"reply %d" % n)
        assert clients[n].recv(100) == b"reply %d" % n
        conn.close()
        assert clients[n].recv(100) == b""  # FIN after +WIPCLOSE (D39)
    srv.close()
    for c in clients:
        c.close()


def test_accept_timeout_and_nonblocking(wmodem):
    srv = wmodem.socket()
    srv.bind(("", 0x7A02))
    srv.listen(1)
    srv.settimeout(0)
    with pytest.raises(OSError) as exc:
        srv.accept()
    assert exc.value.errno == EAGAIN
    srv.settimeout(0.2)
    t0 = time.monotonic()
    with pytest.raises(OSError) as exc:
        srv.accept()
    assert exc.value.errno == ETIMEDOUT
    assert 0.15 < time.monotonic() - t0 < 2


def test_udp_echo_keeps_datagram_boundaries(wmodem, echo):
    s = wmodem.socket(wip.SOCK_DGRAM)
    s.settimeout(5)
    addr = ("127.0.0.1", echo.udp_port)
    payloads = [b"one", bytes([3, 3, 16]), b"+++", b"z" * 1400]
    for p in payloads:
        assert s.sendto(p, addr) == len(p)
    for p in payloads:
        data, frm = s.recvfrom(2000)
        assert data == p
        assert frm == ("127.0.0.1", echo.udp_port)
    s.sendto(b"abcdef", addr)
    assert s.recv(3) == b"abc"  # longer datagrams are cut, like CPython
    with pytest.raises(OSError):
        s.sendto(b"x" * 5841, addr)  # D58
    s.close()


def test_udp_server_answers_each_sender(wmodem):
    srv = wmodem.socket(wip.SOCK_DGRAM)
    srv.settimeout(5)
    srv.bind(("", 0x7A03))
    peers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for p in peers:
        p.bind(("127.0.0.1", 0))
        p.settimeout(5)
    for round_ in range(2):
        for i, p in enumerate(peers):
            p.sendto(b"ping %d %d" % (i, round_), ("127.0.0.1", 0x7A03))
        seen = set()
        for _ in peers:
            data, addr = srv.recvfrom(100)
            i = int(data.split()[1])
            assert addr == ("127.0.0.1", peers[i].getsockname()[1])
            srv.sendto(b"pong " + data, addr)  # the last sender can be answered (D58)
            seen.add(i)
            assert peers[i].recv(100) == b"pong " + data
        assert seen == {0, 1}
    other = ("127.0.0.1", peers[0].getsockname()[1])
    if srv.sender != other:
        with pytest.raises(OSError):
            srv.sendto(b"x", other)
    srv.close()
    for p in peers:
        p.close()


def test_udp_connect_then_send_and_recv(wmodem, echo):
    s = wmodem.socket(wip.SOCK_DGRAM)
    s.settimeout(5)
    s.connect(("127.0.0.1", echo.udp_port))
    s.send(b"hi")
    assert s.recv(10) == b"hi"
    with pytest.raises(OSError):
        s.sendto(b"x", ("127.0.0.1", 9))  # connected to another peer
    s.close()


def test_eight_tcp_and_eight_udp_sockets_interleaved(wmodem, echo):
    tcps, udps = [], []
    for _ in range(8):
        t = wmodem.socket()
        t.settimeout(5)
        t.connect(("127.0.0.1", echo.tcp_port))
        tcps.append(t)
        u = wmodem.socket(wip.SOCK_DGRAM)
        u.settimeout(5)
        u.connect(("127.0.0.1", echo.udp_port))
        udps.append(u)
    assert sorted(s.idx for s in tcps) == list(range(1, 9))
    assert sorted(s.idx for s in udps) == list(range(1, 9))
    for rnd in range(2):
        for i in range(8):
            tcps[i].sendall(b"tcp %d %d;" % (i, rnd))
            udps[i].send(b"udp %d %d" % (i, rnd))
        for i in reversed(range(8)):
            want = b"tcp %d %d;" % (i, rnd)
            got = b""
            while len(got) < len(want):
                got += tcps[i].recv(100)
            assert got == want
            assert udps[i].recv(100) == b"udp %d %d" % (i, rnd)
    for s in tcps + udps:
        s.close()
    assert all(x is None for x in wmodem._tcp) and all(x is None for x in wmodem._udp)


def test_fragmented_module_output(wmodem, echo):
    assert wmodem.sim.control("split 1").startswith("OK")
    s = wmodem.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", echo.tcp_port))
    payload = bytes(range(256)) + b"\r\nOK\r\n+++"
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        got += s.recv(1000)
    assert got == payload
    assert wmodem.config(4) == 536
    s.close()


def test_urcs_during_a_command_are_not_lost(wmodem):
    srv = wmodem.socket()
    srv.settimeout(5)
    srv.bind(("", 0x7A04))
    srv.listen(4)
    peers = []

    def connect_later():
        for _ in range(3):
            time.sleep(0.01)
            peers.append(socket.create_connection(("127.0.0.1", 0x7A04), timeout=5))

    t = threading.Thread(target=connect_later)
    t.start()
    for _ in range(15):
        assert len(wmodem.config()) == 13  # X12: the +WIPACCEPT URCs come between replies
    t.join()
    conns = [srv.accept()[0] for _ in range(3)]
    assert len({c.idx for c in conns}) == 3
    for c in conns + [srv]:
        c.close()
    for p in peers:
        p.close()


def test_socket_options_map_to_wipopt(wmodem, echo):
    s = wmodem.socket()
    s.setsockopt(wip.IPPROTO_TCP, wip.TCP_NODELAY, 1)  # stored until created
    s.setsockopt(wip.SOL_SOCKET, wip.SO_REUSEADDR, 1)
    s.connect(("127.0.0.1", echo.tcp_port))
    assert s.getsockopt(wip.IPPROTO_TCP, wip.TCP_NODELAY) == 1
    assert s.getsockopt(wip.IPPROTO_IP, wip.IP_TTL) == 64
    s.setsockopt(wip.IPPROTO_IP, wip.IP_TTL, 20)
    assert s.getsockopt(wip.IPPROTO_IP, wip.IP_TTL) == 20
    assert wmodem.command(f"+WIPOPT=2,{s.idx},1,8") == ["+WIPOPT: 2,8,20"]
    with pytest.raises(OSError):
        s.setsockopt(wip.SOL_SOCKET, 8, 4096)
    s.close()


def test_getaddrinfo_shape(wmodem):
    (family, type_, proto, _, addr), = wmodem.getaddrinfo("localhost", 80)
    assert (family, type_, proto, addr) == (wip.AF_INET, wip.SOCK_STREAM, wip.IPPROTO_TCP,
                                            ("localhost", 80))
    with pytest.raises(ValueError):
        wmodem.getaddrinfo('bad"host', 80)


def test_connect_by_name_through_the_module(wmodem, echo):
    s = wmodem.socket()
    s.settimeout(5)
    s.connect(wmodem.getaddrinfo("localhost", echo.tcp_port)[0][-1])
    s.sendall(b"named")
    assert s.recv(10) == b"named"
    s.close()


def test_stop_gprs_and_stop_release_sockets(wmodem, echo):
    s = wmodem.socket()
    s.connect(("127.0.0.1", echo.tcp_port))
    wmodem.stop_gprs()
    assert not wmodem.bearer_up
    with pytest.raises(OSError):
        s.send(b"x")
    wmodem.gprs("internet")
    s2 = wmodem.socket()
    s2.settimeout(5)
    s2.connect(("127.0.0.1", echo.tcp_port))
    s2.sendall(b"again")
    assert s2.recv(10) == b"again"
    wmodem.stop()
    assert not wmodem.started
    with pytest.raises(OSError):
        s2.recv(10)


def test_serial_stream_over_the_simulator_pty(sim_factory, echo):
    sim = sim_factory(transport="pty")
    stream = wip.serial_stream(sim.pty, 115200, rtscts=False)
    try:
        m = wip.Modem(stream, timeout=5, guard_time=0.05)
        m.start()
        assert m.gprs("internet") == "127.0.0.1"
        with m.socket() as s:
            s.settimeout(5)
            s.connect(("127.0.0.1", echo.tcp_port))
            payload = bytes(range(256)) * 8
            s.sendall(payload)
            assert s.read(len(payload)) == payload
    finally:
        stream.close()
