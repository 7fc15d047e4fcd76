"""Conformance cases C1-C5, C11-C15, C18 and X1-X12 of the spec (§6), replayed on the UART.

AT-visible ports below 1024 are shifted by the simulator's port offset; the harness uses
sim.real_port(). URC order between independent objects is not assumed (D78).
"""

import socket
import struct
import time

import pytest
from atclient import dle_escape
from harness import GUARD, listener, open_client, prelude, recv_exactly, udp_peer


def accept(srv):
    conn, _ = srv.accept()
    conn.settimeout(5)
    return conn


def connect(sim, at_port):
    return socket.create_connection(("127.0.0.1", sim.real_port(at_port)), timeout=5)


def assert_eof(sock, timeout=5.0):
    sock.settimeout(timeout)
    assert sock.recv(100) == b""


def urc_set(client, prefixes, timeout=5.0):
    """Collect one URC for each prefix, whatever their order (D78)."""
    return {p: client.expect_urc(p, timeout) for p in prefixes}


# ---------------------------------------------------------------- C1 / C2: TCP server
@pytest.mark.parametrize("bearer", [6, 5], ids=["C1-gprs", "C2-gsm"])
def test_c1_c2_tcp_server(sim_factory, bearer):
    sim = sim_factory()
    at = open_client(sim)
    prelude(at, bearer)
    assert at.cmd("AT+WIPCREATE=3,1,80,5,8") == ([], "OK")
    peer = connect(sim, 80)
    assert at.expect_urc("+WIPACCEPT:") == "+WIPACCEPT: 1,5"
    at.connect_data("AT+WIPDATA=2,5,1")
    at.send_raw(b"hello")
    assert recv_exactly(peer, 5) == b"hello"
    peer.sendall(b"world")
    assert at.read_raw(5) == b"world"
    assert at.escape(GUARD) == b""
    assert at.cmd("AT+WIPCLOSE=2,5") == ([], "OK")
    assert_eof(peer)


@pytest.mark.parametrize("bearer", [6, 5], ids=["C3-gprs", "C4-gsm"])
def test_c3_c4_tcp_client(sim_factory, bearer):
    sim = sim_factory()
    at = open_client(sim)
    prelude(at, bearer)
    srv = listener(sim, 80)
    assert at.cmd('AT+WIPCREATE=2,1,"127.0.0.1",80') == ([], "OK")
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 2,1"
    peer = accept(srv)
    at.connect_data("AT+WIPDATA=2,1,1")
    at.send_raw(b"hello")
    assert recv_exactly(peer, 5) == b"hello"
    peer.sendall(b"world")
    assert at.read_raw(5) == b"world"
    assert at.escape(GUARD) == b""
    assert at.cmd("AT+WIPCLOSE=2,1") == ([], "OK")
    assert_eof(peer)


def test_c1_over_pty(sim_factory):
    sim = sim_factory(transport="pty")
    at = open_client(sim)
    prelude(at)
    assert at.cmd("AT+WIPCREATE=3,1,80,5,8") == ([], "OK")
    peer = connect(sim, 80)
    assert at.expect_urc("+WIPACCEPT:") == "+WIPACCEPT: 1,5"
    at.connect_data("AT+WIPDATA=2,5,1")
    at.send_raw(b"hello")
    assert recv_exactly(peer, 5) == b"hello"
    peer.sendall(b"world")
    assert at.read_raw(5) == b"world"
    assert at.escape(GUARD) == b""
    assert at.cmd("AT+WIPCLOSE=2,5") == ([], "OK")
    assert_eof(peer)


def test_c3_over_pty(sim_factory):
    sim = sim_factory(transport="pty")
    at = open_client(sim)
    prelude(at)
    srv = listener(sim, 80)
    assert at.cmd('AT+WIPCREATE=2,1,"127.0.0.1",80') == ([], "OK")
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 2,1"
    peer = accept(srv)
    at.connect_data("AT+WIPDATA=2,1,1")
    at.send_raw(b"hello")
    assert recv_exactly(peer, 5) == b"hello"
    peer.sendall(b"world")
    assert at.read_raw(5) == b"world"
    assert at.escape(GUARD) == b""
    assert at.cmd("AT+WIPCLOSE=2,1") == ([], "OK")


