"""Data-mode byte rules (§3): binary round trips, +++ guards, URC queueing, coalescing."""

import socket
import time

import pytest
from atclient import dle_decode, dle_escape
from harness import GUARD, listener, recv_exactly, udp_peer

ALL_BYTES = bytes(range(256))
NASTY = b"\x10" * 5 + b"\x03" * 5 + b"\x10\x03" * 7 + b"+++" + b"\x03\x10" * 3 + b"+++\x10"


def tcp_client(at, sim, port=80, idx=1):
    srv = listener(sim, port)
    assert at.cmd(f'AT+WIPCREATE=2,{idx},"127.0.0.1",{port}') == ([], "OK")
    assert at.expect_urc("+WIPREADY:") == f"+WIPREADY: 2,{idx}"
    peer, _ = srv.accept()
    peer.settimeout(5)
    srv.close()
    return peer


def read_decoded(at, count, timeout=5.0):
    """Read module->host continuous-mode bytes until `count` data bytes are decoded."""
    def enough(buf):
        data = b"".join(x for x in dle_decode(buf) if x is not None)
        trailing_dle = len(buf) - len(buf.rstrip(b"\x10"))
        if len(data) >= count and trailing_dle % 2 == 0:
            return True
        return None
    raw = at.read_raw_until(enough, timeout)
    return dle_decode(raw)


@pytest.mark.parametrize("payload", [ALL_BYTES * 4, NASTY, ALL_BYTES[::-1] * 40],
                         ids=["all256", "dle-etx-plus-runs", "10k"])
def test_tcp_binary_round_trip(gprs, sim, payload):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    gprs.send_raw(dle_escape(payload))
    assert recv_exactly(peer, len(payload)) == payload
    peer.sendall(payload)
    items = read_decoded(gprs, len(payload))
    assert None not in items
    assert b"".join(items) == payload
    assert gprs.escape(GUARD) == b""
    peer.settimeout(0.2)
    with pytest.raises(TimeoutError):
        peer.recv(10)


