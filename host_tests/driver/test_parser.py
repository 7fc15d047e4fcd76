"""wip.parser alone: scripted module output fed in random fragmentations.

Covers the framing of spec §1.4 (CR LF lines, finals, echo), §2.10 (URCs, also in the middle
of a reply), §3.4 (TCP ETX + SHUTDOWN / + CME ERROR), §3.5 (UDP boundaries), §3.7 (file
downloads), §3.12 (worked bytes) and Appendix B (payload in flight after "+++").
"""

import random

import pytest
from wip import parser as P

OK, ERR, LINE, CONN, ETX, SHUT = (P.EV_OK, P.EV_ERROR, P.EV_LINE, P.EV_CONNECT, P.EV_ETX,
                                  P.EV_SHUTDOWN)


def run(wire, *, kind=P.KIND_TCP, escaping_at=None, seed=0, dcap=None, line_size=256):
    """Feed wire in random chunks; return the events with data merged into ("data", bytes).

    escaping_at: offset in wire at which the modem would have sent "+++". The line goes
    quiet at the end of wire: a pending OK candidate is settled there as the modem does.
    """
    rnd = random.Random(seed)
    p = P.Parser(line_size)
    p.kind = kind
    out = []
    dst = bytearray(400)
    pos = 0
    while pos < len(wire):
        cut = min(len(wire), pos + rnd.randint(1, 9))
        if escaping_at is not None and pos < escaping_at < cut:
            cut = escaping_at
        if escaping_at is not None and pos >= escaping_at:
            p.escaping = True
            escaping_at = None
        src = bytearray(wire[pos:cut])
        i = 0
        while i < len(src):
            cap = dcap or rnd.randint(7, 40)
            ev = p.feed(src, i, len(src), dst, 0, cap)
            assert p.pos > i or p.dpos or ev != P.EV_NONE, "no progress"
            if p.dpos:
                if out and out[-1][0] == "data":
                    out[-1] = ("data", out[-1][1] + bytes(dst[:p.dpos]))
                else:
                    out.append(("data", bytes(dst[:p.dpos])))
            i = p.pos
            if ev == LINE:
                out.append((LINE, p.text))
            elif ev == ERR:
                out.append((ERR, p.code))
            elif ev not in (P.EV_NONE, P.EV_MAYBE_OK):
                out.append((ev,))
        pos = cut
    if p.after >= 0:
        settle(p, out)
    return out, p


def settle(p, out):
    """The modem's settling of a candidate OK: its bytes and what followed leave the payload,
    OK is the event, what followed it is parsed as AT lines."""
    data = out.pop()[1]
    assert len(data) >= p.after
    tail = data[len(data) - p.after + 6:]
    if len(data) > p.after:
        out.append(("data", data[:len(data) - p.after]))
    out.append((OK,))
    p.reset()
    i = 0
    while i < len(tail):
        ev = p.feed(tail, i, len(tail), None, 0, 0)
        i = p.pos
        if ev == LINE:
            out.append((LINE, p.text))
        elif ev != P.EV_NONE:
            out.append((ev,))


SEEDS = range(25)


@pytest.mark.parametrize("seed", SEEDS)
def test_reply_with_info_lines_and_echo(seed):
    wire = (b"AT+WIPCFG?\r\r\n+WIPCFG: 0,64\r\n+WIPCFG: 1,0\r\n\r\nOK\r\n"
            b"AT+WIPBR?\r\r\n6,1\r\n+WIPBR: 1,0\r\nOK\r\n")
    events, p = run(wire, seed=seed)
    assert events == [(LINE, "+WIPCFG: 0,64"), (LINE, "+WIPCFG: 1,0"), (OK,),
                      (LINE, "6,1"), (LINE, "+WIPBR: 1,0"), (OK,)]
    assert p.mode == P.MODE_AT


@pytest.mark.parametrize("seed", SEEDS)
def test_urc_in_the_middle_and_error_forms(seed):
    wire = (b"\r\n+WIPREADY: 2,1\r\n\r\n+WIPCFG: 0,64\r\n\r\n+WIPACCEPT:1, 5\r\n\r\nOK\r\n"
            b"\r\n+CME ERROR: 845\r\n\r\n+CME ERROR:803\r\n\r\nERROR\r\n")
    events, _ = run(wire, seed=seed)
    assert events == [(LINE, "+WIPREADY: 2,1"), (LINE, "+WIPCFG: 0,64"),
                      (LINE, "+WIPACCEPT:1, 5"), (OK,), (ERR, 845), (ERR, 803), (ERR, -1)]