# ---------------------------------------------------------------- C5: UDP
@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_c5_udp_client_then_server(sim_factory, transport):
    sim = sim_factory(transport=transport)
    at = open_client(sim)
    prelude(at)
    peer = udp_peer(sim, 8080)
    assert at.cmd('AT+WIPCREATE=1,1,80,"127.0.0.1",8080') == ([], "OK")
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 1,1"
    at.connect_data("AT+WIPDATA=1,1,1")
    at.send_raw(b"ping\x03")
    data, addr = peer.recvfrom(100)
    assert data == b"ping"
    assert addr[1] == sim.real_port(80)
    peer.sendto(b"pong", ("127.0.0.1", sim.real_port(80)))
    assert at.read_raw(5) == b"pong\x03"
    assert at.escape(GUARD) == b""
    assert at.cmd("AT+WIPCLOSE=1,1") == ([], "OK")
    assert at.cmd("AT+WIPCREATE=1,1,1234") == ([], "OK")
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 1,1"
    first = udp_peer(sim, 2397)
    second = udp_peer(sim, 58)
    letters = b"abcdefghijklmnopqrstuvwxy"
    first.sendto(letters, ("127.0.0.1", 1234))
    assert at.expect_urc("+WIPDATA:") == '+WIPDATA: 1,1,25,"127.0.0.1",2397'
    at.connect_data("AT+WIPDATA=1,1,1")
    assert at.read_raw(26) == letters + b"\x03"
    second.sendto(letters * 2, ("127.0.0.1", 1234))
    time.sleep(0.1)
    assert at.escape(GUARD) == b""  # D66: another sender is held
    assert at.expect_urc("+WIPDATA:") == '+WIPDATA: 1,1,50,"127.0.0.1",58'
    at.connect_data("AT+WIPDATA=1,1,1")
    assert at.read_raw(51) == letters * 2 + b"\x03"
    at.escape(GUARD)


# ---------------------------------------------------------------- C11-C15
def test_c11_server_spawning_its_maximum(gprs, sim):
    at = gprs
    assert at.cmd("AT+WIPCREATE=3,1,80,5,6") == ([], "OK")
    a = connect(sim, 80)
    assert at.expect_urc("+WIPACCEPT:") == "+WIPACCEPT: 1,5"
    b = connect(sim, 80)
    assert at.expect_urc("+WIPACCEPT:") == "+WIPACCEPT: 1,6"
    c = connect(sim, 80)
    assert_eof(c)  # D35: accepted then closed, no URC
    assert at.no_urc(0.2) == []
    assert at.cmd("AT+WIPCLOSE=2,5") == ([], "OK")
    assert_eof(a)
    connect(sim, 80)
    assert at.expect_urc("+WIPACCEPT:") == "+WIPACCEPT: 1,5"  # D30
    b.close()


def test_c12_reserved_indexes_refuse_a_new_server(gprs, sim):
    at = gprs
    assert at.cmd("AT+WIPCREATE=3,2,80,1,2") == ([], "OK")
    assert at.cmd('AT+WIPCREATE=2,3,"127.0.0.1",80') == ([], "OK")
    urcs = urc_set(at, ["+WIPREADY:", "+WIPACCEPT:"])
    assert urcs == {"+WIPREADY:": "+WIPREADY: 2,3", "+WIPACCEPT:": "+WIPACCEPT: 2,1"}
    at.connect_data("AT+WIPDATA=2,3,1")
    assert at.escape(GUARD) == b""
    at.connect_data("AT+WIPDATA=2,1,1")
    at.send_raw(b"\x03")
    assert at.escape(GUARD) == b""
    assert at.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,3"
    assert at.cmd("AT+WIPCLOSE=3,1") == ([], "OK")
    assert at.cmd("AT+WIPCREATE=3,2,81,2,3") == ([], "+CME ERROR: 845")
    # D31: as intended (closing server 2) the range is still held by spawned socket 1
    assert at.cmd("AT+WIPCLOSE=3,2") == ([], "OK")
    assert at.cmd("AT+WIPCREATE=3,2,81,2,3") == ([], "+CME ERROR: 845")
    assert at.cmd("AT+WIPCLOSE=2,1") == ([], "OK")
    assert at.cmd("AT+WIPCLOSE=2,3") == ([], "OK")
    assert at.cmd("AT+WIPCREATE=3,2,81,2,3") == ([], "OK")


