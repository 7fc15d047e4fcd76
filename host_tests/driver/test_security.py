"""No AT injection: strings are validated before anything is sent (spec §1.5), payload from
the network or the app is never taken for a command, a final result or a URC, secrets are
masked in transcripts, and the simulator refuses non-loopback destinations (D72).
"""

import socket
import struct
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wip  # noqa: E402
from test_fault_support import (  # noqa: E402
    GUARD,
    OK_UNIT,
    RecordingStream,
    TcpPeer,
    UdpPeer,
    ok_flood,
    recv_exactly,
    recv_to_eof,
)

from host_tests.servers import ftp_server  # noqa: E402,F401 - pytest fixture

TIMEOUT = 3.0
BAD_STRINGS = ['a"b', "a\rb", "a\nb", "a\0b", "a\x07b", "a\x1bb", "a\x7fb", "caf\u00e9"]
FORGED = b"\r\nOK\r\n+WIPDATA: 2,1,5\r\n+WIPPEERCLOSE: 2,1\r\n"
FORGED_MORE = (b"+++\r\nSHUTDOWN\r\n\x03\r\nSHUTDOWN\r\n\x10\x03+WIND: 3\r\n+CME ERROR: 843\r\n"
               b"\r\nCONNECT\r\nAT+CFUN=1\r+WIPACCEPT: 1,5\r\n\r\nERROR\r\n")


@pytest.fixture
def rmodem(sim_factory):
    """A started modem on a fresh simulator; its stream records every byte written."""
    sim = sim_factory(guard_time=GUARD)
    rec = RecordingStream(wip.tcp_stream("127.0.0.1", sim.port))
    m = wip.Modem(rec, timeout=TIMEOUT, guard_time=GUARD)
    m.start()
    m.gprs("internet")
    m.rec = rec
    m.sim = sim
    return m


# ---- every string that reaches an AT line is validated -----------------------------------

def _tcp_connect(m, bad):
    s = m.socket(wip.SOCK_STREAM)
    s.connect((bad, 80))


def _udp_connect(m, bad):
    s = m.socket(wip.SOCK_DGRAM)
    s.connect((bad, 80))


def _udp_sendto(m, bad):
    s = m.socket(wip.SOCK_DGRAM)
    s.sendto(b"x", (bad, 80))