@pytest.mark.parametrize("seed", SEEDS)
def test_tcp_worked_example_shutdown_then_escape(seed):
    # §3.12: escaped 03 10 45, unescaped ETX, SHUTDOWN; still data mode (D53), then +++/OK.
    wire = (b"\r\nCONNECT\r\n" + bytes([0x10, 0x03, 0x10, 0x10, 0x45, 0x03])
            + b"\r\nSHUTDOWN\r\n")
    esc = len(wire)
    wire += b"\r\nOK\r\n\r\n+WIPPEERCLOSE: 2,1\r\n"
    events, p = run(wire, escaping_at=esc, seed=seed)
    assert events == [(CONN,), ("data", b"\x03\x10\x45"), (ETX,), (SHUT,), (OK,),
                      (LINE, "+WIPPEERCLOSE: 2,1")]
    assert p.mode == P.MODE_AT and not p.escaping


@pytest.mark.parametrize("seed", SEEDS)
def test_tcp_reset_returns_to_at_mode(seed):
    wire = b"\r\nCONNECT\r\nabc\x03\r\n+CME ERROR: 843\r\n\r\n+WIPDATA: 2,3,10\r\n"
    events, p = run(wire, seed=seed)
    assert events == [(CONN,), ("data", b"abc"), (ETX,), (ERR, 843),
                      (LINE, "+WIPDATA: 2,3,10")]
    assert p.mode == P.MODE_AT


@pytest.mark.parametrize("seed", SEEDS)
def test_data_that_looks_like_lines_is_data(seed):
    payload = b"\r\nOK\r\n\r\nSHUTDOWN\r\nCONNECT\r\n+CME ERROR: 1\r\n\n\r"
    wire = b"\r\nCONNECT\r\n" + payload
    events, p = run(wire, seed=seed)
    assert events == [(CONN,), ("data", payload)]
    assert p.mode == P.MODE_DATA


@pytest.mark.parametrize("seed", SEEDS)
def test_data_starting_with_lf_after_connect(seed):
    # Data mode starts after the LF that closes CONNECT (§1.4), even split between reads.
    wire = b"\r\nCONNECT\r\n\n\nx"
    events, _ = run(wire, seed=seed)
    assert events == [(CONN,), ("data", b"\n\nx")]


@pytest.mark.parametrize("seed", SEEDS)
def test_udp_datagram_boundaries(seed):
    # D57: ETX ends a datagram, never data mode; a bare ETX is an empty datagram (D58).
    wire = b"\r\nCONNECT\r\nab\x03\x10\x03c\x03\x03xyz\x03"
    events, p = run(wire, kind=P.KIND_UDP, seed=seed)
    assert events == [(CONN,), ("data", b"ab"), (ETX,), ("data", b"\x03c"), (ETX,), (ETX,),
                      ("data", b"xyz"), (ETX,)]
    assert p.mode == P.MODE_DATA


@pytest.mark.parametrize("seed", SEEDS)
def test_file_download_ends_with_etx_then_result(seed):
    body = bytes(range(256))
    esc = bytearray()
    for b in body:
        if b in (3, 0x10):
            esc.append(0x10)
        esc.append(b)
    wire = b"\r\nCONNECT\r\n" + bytes(esc) + b"\x03\r\nOK\r\n\r\n+WIPFILE: 5,1,1,200,\"OK\"\r\n"
    events, p = run(wire, kind=P.KIND_FILE, seed=seed)
    assert events == [(CONN,), ("data", body), (ETX,), (OK,),
                      (LINE, '+WIPFILE: 5,1,1,200,"OK"')]
    assert p.mode == P.MODE_AT


@pytest.mark.parametrize("seed", SEEDS)
def test_file_download_failure_after_etx(seed):
    wire = b"\r\nCONNECT\r\npart\x03\r\n+CME ERROR: 863\r\n"
    events, _ = run(wire, kind=P.KIND_FILE, seed=seed)
    assert events == [(CONN,), ("data", b"part"), (ETX,), (ERR, 863)]