def test_c13_server_range_covering_an_existing_client(gprs, sim):
    at = gprs
    srv = listener(sim, 80)
    assert at.cmd('AT+WIPCREATE=2,1,"127.0.0.1",80') == ([], "OK")
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 2,1"
    assert at.cmd("AT+WIPCREATE=3,2,80,1,2") == ([], "+CME ERROR: 845")
    srv.close()


def full_load(at, sim, udp_base, server_ports, client_port):
    """The common part of C14 and C16."""
    for n in range(1, 9):
        line = f'AT+WIPCREATE=1,{n},{udp_base + n - 1},"127.0.0.1",{74 + n}'
        assert at.cmd(line) == ([], "OK")
        assert at.expect_urc("+WIPREADY:") == f"+WIPREADY: 1,{n}"
    assert at.cmd('AT+WIPCREATE=1,9,63,"127.0.0.1",83') == ([], "+CME ERROR: 830")
    for n, port in enumerate(server_ports, start=1):
        assert at.cmd(f"AT+WIPCREATE=3,{n},{port},{n},{n}") == ([], "OK")
    assert at.cmd(f"AT+WIPCREATE=3,5,{server_ports[1]},5,5") == ([], "+CME ERROR: 830")
    assert at.cmd(f'AT+WIPCREATE=2,1,"127.0.0.1",{server_ports[0]}') == ([],
                                                                         "+CME ERROR: 845")
    peers = [connect(sim, port) for port in server_ports]
    accepted = sorted(at.expect_urc("+WIPACCEPT:") for _ in server_ports)
    assert accepted == [f"+WIPACCEPT: {n},{n}" for n in range(1, 5)]
    srv = listener(sim, client_port)
    for n in range(5, 9):
        assert at.cmd(f'AT+WIPCREATE=2,{n},"127.0.0.1",{client_port}') == ([], "OK")
        assert at.expect_urc("+WIPREADY:") == f"+WIPREADY: 2,{n}"
    assert at.cmd(f'AT+WIPCREATE=2,8,"127.0.0.1",{client_port}') == ([], "+CME ERROR: 840")
    assert at.cmd(f'AT+WIPCREATE=2,9,"127.0.0.1",{client_port}') == ([], "+CME ERROR: 830")
    return peers, srv


def test_c14_full_load(gprs, sim):
    peers, srv = full_load(gprs, sim, 55, [80, 81, 82, 83], 8080)
    status = sim.control("status")
    assert '"sockets":20' in status
    assert gprs.cmd('AT+WIPCREATE=1,1,63,"127.0.0.1",83') == ([], "+CME ERROR: 840")
    srv.close()


def test_c15_socket_max_lowered_to_3(at):
    try:
        assert at.cmd("AT+WIPCFG=1") == ([], "OK")
        assert at.cmd("AT+WIPCFG=2,6,3") == ([], "OK")
        assert at.cmd("AT+WIPCFG=4,1") == ([], "OK")
        assert at.cmd("AT+WIPCFG=0") == ([], "OK")
        assert at.cmd("AT+WIPCFG=1") == ([], "OK")
        for line in ("AT+WIPBR=1,6", 'AT+WIPBR=2,6,11,"APN name"',
                     'AT+WIPBR=2,6,0,"user name"', 'AT+WIPBR=2,6,1,"passwd"', "AT+WIPBR=4,6,0"):
            assert at.cmd(line) == ([], "OK")
        for n in range(1, 4):
            assert at.cmd(f'AT+WIPCREATE=1,{n},{54 + n},"127.0.0.1",{74 + n}') == ([], "OK")
            assert at.expect_urc("+WIPREADY:") == f"+WIPREADY: 1,{n}"
        assert at.cmd('AT+WIPCREATE=1,4,58,"127.0.0.1",78') == ([], "+CME ERROR: 838")
    finally:
        at.cmd("AT+WIPCFG=4,0")