ENTRY_POINTS = {
    "gprs apn": lambda m, bad: m.gprs(bad),
    "gprs user": lambda m, bad: m.gprs("internet", bad, "pw"),
    "gprs password": lambda m, bad: m.gprs("internet", "user", bad),
    "tcp connect host": _tcp_connect,
    "udp connect host": _udp_connect,
    "udp sendto host": _udp_sendto,
    "getaddrinfo host": lambda m, bad: m.getaddrinfo(bad, 80),
    "http url": lambda m, bad: m.http_get("http://127.0.0.1/" + bad),
    "http header name": lambda m, bad: m.http_get("http://127.0.0.1/", headers={bad: "v"}),
    "http header value": lambda m, bad: m.http_get("http://127.0.0.1/", headers={"X": bad}),
    "http auth user": lambda m, bad: m.http_get("http://127.0.0.1/", auth=(bad, "p")),
    "http auth password": lambda m, bad: m.http_get("http://127.0.0.1/", auth=("u", bad)),
    "http proxy host": lambda m, bad: wip.http.Session(m, proxy=(bad, 8080)),
    "http session auth": lambda m, bad: wip.http.Session(m, auth=("u", bad)),
    "http session header": lambda m, bad: wip.http.Session(m, headers={"X": bad}),
    "ftp host": lambda m, bad: m.ftp(bad, "user", "pw"),
    "ftp user": lambda m, bad: m.ftp("127.0.0.1", bad, "pw"),
    "ftp password": lambda m, bad: m.ftp("127.0.0.1", "user", bad),
    "ftp account": lambda m, bad: m.ftp("127.0.0.1", "user", "pw", account=bad),
    "smtp host": lambda m, bad: m.smtp(bad, 25),
    "smtp user": lambda m, bad: m.smtp("127.0.0.1", 25, bad, "pw"),
    "smtp password": lambda m, bad: m.smtp("127.0.0.1", 25, "user", bad),
    "smtp sender": lambda m, bad: m.smtp("127.0.0.1", 25).send(bad, "a@b", "s", b"x"),
    "smtp to": lambda m, bad: m.smtp("127.0.0.1", 25).send("a@b", bad, "s", b"x"),
    "smtp to list": lambda m, bad: m.smtp("127.0.0.1", 25).send("a@b", ["c@d", bad], "s", b""),
    "smtp cc": lambda m, bad: m.smtp("127.0.0.1", 25).send("a@b", "c@d", "s", b"x", cc=bad),
    "smtp bcc": lambda m, bad: m.smtp("127.0.0.1", 25).send("a@b", "c@d", "s", b"x", bcc=bad),
    "smtp subject": lambda m, bad: m.smtp("127.0.0.1", 25).send("a@b", "c@d", bad, b"x"),
    "smtp sender name": lambda m, bad: m.smtp("127.0.0.1", 25).send(
        "a@b", "c@d", "s", b"x", sender_name=bad),
    "pop3 host": lambda m, bad: m.pop3(bad, "user", "pw"),
    "pop3 user": lambda m, bad: m.pop3("127.0.0.1", bad, "pw"),
    "pop3 password": lambda m, bad: m.pop3("127.0.0.1", "user", bad),
    "ping host": lambda m, bad: m.ping(bad, count=1),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_bad_string_is_refused_before_anything_is_sent(rmodem, entry):
    for bad in BAD_STRINGS:
        before = bytes(rmodem.rec.written)
        with pytest.raises(ValueError):
            ENTRY_POINTS[entry](rmodem, bad)
        assert bytes(rmodem.rec.written) == before, f"{entry}: {bad!r} sent bytes"
    rmodem.command("AT")  # the modem is still in sync


@pytest.mark.parametrize("path", ['a"b', "a\rb", "a\nb", "a\0b", "dir/\x1b[2J"])
def test_ftp_path_is_refused_before_anything_is_sent(rmodem, ftp_server, path):  # noqa: F811
    with rmodem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                    port=ftp_server.port) as f:
        ops = [f.get, lambda p: f.put(p, b"data"), f.open]
        if '"' not in path:
            # delete() speaks FTP itself over a TCP socket (no AT string): '"' is legal
            # there, line breaks and control characters are not (FTP command injection).
            ops.append(f.delete)
        for op in ops:
            before = bytes(rmodem.rec.written)
            with pytest.raises(ValueError):
                op(path)
            assert bytes(rmodem.rec.written) == before
        assert f.is_open()


@pytest.mark.parametrize("cmd", ["AT\rAT+CFUN=1", "+WIPCFG=3\n", "+WIPCFG=0\0"])
def test_command_with_line_break_is_refused(rmodem, cmd):
    before = bytes(rmodem.rec.written)
    with pytest.raises(ValueError):
        rmodem.command(cmd)
    assert bytes(rmodem.rec.written) == before


def test_port_numbers_are_validated(rmodem):
    s = rmodem.socket(wip.SOCK_STREAM)
    before = bytes(rmodem.rec.written)
    for port in (0, 65536, -1, "80", 80.0, True, None):
        with pytest.raises((ValueError, TypeError)):
            s.connect(("127.0.0.1", port))
    assert bytes(rmodem.rec.written) == before


# ---- payload is never a command, a result or a URC ---------------------------------------

def _forging_peer(chunks):
    def handler(peer, conn, index):
        for chunk in chunks:
            conn.sendall(chunk)
            time.sleep(0.02)
        TcpPeer.sink(peer, conn, index)

    return handler


def _state(m):
    return (m.reboots, m.bearer_up, m.started)