@pytest.mark.parametrize("seed", SEEDS)
def test_payload_in_flight_after_escape(seed):
    # Appendix B: bytes before CR LF OK CR LF are payload, including partial matches of it.
    inflight = bytes([0x10, 0x03]) + b"\r\nO\r\n\rOK\r\r\nOK\n" + bytes([0x10, 0x10]) + b"\r"
    wire = b"\r\nCONNECT\r\nhead"
    esc = len(wire)
    wire += inflight + b"\r\nOK\r\n\r\n+WIPDATA: 2,1,3\r\n"
    events, p = run(wire, escaping_at=esc, seed=seed)
    assert events == [(CONN,), ("data", b"head\x03\r\nO\r\n\rOK\r\r\nOK\n\x10\r"), (OK,),
                      (LINE, "+WIPDATA: 2,1,3")]
    assert p.mode == P.MODE_AT


@pytest.mark.parametrize("seed", SEEDS)
def test_ok_lines_in_flight_are_payload_up_to_the_last_one(seed):
    # Appendix B: payload still in flight can spell CR LF OK CR LF, and even end in half of
    # it, which the module's OK then completes; only the last OK before the line goes quiet
    # is the module's.
    inflight = b"\r\nOK\r\n" * 3 + b"x\r\nOK\r\n\r\nOK"
    wire = b"\r\nCONNECT\r\nhead"
    esc = len(wire)
    wire += inflight + b"\r\nOK\r\n\r\n+WIPDATA: 2,1,3\r\n"
    events, p = run(wire, escaping_at=esc, seed=seed)
    assert events == [(CONN,), ("data", b"head" + inflight), (OK,), (LINE, "+WIPDATA: 2,1,3")]
    assert p.mode == P.MODE_AT and not p.escaping


@pytest.mark.parametrize("seed", SEEDS)
def test_escaped_cr_is_not_the_ok_sequence(seed):
    # A DLE before the CR makes it payload: the module never does this, but it must decode.
    wire = b"\r\nCONNECT\r\n"
    esc = len(wire)
    wire += b"\x10\r\nOK\r\n" + b"\r\nOK\r\n"
    events, _ = run(wire, escaping_at=esc, seed=seed)
    assert events == [(CONN,), ("data", b"\r\nOK\r\n"), (OK,)]


@pytest.mark.parametrize("seed", SEEDS)
def test_escape_racing_a_reset(seed):
    wire = b"\r\nCONNECT\r\n"
    esc = len(wire)
    wire += b"zz\x03\r\n+CME ERROR: 843\r\n"
    events, p = run(wire, escaping_at=esc, seed=seed)
    assert events == [(CONN,), ("data", b"zz"), (ETX,), (ERR, 843)]
    assert p.mode == P.MODE_AT and not p.escaping


@pytest.mark.parametrize("seed", SEEDS)
def test_dle_split_across_reads_small_destination(seed):
    data = bytes([0x10, 0x10, 0x10, 0x03, 0x41]) * 40
    wire = b"\r\nCONNECT\r\n" + data
    events, _ = run(wire, seed=seed, dcap=1)
    assert events == [(CONN,), ("data", bytes([0x10, 0x03, 0x41]) * 40)]


def test_noise_long_lines_and_8bit_bytes():
    wire = b"\xff\xfe junk\r\n" + b"x" * 300 + b"\r\n\x00OK\r\nOK\r\n"
    events, _ = run(wire, line_size=32)
    assert events == [(LINE, "?? junk"), (LINE, "x" * 32), (LINE, "?OK"), (OK,)]


def test_echo_of_plus_plus_plus_then_at():
    # start() in AT mode: "+++" is echoed without CR, then the echo of "AT\r" and OK.
    events, _ = run(b"+++AT\r\r\nOK\r\n")
    assert events == [(LINE, "+++AT"), (OK,)]


def test_helpers_split_fields_and_numbers():
    assert P.split_fields('+WIPDATA: 1, 3,25, "127.0.0.1" ,2397') == [
        "1", "3", "25", '"127.0.0.1"', "2397"]
    assert P.split_fields('+WIPOPT: 7,73,"1,1024"') == ["7", "73", '"1,1024"']
    assert P.parse_int(' "42" ') == 42
    assert P.parse_int("x", -5) == -5
    assert P.unquote('"a b"') == "a b" and P.unquote("ab") == "ab"