def test_c15_unstored_socket_max_is_not_applied(at):
    """D13: option 6 only takes effect at the next start, and only if stored."""
    assert at.cmd("AT+WIPCFG=1") == ([], "OK")
    assert at.cmd("AT+WIPCFG=2,6,3") == ([], "OK")
    info, _ = at.cmd("AT+WIPCFG?")
    assert "+WIPCFG: 6,3" in info
    assert at.cmd("AT+WIPCFG=0") == ([], "OK")
    assert at.cmd("AT+WIPCFG=1") == ([], "OK")
    info, _ = at.cmd("AT+WIPCFG?")
    assert "+WIPCFG: 6,20" in info


# ---------------------------------------------------------------- C18
def test_c18_client_and_server_switching_the_mapping(gprs):
    at = gprs
    assert at.cmd("AT+WIPCREATE=3,2,80,1,2") == ([], "OK")
    assert at.cmd('AT+WIPCREATE=2,3,"127.0.0.1",80') == ([], "OK")
    urcs = urc_set(at, ["+WIPREADY:", "+WIPACCEPT:"])
    assert urcs == {"+WIPREADY:": "+WIPREADY: 2,3", "+WIPACCEPT:": "+WIPACCEPT: 2,1"}
    at.connect_data("AT+WIPDATA=2,3,1")
    at.send_raw(b"abc")
    assert at.escape(GUARD) == b""
    assert at.expect_urc("+WIPDATA:") == "+WIPDATA: 2,1,3"
    at.connect_data("AT+WIPDATA=2,1,1")
    assert at.read_raw(3) == b"abc"
    assert at.escape(GUARD) == b""


# ---------------------------------------------------------------- X1-X12
def test_x1_cmee_modes_and_syntax_errors(sim):
    at = open_client(sim)
    at.drain(0.05)
    at.ok("ATE0")
    assert at.cmd("AT+CMEE=0") == ([], "OK")
    assert at.cmd("AT+WIPCFG=1") == ([], "OK")
    assert at.cmd("AT+WIPCFG=1") == ([], "ERROR")
    assert at.cmd("AT+CMEE=1") == ([], "OK")
    assert at.cmd("AT+WIPCFG=1") == ([], "+CME ERROR: 844")
    assert at.cmd("AT+WIPCFG=2,0") == ([], "ERROR")
    assert at.cmd("AT+WIPCFG=2,0,300") == ([], "+CME ERROR: 801")
    assert at.cmd("AT+WIPCFG=2,99,1") == ([], "+CME ERROR: 800")
    assert at.cmd("AT+WIPFOO") == ([], "ERROR")
    assert at.cmd("AT+WISOPT=7,1,1,73") == ([], "ERROR")


def test_x1_over_pty(sim_factory):
    sim = sim_factory(transport="pty")
    at = open_client(sim)
    at.drain(0.05)
    at.ok("ATE0")
    assert at.cmd("AT+CMEE=0") == ([], "OK")
    assert at.cmd("AT+WIPCFG=1") == ([], "OK")
    assert at.cmd("AT+WIPCFG=1") == ([], "ERROR")
    assert at.cmd("AT+CMEE=1") == ([], "OK")
    assert at.cmd("AT+WIPCFG=1") == ([], "+CME ERROR: 844")
    assert at.cmd("AT+WIPCFG=2,0") == ([], "ERROR")
    assert at.cmd("AT+WISOPT=7,1,1,73") == ([], "ERROR")


def test_x2_preconditions(at):
    assert at.cmd("AT+WIPCREATE=1,1,80") == ([], "+CME ERROR: 803")
    assert at.cmd("AT+WIPBR=1,6") == ([], "+CME ERROR: 803")
    assert at.cmd("AT+WIPCFG=1") == ([], "OK")
    assert at.cmd("AT+WIPCREATE=1,1,80") == ([], "+CME ERROR: 803")
    assert at.cmd("AT+WIPBR=1,6") == ([], "OK")
    assert at.cmd("AT+WIPBR=1,6") == ([], "+CME ERROR: 804")
    assert at.cmd("AT+WIPBR=4,5,0") == ([], "+CME ERROR: 803")
    assert at.cmd("AT+WIPBR=3,6,3") == ([], "+CME ERROR: 800")