@pytest.mark.parametrize("mapped_first", [True, False], ids=["mapped", "unmapped"])
def test_tcp_forged_lines_from_peer_are_just_data(rmodem, mapped_first):
    chunks = [FORGED, FORGED_MORE, b"+++", FORGED + b"+++" + FORGED_MORE]
    expected = b"".join(chunks)
    peer = TcpPeer(_forging_peer(chunks))
    try:
        s = rmodem.socket(wip.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", peer.port))
        state = _state(rmodem)
        if mapped_first:
            s.sendall(b"")
            got = recv_exactly(s, len(expected))
        else:
            time.sleep(0.4)  # everything waits in the module; only +WIPDATA URCs arrive
            rmodem.command("AT")
            got = recv_exactly(s, len(expected))
        assert got == expected
        assert _state(rmodem) == state
        assert not rmodem.peer_closed(2, s.idx)
        # The app sends the same bytes: the peer gets them exactly, the link stays in sync.
        s.sendall(expected)
        assert peer.wait_received(0, len(expected)) == expected
        rmodem.command("AT")
        s.sendall(b"still open")
        assert peer.wait_received(0, len(expected) + 10) == expected + b"still open"
        s.close()
    finally:
        peer.close()


def test_udp_forged_lines_both_directions(rmodem):
    peer = UdpPeer(echo=True)
    try:
        s = rmodem.socket(wip.SOCK_DGRAM)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", peer.port))
        state = _state(rmodem)
        for datagram in (FORGED, FORGED_MORE, b"+++", b"\x03", b"\x10", FORGED * 50):
            s.send(datagram)
            assert s.recv(5840) == datagram
        assert peer.datagrams == [FORGED, FORGED_MORE, b"+++", b"\x03", b"\x10", FORGED * 50]
        assert _state(rmodem) == state
        rmodem.command("AT")
    finally:
        peer.close()


def test_ok_flood_while_leaving_data_mode_leaks_no_command_to_the_peer(rmodem):
    """A peer streaming CR LF OK CR LF while the driver sends "+++" (Appendix B hazard).

    Whatever the parser decides, the peer must never receive a command line, and every
    byte it sent must reach the app exactly once.
    """
    stop = threading.Event()
    unit = OK_UNIT
    peer = TcpPeer(ok_flood(stop, burst=256, limit=256 * 1024))  # 1.5 MB
    try:
        s = rmodem.socket(wip.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", peer.port))
        got = bytearray()
        errors = []
        for _ in range(8):
            try:
                got += s.recv(4096)  # mapped, data flowing
                rmodem.command("AT")  # guard, +++ with CR LF OK CR LF in flight, guard
            except OSError as exc:
                errors.append(exc)
        time.sleep(0.3)
        assert bytes(peer.received[0]) == b"", (errors, bytes(peer.received[0][:200]))
        got += recv_to_eof(s)
        assert bytes(peer.received[0]) == b"", "the peer received bytes the app never sent"
        assert len(got) == peer.sent_units * len(unit)
        assert got == unit * peer.sent_units
    finally:
        stop.set()
        peer.close()


def test_app_payload_is_never_executed_after_the_module_drops_data_mode(rmodem):
    """The peer resets while the app is writing a payload full of AT command lines.

    The module leaves data mode at once (D55); whatever the driver still writes lands in
    AT mode, so payload bytes must never form a command the module would run.
    """
    evil = b"\rAT+CFUN=1\rAT+WIPCFG=0\rATE1\r" * 400
    reset_now = threading.Event()

    def resetting_peer(peer, conn, index):
        conn.recv(10)
        reset_now.wait(5)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    peer = TcpPeer(resetting_peer)
    try:
        s = rmodem.socket(wip.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", peer.port))
        s.sendall(b"go")
        threading.Timer(0.01, reset_now.set).start()
        try:
            for _ in range(20):
                s.sendall(evil)
        except OSError:
            pass
        time.sleep(0.3)
        status = rmodem.sim.control("status")
        assert '"stack":true' in status, "payload ran AT+WIPCFG=0 or AT+CFUN=1: " + status
        assert '"echo":false' in status, "payload ran ATE1: " + status
        assert rmodem.reboots == 0
    finally:
        peer.close()


# ---- secrets are masked in transcripts ---------------------------------------------------

SECRET = "pw-Zq81-secret"


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SECRET_USERS = {
    "gprs": lambda m: m.gprs("internet", "user", SECRET),
    "ftp": lambda m: m.ftp("127.0.0.1", "user", SECRET, port=_closed_port()),
    "smtp": lambda m: m.smtp("127.0.0.1", _closed_port(), "user", SECRET).open(),
    "pop3": lambda m: m.pop3("127.0.0.1", "user", SECRET, port=_closed_port()),
    "http auth": lambda m: m.http_get(f"http://127.0.0.1:{_closed_port()}/",
                                      auth=("user", SECRET)),
}


def _run_with_secret(sim_factory, user):
    sim = sim_factory(guard_time=GUARD)
    lines = []
    m = wip.Modem(wip.tcp_stream("127.0.0.1", sim.port), timeout=TIMEOUT, guard_time=GUARD,
                  debug=lambda d, t: lines.append(f"{d} {t}"))
    m.start()
    m.gprs("internet")
    try:
        SECRET_USERS[user](m)
    except OSError:
        pass  # nobody listens: the command line was still sent
    time.sleep(0.1)
    return "\n".join(lines), Path(sim.log_path).read_text(errors="replace")


@pytest.mark.parametrize("user", sorted(SECRET_USERS))
def test_password_is_masked_in_debug_transcript(sim_factory, user):
    transcript, _ = _run_with_secret(sim_factory, user)
    assert "WIPCREATE" in transcript or "WIPBR=2,6,1" in transcript or "WIPFILE" in transcript
    assert SECRET not in transcript, f"debug transcript shows the {user} password"


@pytest.mark.parametrize("user", sorted(SECRET_USERS))
def test_password_is_masked_in_simulator_log(sim_factory, user):
    _, log = _run_with_secret(sim_factory, user)
    assert "WIPCREATE" in log or "WIPBR=2,6,1" in log or "WIPFILE" in log
    assert SECRET not in log, f"simulator log shows the {user} password"


# ---- the simulator stays on loopback (D72) -----------------------------------------------

@pytest.mark.parametrize("host", ["192.0.2.1", "10.0.0.1", "example.com", "8.8.8.8"])
def test_simulator_refuses_non_loopback_destinations(rmodem, host):
    for kind in (wip.SOCK_STREAM, wip.SOCK_DGRAM):
        s = rmodem.socket(kind)
        with pytest.raises(wip.WipError) as err:
            s.connect((host, 80))
        assert err.value.code == 842
    with pytest.raises(wip.WipError) as err:
        rmodem.ping(host, count=1)
    assert err.value.code == 819
    assert '"tcp":{}' in rmodem.sim.control("status")


def test_paced_ok_flood_cannot_desync_the_driver(rmodem):
    """A peer trickles CR LF OK CR LF so that some is always in flight when "+++" goes out."""
    stop = threading.Event()
    unit = OK_UNIT
    peer = TcpPeer(ok_flood(stop, burst=64, pause=0.002))
    try:
        s = rmodem.socket(wip.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", peer.port))
        got = bytearray()
        errors = []
        for _ in range(120):
            try:
                got += s.recv(4096)
                rmodem.command("AT")
            except OSError as exc:
                errors.append(exc)
                break
            if peer.received[0]:
                break
        stop.set()
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except OSError as exc:
            errors.append(exc)
        assert not errors
        assert bytes(peer.received[0]) == b"", "commands leaked to the peer"
        assert got == unit * peer.sent_units
    finally:
        stop.set()
        peer.close()
