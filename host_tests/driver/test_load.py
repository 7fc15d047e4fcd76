"""Load: 8 TCP + 8 UDP sockets at once, interleaved, 10 MB sent and echoed, 0 bytes lost.

Every socket has its own peer on 127.0.0.1. The app visits the sockets round robin (each
visit maps that socket: "+++" and AT+WIPDATA in between), sends a chunk and reads the whole
reply back; TCP peers answer a chunk once it has fully arrived (request/response, like an
HTTP or MQTT exchange), UDP peers echo each datagram. At the end every peer's received bytes
and every reply are checked by SHA-256. WIP_LOAD_MB scales the volume (default 10),
WIP_GUARD sets the guard time (default 0.05 s; `make stress` runs it at 0.02 s with every
core busy).

A plain echo peer would push data at the module while the app is still writing, which
makes the simulator pause host input (flow control) and exposes the escape race shown by
test_fault_matrix.py::test_escape_after_flow_control_stall_keeps_plus_out_of_payload.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wip  # noqa: E402
from test_fault_support import TcpPeer, UdpPeer, payload, recv_exactly, sha  # noqa: E402

GUARD = float(os.environ.get("WIP_GUARD", "0.05"))  # `make stress`: 0.02
LOAD_MB = float(os.environ.get("WIP_LOAD_MB", "10"))
TCP_CHUNK = 64 * 1024
UDP_SIZE = 1400
UDP_PER_VISIT = 8


def store_and_echo(chunk):
    """TcpPeer handler: collect `chunk` bytes, then send them back (one request/response)."""

    def handler(peer, conn, index):
        pending = bytearray()
        while True:
            data = conn.recv(65536)
            if not data:
                break
            peer.received[index] += data
            pending += data
            while len(pending) >= chunk:
                conn.sendall(pending[:chunk])
                del pending[:chunk]
        conn.close()

    return handler


def test_eight_tcp_and_eight_udp_sockets_interleaved_lose_nothing(sim_factory):
    sim = sim_factory(guard_time=GUARD)
    modem = wip.Modem(wip.tcp_stream("127.0.0.1", sim.port), timeout=10, guard_time=GUARD)
    modem.start()
    modem.gprs("internet")
    total = int(LOAD_MB * 1024 * 1024)
    udp_total = total // 20  # 5 % as datagrams, the rest as TCP streams
    tcp_each = (total - udp_total) // 8 // TCP_CHUNK * TCP_CHUNK
    udp_count_each = max(1, udp_total // 8 // UDP_SIZE)
    tcp_peers = [TcpPeer(store_and_echo(TCP_CHUNK)) for _ in range(8)]
    udp_peers = [UdpPeer() for _ in range(8)]
    try:
        tcp = []
        for peer in tcp_peers:
            s = modem.socket(wip.SOCK_STREAM)
            s.settimeout(10)
            s.connect(("127.0.0.1", peer.port))
            tcp.append(s)
        udp = []
        for peer in udp_peers:
            s = modem.socket(wip.SOCK_DGRAM)
            s.settimeout(10)
            s.connect(("127.0.0.1", peer.port))
            udp.append(s)
        streams = [payload(tcp_each, seed=100 + i) for i in range(8)]
        dgrams = [[payload(UDP_SIZE, seed=1000 * (i + 1) + k) for k in range(udp_count_each)]
                  for i in range(8)]
        tcp_sent = [0] * 8
        tcp_echo = [bytearray() for _ in range(8)]
        udp_sent = [0] * 8
        udp_echo = [[] for _ in range(8)]
        started = time.monotonic()
        visits = 0
        while any(n < tcp_each for n in tcp_sent) or any(n < udp_count_each for n in udp_sent):
            for i in range(8):
                if tcp_sent[i] < tcp_each:
                    chunk = streams[i][tcp_sent[i]:tcp_sent[i] + TCP_CHUNK]
                    tcp[i].sendall(chunk)
                    tcp_sent[i] += len(chunk)
                    tcp_echo[i] += recv_exactly(tcp[i], len(chunk), 20)
                    visits += 1
                if udp_sent[i] < udp_count_each:
                    for d in dgrams[i][udp_sent[i]:udp_sent[i] + UDP_PER_VISIT]:
                        udp[i].send(d)
                        udp_echo[i].append(udp[i].recv(5840))
                        udp_sent[i] += 1
                    visits += 1
        elapsed = time.monotonic() - started
        for i in range(8):
            got = bytes(tcp_peers[i].wait_received(0, tcp_each))
            assert len(got) == tcp_each, f"TCP peer {i} got {len(got)} of {tcp_each} bytes"
            if got != streams[i]:
                at = next(k for k in range(tcp_each) if got[k] != streams[i][k])
                raise AssertionError(f"TCP peer {i}: first bad byte at {at}: "
                                     f"{got[at - 8:at + 24]!r} != {streams[i][at - 8:at + 24]!r}")
            assert sha(bytes(tcp_echo[i])) == sha(streams[i]), f"TCP socket {i} echo"
            assert udp_peers[i].wait_datagrams(udp_count_each) == dgrams[i]
            assert udp_echo[i] == dgrams[i], f"UDP socket {i} echo"
        moved = 2 * (8 * tcp_each + 8 * udp_count_each * UDP_SIZE)
        print(f"load: {moved / 1e6:.1f} MB through the UART in {elapsed:.1f} s, "
              f"{visits} mapping switches")
        for s in tcp + udp:
            s.close()
    finally:
        for peer in tcp_peers + udp_peers:
            peer.close()