def test_tcp_large_transfer_with_flow_control(gprs, sim):
    """200 KB each way: the 16 KiB receive buffer and host pacing must not lose bytes."""
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    payload = bytes((i * 7 + i // 256) % 256 for i in range(200_000))
    import threading
    received = bytearray()

    def reader():
        while len(received) < len(payload):
            chunk = peer.recv(65536)
            if not chunk:
                break
            received.extend(chunk)

    thread = threading.Thread(target=reader)
    thread.start()
    gprs.send_raw(dle_escape(payload))
    thread.join(20)
    assert bytes(received) == payload
    sender = threading.Thread(target=peer.sendall, args=(payload,))
    sender.start()
    items = read_decoded(gprs, len(payload), timeout=20)
    sender.join(20)
    assert b"".join(items) == payload
    gprs.escape(GUARD)


def test_udp_binary_round_trip(gprs, sim):
    peer = udp_peer(sim, 88)
    gprs.ok('AT+WIPCREATE=1,1,80,"127.0.0.1",88')
    gprs.expect_urc("+WIPREADY:")
    gprs.connect_data("AT+WIPDATA=1,1,1")
    datagrams = [ALL_BYTES, NASTY, b"+++", b"\x10", b"\x03"]
    for d in datagrams:
        gprs.send_raw(dle_escape(d) + b"\x03")
        data, addr = peer.recvfrom(10000)
        assert data == d
    for d in datagrams + [b""]:
        peer.sendto(d, addr)
    expected = []
    for d in datagrams + [b""]:
        expected += ([d] if d else []) + [None]
    raw = gprs.read_raw_until(lambda b: True if dle_decode(b).count(None) == 6 else None)
    assert dle_decode(raw) == expected
    gprs.escape(GUARD)


def test_udp_without_peer_replies_to_last_sender(gprs, sim):
    gprs.ok("AT+WIPCREATE=1,1,500")
    gprs.expect_urc("+WIPREADY:")
    gprs.connect_data("AT+WIPDATA=1,1,1")
    gprs.send_raw(b"dropped\x03")  # D58: nobody to send to yet
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    a.settimeout(5)
    a.sendto(b"hi", ("127.0.0.1", sim.real_port(500)))
    assert gprs.read_raw(3) == b"hi\x03"
    gprs.send_raw(b"answer\x03")
    assert a.recvfrom(100)[0] == b"answer"
    gprs.send_raw(b"partial")
    gprs.escape(GUARD)  # §3.10: a partial datagram is sent when data mode ends
    assert a.recvfrom(100)[0] == b"partial"


def test_udp_receive_limit_drops_extra_datagrams(gprs, sim):
    gprs.ok("AT+WIPCREATE=1,1,500")
    gprs.expect_urc("+WIPREADY:")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(20):
        s.sendto(b"%02d" % i, ("127.0.0.1", sim.real_port(500)))
    gprs.expect_urc("+WIPDATA:")
    time.sleep(0.2)
    gprs.connect_data("AT+WIPDATA=1,1,1")
    raw = gprs.read_raw_until(lambda b: True if b.count(b"\x03") == 16 else None)
    assert dle_decode(raw)[::2] == [b"%02d" % i for i in range(16)]
    assert gprs.escape(GUARD) == b""
    assert gprs.no_urc(0.2) == []


def test_udp_oversized_datagram_is_cut(gprs, sim):
    gprs.ok("AT+WIPCREATE=1,1,500")
    gprs.expect_urc("+WIPREADY:")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"z" * 7000, ("127.0.0.1", sim.real_port(500)))
    assert gprs.expect_urc("+WIPDATA:").startswith("+WIPDATA: 1,1,5840,")
    gprs.connect_data("AT+WIPDATA=1,1,1")
    assert gprs.read_raw(5841) == b"z" * 5840 + b"\x03"
    gprs.escape(GUARD)


def test_transparent_raw_round_trip(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,2")
    payload = ALL_BYTES * 8 + b"+++" + ALL_BYTES
    gprs.send_raw(payload)
    assert recv_exactly(peer, len(payload)) == payload
    peer.sendall(payload)
    assert gprs.read_raw(len(payload)) == payload
    peer.shutdown(socket.SHUT_WR)  # D56: nothing in band
    time.sleep(0.1)
    assert gprs.escape(GUARD) == b""
    assert gprs.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,1"


def test_transparent_reset_has_no_etx(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,2")
    assert sim.control("reset 1") == "OK"
    assert gprs.read_raw_until(b"\r\n+CME ERROR: 843\r\n") == b"\r\n+CME ERROR: 843\r\n"
    peer.settimeout(5)
    with pytest.raises(ConnectionResetError):
        peer.recv(10)


# ---------------------------------------------------------------- +++ rules
def test_plus_without_leading_silence_is_data(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    gprs.send_raw(b"abc+++")
    time.sleep(GUARD * 3)
    assert recv_exactly(peer, 6) == b"abc+++"
    gprs.send_raw(b"x")
    assert recv_exactly(peer, 1) == b"x"


def test_plus_followed_by_data_is_data_in_order(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    time.sleep(GUARD * 2)
    gprs.send_raw(b"++")
    time.sleep(GUARD / 5)
    gprs.send_raw(b"+y")  # a byte right after the third + breaks the escape
    assert recv_exactly(peer, 4) == b"+++y"
    time.sleep(GUARD * 2)
    gprs.send_raw(b"+")  # a lone + after silence, then silence: data
    assert recv_exactly(peer, 1) == b"+"
    time.sleep(GUARD * 2)
    gprs.send_raw(b"++++")  # four pluses: data
    assert recv_exactly(peer, 4) == b"++++"
    assert gprs.escape(GUARD) == b""


def test_slow_pluses_are_data(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    time.sleep(GUARD * 2)
    gprs.send_raw(b"+")
    time.sleep(GUARD * 2)  # more than G between pluses: the first is data
    gprs.send_raw(b"+")
    time.sleep(GUARD * 2)
    assert recv_exactly(peer, 2) == b"++"


def test_escaped_plus_in_payload_never_matches(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    time.sleep(GUARD * 2)
    gprs.send_raw(b"\x10+\x10+\x10+")
    time.sleep(GUARD * 3)
    assert recv_exactly(peer, 3) == b"+++"
    assert gprs.drain(0.05) == b""


def test_socket_data_is_held_back_during_a_candidate_escape(sim_factory):
    sim = sim_factory(guard_time=0.4)
    from harness import open_client, prelude
    at = open_client(sim)
    prelude(at)
    peer = tcp_client(at, sim)
    at.connect_data("AT+WIPDATA=2,1,1")
    time.sleep(0.5)
    at.send_raw(b"+++")
    time.sleep(0.1)
    peer.sendall(b"late")
    before_ok = at.read_raw_until(b"\r\nOK\r\n", 3)
    assert before_ok == b"\r\nOK\r\n"  # nothing of "late" slipped through (§3.9)
    assert at.expect_urc("+WIPDATA:") == "+WIPDATA: 2,1,4"
    at.connect_data("AT+WIPDATA=2,1,1")
    assert at.read_raw(4) == b"late"


def test_failed_candidate_releases_held_data(sim_factory):
    sim = sim_factory(guard_time=0.3)
    from harness import open_client, prelude
    at = open_client(sim)
    prelude(at)
    peer = tcp_client(at, sim)
    at.connect_data("AT+WIPDATA=2,1,1")
    time.sleep(0.4)
    at.send_raw(b"+")
    peer.sendall(b"data")
    time.sleep(0.1)
    assert at.drain(0.05) == b""  # held while the candidate is open
    at.send_raw(b"z")
    assert at.read_raw(4) == b"data"
    assert recv_exactly(peer, 2) == b"+z"


def test_plus_in_at_mode_is_harmless(at):
    at.send_raw(b"+++\r")
    assert at.cmd("AT") == ([], "OK")


# ---------------------------------------------------------------- URC queueing
def test_urcs_are_queued_in_data_mode_and_flushed_after_ok(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.ok("AT+WIPCREATE=3,1,81,5,6")
    gprs.ok("AT+WIPCREATE=1,1,500")
    gprs.expect_urc("+WIPREADY:")
    gprs.connect_data("AT+WIPDATA=2,1,1")
    spawned = socket.create_connection(("127.0.0.1", sim.real_port(81)))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.sendto(b"abc", ("127.0.0.1", sim.real_port(500)))
    time.sleep(0.2)
    assert gprs.drain(0.05) == b""  # nothing while in data mode
    raw = gprs.escape(GUARD)
    assert raw == b""
    tail = gprs.read_raw_until(b'+WIPDATA: 1,1,3,"127.0.0.1",' + b"%d\r\n" % s.getsockname()[1])
    assert tail.index(b"+WIPACCEPT: 1,5") < tail.index(b"+WIPDATA: 1,1,3")
    spawned.close()
    peer.close()


def test_peer_close_while_mapped_comes_after_ok(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    peer.sendall(b"end")
    peer.close()
    assert gprs.read_raw_until(b"SHUTDOWN\r\n") == b"end\x03\r\nSHUTDOWN\r\n"
    assert gprs.escape(GUARD) == b""
    assert gprs.expect_urc("+WIPPEERCLOSE:") == "+WIPPEERCLOSE: 2,1"
    assert gprs.no_urc(0.2) == []  # at most once


def test_host_etx_half_closes_and_discards_later_data(gprs, sim):
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    gprs.send_raw(b"last\x03ignored")
    assert recv_exactly(peer, 10) == b"last"
    peer.sendall(b"still open")
    assert gprs.read_raw(10) == b"still open"
    gprs.escape(GUARD)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    gprs.send_raw(b"more")
    time.sleep(0.1)
    gprs.escape(GUARD)
    assert gprs.cmd("AT+WIPCLOSE=2,1") == ([], "OK")
    assert peer.recv(10) == b""


def test_unread_data_announced_after_unmapping(gprs, sim):
    peer = tcp_client(gprs, sim)
    peer.sendall(b"x" * 20000)
    assert gprs.expect_urc("+WIPDATA:").startswith("+WIPDATA: 2,1,")
    time.sleep(0.2)
    assert gprs.cmd("AT+WIPOPT=2,1,1,6") == (["+WIPOPT: 2,6,16384"], "OK")  # §2.7 limit
    gprs.connect_data("AT+WIPDATA=2,1,1")
    assert gprs.read_raw(20000) == b"x" * 20000
    gprs.escape(GUARD)
    assert gprs.no_urc(0.1) == []


def test_coalescing_with_pref_timeout(gprs, sim):
    """D67: with option 12 = 3 the module waits 300 ms of host silence before sending."""
    gprs.ok("AT+WIPCFG=2,12,3")
    peer = tcp_client(gprs, sim)
    gprs.connect_data("AT+WIPDATA=2,1,1")
    start = time.monotonic()
    gprs.send_raw(b"a")
    time.sleep(0.1)
    gprs.send_raw(b"b")
    assert recv_exactly(peer, 2) == b"ab"
    assert time.monotonic() - start >= 0.35
    gprs.send_raw(b"c" * 1072)  # 2 x MSS is sent at once
    start = time.monotonic()
    assert recv_exactly(peer, 1072) == b"c" * 1072
    assert time.monotonic() - start < 0.25
    gprs.send_raw(b"tail")
    assert gprs.escape(GUARD) == b""
    assert recv_exactly(peer, 4) == b"tail"  # flushed when data mode ends (§3.10)


def test_udp_datagram_boundaries_from_host(gprs, sim):
    peer = udp_peer(sim, 88)
    gprs.ok('AT+WIPCREATE=1,1,80,"127.0.0.1",88')
    gprs.expect_urc("+WIPREADY:")
    gprs.connect_data("AT+WIPDATA=1,1,1")
    gprs.send_raw(bytes.fromhex("61 62 03 63 03 03"))
    assert peer.recvfrom(100)[0] == b"ab"
    assert peer.recvfrom(100)[0] == b"c"
    peer.settimeout(0.2)
    with pytest.raises(TimeoutError):
        peer.recvfrom(100)


def test_binary_round_trip_on_each_transport(any_transport):
    sim, at = any_transport
    peer = tcp_client(at, sim)
    at.connect_data("AT+WIPDATA=2,1,1")
    payload = (ALL_BYTES + NASTY) * 60
    at.send_raw(dle_escape(payload))
    assert recv_exactly(peer, len(payload)) == payload
    peer.sendall(payload)
    assert b"".join(read_decoded(at, len(payload))) == payload
    assert at.escape(GUARD) == b""
