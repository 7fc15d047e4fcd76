"""ICMP echo series for AT+WIPPING (spec §2.8, D68-D70).

Three ways to get an echo, tried in this order:
1. an unprivileged ICMP socket (SOCK_DGRAM, IPPROTO_ICMP), allowed when the caller's group is
   inside net.ipv4.ping_group_range;
2. a raw ICMP socket (root or CAP_NET_RAW);
3. a simulated echo: the payload goes out and back through a UDP socket on 127.0.0.1 and the
   measured local turnaround is reported. This keeps the AT behaviour identical on machines
   where no ICMP socket can be opened; the round trip is real loopback I/O, not an invented
   number.
Destinations are already checked by the core (127/8 only, D72).
"""

import os
import select
import socket
import struct
import threading
import time

ECHO_REQUEST = 8
ECHO_REPLY = 0
_id_lock = threading.Lock()
_next_id = [os.getpid() & 0xFFFF]


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_packet(ident, seq, size):
    """An ICMP echo request with `size` payload bytes."""
    payload = (b"wipsim-ping-" * (size // 12 + 1))[:size]
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq)
    checksum = _checksum(header + payload)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, checksum, ident, seq) + payload


def _new_ident():
    with _id_lock:
        _next_id[0] = (_next_id[0] + 1) & 0xFFFF
        return _next_id[0]


class _IcmpEcho:
    """Echo over an ICMP socket; `raw` sockets see the IP header and every ICMP packet."""

    def __init__(self, kind, ttl):
        self.raw = kind == socket.SOCK_RAW
        self.sock = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
        self.ident = _new_ident()
        if ttl:
            try:
                self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            except OSError:
                pass

    def send(self, ip, seq, size):
        self.sock.sendto(echo_packet(self.ident, seq, size), (ip, 0))

    def receive(self):
        """Sequence number of one echo reply that belongs to us, or None."""
        data = self.sock.recv(65535)
        if self.raw:
            data = data[(data[0] & 0x0F) * 4:]
        if len(data) < 8:
            return None
        kind, _code, _sum, ident, seq = struct.unpack("!BBHHH", data[:8])
        if kind != ECHO_REPLY:
            return None
        if self.raw and ident != self.ident:
            return None  # the kernel rewrites the id of SOCK_DGRAM pings, so only raw checks it
        return seq

    def close(self):
        self.sock.close()


class _SimulatedEcho:
    """UDP loopback round trip standing in for ICMP when no ICMP socket is allowed."""

    raw = False

    def __init__(self, ttl):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        if ttl:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        self.address = self.sock.getsockname()

    def send(self, ip, seq, size):
        self.sock.sendto(struct.pack("!H", seq) + b"\0" * max(0, size - 2), self.address)

    def receive(self):
        data = self.sock.recv(65535)
        return struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None

    def close(self):
        self.sock.close()


def open_echo(ttl):
    """The best available echo method (see the module docstring)."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
        try:
            return _IcmpEcho(kind, ttl)
        except OSError:
            continue
    return _SimulatedEcho(ttl)


def echo_method():
    """'icmp-dgram', 'icmp-raw' or 'simulated': what run_series would use here."""
    echo = open_echo(0)
    try:
        if isinstance(echo, _SimulatedEcho):
            return "simulated"
        return "icmp-raw" if echo.raw else "icmp-dgram"
    finally:
        echo.close()


def run_series(ip, repeat, interval_ms, timeout_ms, size, ttl, report, should_lose):
    """Ping `ip` `repeat` times; report(timeout_expired, packet_idx, rtt_ms) in packet order.

    Packet k is sent k*interval after the start; its result is known when the reply comes or
    timeout ms after sending (D70: rtt 0 on a timeout). should_lose(k) is asked once per
    packet, when it is due; True means the packet is not sent and times out.
    """
    echo = open_echo(ttl)
    start = time.monotonic()
    sent_at = {}          # packet index -> send time, while it waits for its reply
    results = {}          # packet index -> (expired, rtt_ms), until reported in order
    next_send = 0
    next_report = 0
    try:
        while next_report < repeat:
            now = time.monotonic()
            while next_send < repeat and now >= start + next_send * interval_ms / 1000:
                sent_at[next_send] = now
                if not should_lose(next_send):
                    try:
                        echo.send(ip, next_send & 0xFFFF, size)
                    except OSError:
                        pass  # an unsent packet simply times out
                next_send += 1
            for index, when in list(sent_at.items()):
                if now >= when + timeout_ms / 1000:
                    del sent_at[index]
                    results[index] = (1, 0)
            while next_report in results:
                expired, rtt = results.pop(next_report)
                report(expired, next_report, rtt)
                next_report += 1
            if next_report >= repeat:
                break
            deadlines = [when + timeout_ms / 1000 for when in sent_at.values()]
            if next_send < repeat:
                deadlines.append(start + next_send * interval_ms / 1000)
            wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else 0.0
            readable, _, _ = select.select([echo.sock], [], [], wait)
            if readable:
                received = time.monotonic()
                try:
                    seq = echo.receive()
                except OSError:
                    seq = None
                index = _match(seq, sent_at)
                if index is not None:
                    when = sent_at.pop(index)
                    results[index] = (0, max(0, int((received - when) * 1000)))
    finally:
        echo.close()


def _match(seq, sent_at):
    """The waiting packet index whose 16-bit sequence number is `seq`."""
    if seq is None:
        return None
    for index in sent_at:
        if index & 0xFFFF == seq:
            return index
    return None