def mapped_tcp_client(at, sim, port=80):
    """C3 up to CONNECT; returns the harness side of the connection."""
    srv = listener(sim, port)
    assert at.cmd(f'AT+WIPCREATE=2,1,"127.0.0.1",{port}') == ([], "OK")
    assert at.expect_urc("+WIPREADY:") == "+WIPREADY: 2,1"
    peer = accept(srv)
    srv.close()
    at.connect_data("AT+WIPDATA=2,1,1")
    return peer


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_x3_x4_escaping_and_peer_shutdown(sim_factory, transport):
    sim = sim_factory(transport=transport)
    at = open_client(sim)
    prelude(at)
    peer = mapped_tcp_client(at, sim)
    at.send_raw(bytes.fromhex("41 10 03 42 10 10 43 10 44"))
    assert recv_exactly(peer, 6) == bytes.fromhex("41 03 42 10 43 44")
    peer.sendall(bytes.fromhex("03 10 45"))
    assert at.read_raw(5) == bytes.fromhex("10 03 10 10 45")
    # X4
    peer.shutdown(socket.SHUT_WR)
    assert at.read_raw_until(b"SHUTDOWN\r\n") == b"\x03\r\nSHUTDOWN\r\n"
    at.send_raw(b"bye")
    assert recv_exactly(peer, 3) == b"bye"
    assert at.escape(GUARD) == b""
    assert at.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,1"
    assert at.cmd("AT+WIPCLOSE=2,1") == ([], "OK")


def test_x3_spec_worked_example(gprs, sim):
    """§3.12: host ETX shuts the sending direction down; the peer gets FIN."""
    peer = mapped_tcp_client(gprs, sim)
    gprs.send_raw(bytes.fromhex("41 10 03 42 10 10 43 10 44 03"))
    assert recv_exactly(peer, 7) == bytes.fromhex("41 03 42 10 43 44")
    assert_eof(peer)
    peer.sendall(bytes.fromhex("03 10 45"))
    peer.shutdown(socket.SHUT_WR)
    expected = bytes.fromhex("10 03 10 10 45 03") + b"\r\nSHUTDOWN\r\n"
    assert gprs.read_raw(len(expected)) == expected


def test_x5_reset_while_mapped(gprs, sim):
    peer = mapped_tcp_client(gprs, sim)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()
    assert gprs.read_raw(1) == b"\x03"
    assert gprs.read_reply() == ([], "+CME ERROR: 843")
    assert gprs.cmd("AT+WIPDATA=2,1,1") == ([], "+CME ERROR: 843")
    assert gprs.cmd("AT+WIPCLOSE=2,1") == ([], "OK")


def test_x6_peer_close_while_not_mapped_with_unread_data(gprs, sim):
    srv = listener(sim, 80)
    assert gprs.cmd('AT+WIPCREATE=2,1,"127.0.0.1",80') == ([], "OK")
    gprs.expect_urc("+WIPREADY:")
    peer = accept(srv)
    peer.sendall(b"tail")
    peer.close()
    line = gprs.expect_urc("+WIPDATA:")
    assert line.startswith("+WIPDATA: 2,1,") and 1 <= int(line.rsplit(",", 1)[1]) <= 4
    assert gprs.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,1"
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert gprs.read_raw_until(b"SHUTDOWN\r\n") == b"tail\x03\r\nSHUTDOWN\r\n"
    assert gprs.escape(GUARD) == b""
    # the marker is repeated on every later continuous mapping (D53)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert gprs.read_raw_until(b"SHUTDOWN\r\n") == b"\x03\r\nSHUTDOWN\r\n"
    gprs.escape(GUARD)


def test_x7_udp_limit_and_empty_datagrams(gprs, sim):
    peer = udp_peer(sim, 88)
    assert gprs.cmd('AT+WIPCREATE=1,1,80,"127.0.0.1",88') == ([], "OK")
    gprs.expect_urc("+WIPREADY:")
    gprs.connect_data("AT+WIPDATA=1,1,1")
    payload = bytes(0x20 + i % 90 for i in range(6000))  # no 0x03 / 0x10
    gprs.send_raw(payload + b"\x03\x03")
    first, _ = peer.recvfrom(10000)
    second, _ = peer.recvfrom(10000)
    assert (first, second) == (payload[:5840], payload[5840:])
    peer.settimeout(0.2)
    with pytest.raises(TimeoutError):
        peer.recvfrom(10000)
    gprs.escape(GUARD)


