"""The driver on CPython against the simulator: bulk data, EOF, reset, timeouts, errors.

1 MB of random bytes (every value, DLE/ETX runs, "+++" runs) each way is checked by SHA-256;
peer close and reset surface as b"" and WipError 843 (D53, D55); timeouts follow CPython;
module errors surface as WipError with their code; bad strings are refused before any byte
is written.
"""

import hashlib
import random
import socket
import threading
import time

import pytest
import wip
from wip.errors import EAGAIN, ECONNRESET, ETIMEDOUT

MB = 1 << 20


def nasty_payload(n, seed=1):
    """Random bytes with every value, plus runs of DLE, ETX, '+' and CR LF OK CR LF."""
    rnd = random.Random(seed)
    out = bytearray(rnd.randbytes(n))
    specials = [b"\x10" * 7, b"\x03" * 5, b"\x10\x03" * 4, b"+++", b"\r\nOK\r\n", b"\r\n+++\r\n"]
    for _ in range(n // 500):
        chunk = rnd.choice(specials)
        at = rnd.randrange(0, n - len(chunk))
        out[at:at + len(chunk)] = chunk
    return bytes(out)


def listener():
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(10)
    return srv, srv.getsockname()[1]


def test_one_megabyte_each_way_sha256(wmodem):
    up = nasty_payload(MB, 1)
    down = nasty_payload(MB, 2)
    srv, port = listener()
    result = {}

    def peer():
        conn, _ = srv.accept()
        conn.settimeout(20)
        sender = threading.Thread(target=conn.sendall, args=(down,))
        sender.start()
        h = hashlib.sha256()
        n = 0
        while n < len(up):
            chunk = conn.recv(65536)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        sender.join()
        result["sha"], result["n"] = h.hexdigest(), n
        conn.close()

    t = threading.Thread(target=peer)
    t.start()
    s = wmodem.socket()
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    mv = memoryview(up)
    h = hashlib.sha256()
    got = 0
    buf = bytearray(4096)
    sent = 0
    while sent < len(up) or got < len(down):
        if sent < len(up):
            s.sendall(mv[sent:sent + 8192])
            sent += 8192
        while got < len(down):
            s.settimeout(0)
            try:
                k = s.recv_into(buf)
            except OSError as exc:
                assert exc.errno == EAGAIN
                break
            finally:
                s.settimeout(20)
            h.update(memoryview(buf)[:k])
            got += k
        if sent >= len(up) and got < len(down):
            k = s.recv_into(buf)
            h.update(memoryview(buf)[:k])
            got += k
    t.join(30)
    assert result == {"sha": hashlib.sha256(up).hexdigest(), "n": len(up)}
    assert got == len(down) and h.hexdigest() == hashlib.sha256(down).hexdigest()
    assert s.recv(10) == b""  # the peer closed after its megabyte
    s.close()
    srv.close()


def test_peer_close_while_mapped_gives_eof(wmodem):
    srv, port = listener()
    s = wmodem.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    conn, _ = srv.accept()
    s.sendall(b"x")  # maps the socket
    assert conn.recv(1) == b"x"
    conn.sendall(b"last words")
    conn.shutdown(socket.SHUT_WR)  # D53: ETX + SHUTDOWN, still in data mode
    got = b""
    while True:
        chunk = s.recv(100)
        if not chunk:
            break
        got += chunk
    assert got == b"last words"
    s.sendall(b"after eof")  # half-close: the module's direction is still open (D54)
    assert conn.recv(100) == b"after eof"
    assert s.recv(10) == b""
    s.close()
    assert conn.recv(10) == b""
    conn.close()
    srv.close()


def test_peer_close_while_unmapped_keeps_unread_data(wmodem, echo):
    srv, port = listener()
    s = wmodem.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    conn, _ = srv.accept()
    other = wmodem.socket()
    other.settimeout(5)
    other.connect(("127.0.0.1", echo.tcp_port))
    other.sendall(b"keep the UART busy")  # maps the other socket
    conn.sendall(b"tail")
    conn.close()
    assert other.recv(100) == b"keep the UART busy"
    assert wmodem.wait_for(lambda: s.peer_closed, 5)  # +WIPPEERCLOSE (D53)
    assert wmodem.peer_closed(2, s.idx)
    assert s.read() == b"tail"
    assert s.recv(10) == b""
    s.close()
    other.close()
    srv.close()


def test_reset_raises_843(wmodem):
    srv, port = listener()
    s = wmodem.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    conn, _ = srv.accept()
    s.sendall(b"a")
    assert conn.recv(1) == b"a"
    assert wmodem.sim.control(f"reset {s.idx}").startswith("OK")
    with pytest.raises(wip.WipError) as exc:
        s.recv(10)
    assert exc.value.code == 843 and exc.value.errno == ECONNRESET
    with pytest.raises(wip.WipError):
        s.sendall(b"b")
    s.close()  # D55: WIPCLOSE still answers OK
    conn.close()
    srv.close()


def test_reset_while_unmapped(wmodem, echo):
    srv, port = listener()
    s = wmodem.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    conn, _ = srv.accept()
    assert wmodem.sim.control(f"reset {s.idx}").startswith("OK")
    assert wmodem.wait_for(lambda: s.peer_closed, 5)
    with pytest.raises(wip.WipError) as exc:
        s.recv(10)
    assert exc.value.code == 843
    s.close()
    conn.close()
    srv.close()


def test_timeouts_zero_t_and_none(wmodem):
    srv, port = listener()
    s = wmodem.socket()
    s.connect(("127.0.0.1", port))
    conn, _ = srv.accept()
    s.settimeout(0)
    with pytest.raises(OSError) as exc:
        s.recv(10)
    assert exc.value.errno == EAGAIN
    s.settimeout(0.3)
    assert s.gettimeout() == 0.3
    t0 = time.monotonic()
    with pytest.raises(OSError) as exc:
        s.recv(10)
    assert exc.value.errno == ETIMEDOUT
    assert 0.25 < time.monotonic() - t0 < 2
    s.settimeout(None)
    timer = threading.Timer(0.3, conn.sendall, args=(b"late",))
    timer.start()
    t0 = time.monotonic()
    assert s.recv(10) == b"late"
    assert time.monotonic() - t0 >= 0.25
    s.setblocking(False)
    with pytest.raises(OSError) as exc:
        s.recv(10)
    assert exc.value.errno == EAGAIN
    conn.sendall(b"now")
    s.setblocking(True)
    assert s.recv(10) == b"now"
    s.settimeout(0)
    conn.sendall(b"ready")
    deadline = time.monotonic() + 5
    while True:  # non-blocking polling sees the data once it is there
        try:
            assert s.recv(10) == b"ready"
            break
        except OSError as e:
            assert e.errno == EAGAIN and time.monotonic() < deadline
            time.sleep(0.02)
    s.close()
    conn.close()
    srv.close()


def test_module_error_codes_surface(wmodem_factory, echo):
    m = wmodem_factory("--sock-max", "3")
    with pytest.raises(wip.WipError) as exc:
        m.command("+WIPCREATE=1,9,5000")
    assert exc.value.code == 830
    s = m.socket()
    s.connect(("127.0.0.1", echo.tcp_port))
    with pytest.raises(wip.WipError) as exc:
        m.command(f'+WIPCREATE=2,{s.idx},"127.0.0.1",{echo.tcp_port}')
    assert exc.value.code == 840
    with pytest.raises(wip.WipError) as exc:
        m.command("+WIPCFG=1")
    assert exc.value.code == 844
    closed_port = socket.create_server(("127.0.0.1", 0))
    dead = closed_port.getsockname()[1]
    closed_port.close()
    with pytest.raises(wip.WipError) as exc:
        m.socket().connect(("127.0.0.1", dead))
    assert exc.value.code == 842
    u1 = m.socket(wip.SOCK_DGRAM)
    u1.connect(("127.0.0.1", echo.udp_port))
    u2 = m.socket(wip.SOCK_DGRAM)
    u2.connect(("127.0.0.1", echo.udp_port))
    with pytest.raises(wip.WipError) as exc:
        m.socket(wip.SOCK_DGRAM).connect(("127.0.0.1", echo.udp_port))
    assert exc.value.code == 838  # SOCKET_MAX = 3 (D33)
    with pytest.raises(wip.WipError) as exc:
        m.command("+WIPFOO")
    assert exc.value.code == -1  # plain ERROR (D2)
    for x in (s, u1, u2):
        x.close()
    with pytest.raises(OSError):
        m.socket().send(b"not connected")


@pytest.mark.parametrize("bad", ['in"ternet', "a\rb", "a\nb", "a\0b", "tab\there", "é"])
def test_bad_strings_are_refused_before_anything_is_written(wmodem, bad):
    before = bytes(wmodem.rec.written)
    with pytest.raises(ValueError):
        wmodem.gprs(bad)
    with pytest.raises(ValueError):
        wmodem.gprs("internet", user=bad)
    with pytest.raises(ValueError):
        wmodem.gprs("internet", password=bad)
    with pytest.raises(ValueError):
        wmodem.socket().connect((bad, 80))
    with pytest.raises(ValueError):
        wmodem.socket(wip.SOCK_DGRAM).sendto(b"x", (bad, 80))
    with pytest.raises(ValueError):
        wmodem.quote(bad)
    assert bytes(wmodem.rec.written) == before


@pytest.mark.parametrize("port", [0, -1, 65536, "80", None, True])
def test_bad_ports_are_refused_before_anything_is_written(wmodem, port):
    before = bytes(wmodem.rec.written)
    with pytest.raises(ValueError):
        wmodem.socket().connect(("127.0.0.1", port))
    with pytest.raises(ValueError):
        wmodem.socket(wip.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", port))
    assert bytes(wmodem.rec.written) == before
    with pytest.raises(ValueError):
        wmodem.socket(7)


def test_debug_transcript_masks_the_password(wmodem_factory):
    lines = []
    m = wmodem_factory(gprs=False, debug=lambda d, text: lines.append((d, text)))
    m.gprs("internet", user="bob", password="s3cret-pw")
    text = "\n".join(t for _, t in lines)
    assert "s3cret-pw" not in text and "***" in text
    assert ('>', 'AT+WIPBR=2,6,0,"bob"') in lines and ("<", "OK") in lines
    assert b"s3cret-pw" in bytes(m.rec.written)  # only the transcript is masked


def test_reboot_is_detected_and_start_recovers(wmodem, echo):
    s = wmodem.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", echo.tcp_port))
    seen = []
    wmodem.on_urc("+WIND:", seen.append)
    assert wmodem.sim.control("reboot").startswith("OK")
    assert wmodem.wait_for(lambda: wmodem.reboots == 1, 5)
    assert seen[:1] == ["+WIND: 3"]
    assert not wmodem.bearer_up and not wmodem.started
    with pytest.raises(OSError):
        s.recv(1)
    wmodem.start()
    assert wmodem.reboots == 1
    assert wmodem.gprs("internet") == "127.0.0.1"
    s2 = wmodem.socket()
    s2.settimeout(5)
    s2.connect(("127.0.0.1", echo.tcp_port))
    s2.sendall(b"back")
    assert s2.recv(10) == b"back"


def test_shutdown_write_half_closes(wmodem):
    srv, port = listener()
    s = wmodem.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    conn, _ = srv.accept()
    conn.settimeout(5)
    s.sendall(b"request")
    s.shutdown(wip.SHUT_WR)  # D54: lone ETX, the module sends FIN
    data = b""
    while True:
        chunk = conn.recv(100)
        if not chunk:
            break
        data += chunk
    assert data == b"request"
    conn.sendall(b"response")
    conn.close()
    assert s.read() == b"response"
    s.close()
    srv.close()


def test_wait_ready_and_unsolicited_error(wmodem, echo):
    m = wmodem
    m.command(f'+WIPCREATE=2,8,"127.0.0.1",{echo.tcp_port}')
    m.wait_ready(2, 8, 5)
    m.command("+WIPCLOSE=2,8")
    with pytest.raises(OSError) as exc:
        m.wait_ready(2, 7, 0.2)
    assert exc.value.errno == ETIMEDOUT


def test_no_call_outlives_its_timeout_when_the_module_stalls(wmodem, echo):
    s = wmodem.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", echo.tcp_port))
    assert wmodem.sim.control("stall 3000").startswith("OK")
    t0 = time.monotonic()
    with pytest.raises(OSError):
        wmodem.command("+WIPCFG?", timeout=0.5)
    assert time.monotonic() - t0 < 2