def test_x8_plus_without_guards_is_data_in_transparent_mode(gprs, sim):
    srv = listener(sim, 80)
    assert gprs.cmd('AT+WIPCREATE=2,1,"127.0.0.1",80') == ([], "OK")
    gprs.expect_urc("+WIPREADY:")
    peer = accept(srv)
    gprs.connect_data("AT+WIPDATA=2,1,2")
    gprs.send_raw(b"a+++b")
    assert recv_exactly(peer, 5) == b"a+++b"
    assert gprs.escape(GUARD) == b""
    peer.settimeout(0.2)
    with pytest.raises(TimeoutError):
        peer.recv(10)


def test_x9_wipdata_protocol_errors(gprs):
    assert gprs.cmd("AT+WIPCREATE=1,1,80") == ([], "OK")
    gprs.expect_urc("+WIPREADY:")
    assert gprs.cmd("AT+WIPDATA=1,1,2") == ([], "+CME ERROR: 837")
    assert gprs.cmd("AT+WIPDATA=3,1,1") == ([], "+CME ERROR: 837")
    assert gprs.cmd("AT+WIPDATA=2,9,1") == ([], "+CME ERROR: 830")
    assert gprs.cmd("AT+WIPDATA=2,7,1") == ([], "+CME ERROR: 831")


def test_x10_wipclose_rules(gprs):
    assert gprs.cmd("AT+WIPCLOSE=2,7") == ([], "OK")
    assert gprs.cmd("AT+WIPCLOSE=2,9") == ([], "+CME ERROR: 830")
    assert gprs.cmd("AT+WIPCLOSE=6,1") == ([], "+CME ERROR: 831")
    assert gprs.cmd("AT+WIPCLOSE=8,1") == ([], "+CME ERROR: 837")


def test_x11_wipopt_rules(gprs):
    assert gprs.cmd("AT+WIPCREATE=3,1,80,1,8") == ([], "OK")
    assert gprs.cmd("AT+WIPOPT=3,1,1,1") == ([], "+CME ERROR: 835")
    assert gprs.cmd("AT+WIPOPT=3,1,2,0,1234") == ([], "+CME ERROR: 835")
    assert gprs.cmd("AT+WIPOPT=1,5,1,0") == ([], "+CME ERROR: 830")
    assert gprs.cmd("AT+WIPOPT=3,1,1,40") == ([], "+CME ERROR: 800")


def test_x12_urcs_are_deferred_during_a_command(sim_factory):
    """The accept happens while a slow (paced) +WIPCFG? reply is being sent."""
    sim = sim_factory("--baud", "9600")
    at = open_client(sim)
    prelude(at)
    assert at.cmd("AT+WIPCREATE=3,1,80,1,4") == ([], "OK")
    at.send_raw(b"AT+WIPCFG?\r")
    time.sleep(0.05)
    peer = connect(sim, 80)
    info, final = at.read_reply()
    assert final == "OK"
    assert info == [f"+WIPCFG: {opt},{value}" for opt, value in
                    zip(range(13), [64, 0, 60, 0, 536, 0, 20, 32, 0, 0, 4, 4, 0], strict=True)]
    assert at.expect_urc("+WIPACCEPT:") == "+WIPACCEPT: 1,1"
    peer.close()


def test_x12_raw_order(sim_factory):
    """On the wire the URC comes after the final OK, never between information lines."""
    sim = sim_factory("--baud", "9600")
    at = open_client(sim)
    prelude(at)
    assert at.cmd("AT+WIPCREATE=3,1,80,1,4") == ([], "OK")
    at.send_raw(b"AT+WIPCFG?\r")
    time.sleep(0.05)
    peer = connect(sim, 80)
    raw = at.read_raw_until(b"+WIPACCEPT: 1,1\r\n")
    assert raw.index(b"+WIPCFG: 12,0") < raw.index(b"\r\nOK\r\n") < raw.index(b"+WIPACCEPT")
    peer.close()


def test_dle_escape_helper_roundtrip():
    from atclient import dle_decode
    data = bytes(range(256)) * 2
    assert dle_decode(dle_escape(data)) == [data]
