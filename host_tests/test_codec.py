"""The DLE/ETX codec (wip.codec) on CPython: spec §3.2, §3.3, §3.12, D62, D65.

The round-trip and model fuzz tests run WIP_FUZZ_EXAMPLES hypothesis examples (default
10000; `make fuzz` sets more). The viper twin is checked against this reference by the
MicroPython scripts host_tests/mpy/test_codec.py and test_heap_codec.py.
"""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wip import codec

DLE, ETX, PLUS = 0x10, 0x03, 0x2B
FUZZ_EXAMPLES = int(os.environ.get("WIP_FUZZ_EXAMPLES", "10000"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FEWER = settings(FUZZ, max_examples=max(500, FUZZ_EXAMPLES // 5))
# About 1 ms per example; `make fuzz` runs long enough to need more than the global 300 s.
FUZZ_TIMEOUT = pytest.mark.timeout(max(300, FUZZ_EXAMPLES // 200))
CONTROL_BYTES = bytes([DLE, ETX, PLUS])


def _with_control_bytes(raw_and_mask):
    raw, mask = raw_and_mask
    return bytes(CONTROL_BYTES[m % 3] if m >= 160 else r for r, m in zip(raw, mask, strict=False))


# Payload bytes with the control bytes well represented (about 1 in 3), runs of them included.
payload_bytes = st.tuples(st.binary(max_size=300), st.binary(max_size=300)).map(
    _with_control_bytes
)


def encode_all(data, escape_more=False):
    out = bytearray(2 * len(data))
    n = codec.encode(data, 0, len(data), out, 0, escape_more)
    return bytes(out[:n])


def decode_all(wire, state=None):
    """Decode wire from position 0 (or the state's position); return (bytes, state)."""
    state = codec.new_state() if state is None else state
    out = bytearray(len(wire))
    n = codec.decode(wire, len(wire), out, 0, state)
    return bytes(out[:n]), list(state)


def model_decode(wire):
    """§3.3 as written: a list of data bytes and "ETX" events; a trailing DLE is pending."""
    events, escaped = [], False
    for b in wire:
        if escaped:
            events.append(b)
            escaped = False
        elif b == DLE:
            escaped = True
        elif b == ETX:
            events.append("ETX")
        else:
            events.append(b)
    return events, escaped


def decode_in_chunks(wire, cuts, fresh_buffer_per_chunk):
    """Feed wire in chunks split at cuts, collecting data and ETX events like a driver would."""
    state = codec.new_state()
    out = bytearray(len(wire))
    events, dpos = [], 0
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(wire))), len(wire)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        if fresh_buffer_per_chunk:
            src, state[codec.ST_POS], end = bytearray(wire[lo:hi]), 0, hi - lo
        else:
            src, end = wire, hi
        while state[codec.ST_POS] < end:
            start = dpos
            dpos = codec.decode(src, end, out, dpos, state)
            events.extend(out[start:dpos])
            if state[codec.ST_ETX]:
                events.append("ETX")
            else:
                assert state[codec.ST_POS] == end
    return events, bool(state[codec.ST_ESC])


def test_active_implementation_on_cpython_is_the_pure_one():
    assert codec.IMPL == "python"
    assert codec.decode is codec.decode_py
    assert codec.encode is codec.encode_py
    assert codec.encoded_len is codec.encoded_len_py
    assert (codec.DLE, codec.ETX) == (0x10, 0x03)
    assert (codec.ST_ESC, codec.ST_POS, codec.ST_ETX) == (0, 1, 2)
    assert list(codec.new_state()) == [0, 0, 0]


@FUZZ_TIMEOUT
@FUZZ
@given(payload_bytes, st.booleans(), st.lists(st.integers(0, 700), max_size=12), st.booleans())
def test_fuzz_round_trip_with_chunk_splits(data, escape_more, cuts, fresh_buffer_per_chunk):
    wire = encode_all(data, escape_more)
    assert len(wire) == codec.encoded_len(data, 0, len(data), escape_more)
    events, pending = decode_in_chunks(wire, cuts, fresh_buffer_per_chunk)
    assert bytes(events) == data
    assert not pending
    assert "ETX" not in model_decode(wire)[0]


@FEWER
@given(st.lists(st.sampled_from([DLE, ETX, PLUS, 0x00, 0x41, 0x54, 0x74, 0xFF]), max_size=80)
       .map(bytes),
       st.lists(st.integers(0, 80), max_size=6), st.booleans())
def test_fuzz_decode_matches_the_spec_state_machine(wire, cuts, fresh_buffer_per_chunk):
    assert decode_in_chunks(wire, cuts, fresh_buffer_per_chunk) == model_decode(wire)


@FEWER
@given(payload_bytes, st.booleans())
def test_fuzz_encoding_escapes_exactly_the_control_bytes(data, escape_more):
    wire = encode_all(data, escape_more)
    escaped = {DLE, ETX, PLUS, ord("T"), ord("t")} if escape_more else {DLE, ETX}
    expected = b"".join(bytes([DLE, b]) if b in escaped else bytes([b]) for b in data)
    assert wire == expected
    assert len(wire) == codec.encoded_len(data, 0, len(data), escape_more)


def test_every_single_byte():
    for b in range(256):
        for escape_more in (False, True):
            escaped = b in (DLE, ETX) or (escape_more and b in (PLUS, 0x54, 0x74))
            assert encode_all(bytes([b]), escape_more) == (bytes([DLE, b]) if escaped else
                                                           bytes([b]))
        data, state = decode_all(bytes([b]))
        if b == DLE:
            assert (data, state) == (b"", [1, 1, 0])
        elif b == ETX:
            assert (data, state) == (b"", [0, 1, 1])
        else:
            assert (data, state) == (bytes([b]), [0, 1, 0])


def test_every_two_byte_sequence_decodes_per_the_state_machine():
    for a in range(256):
        for b in range(256):
            wire = bytes([a, b])
            data, state = decode_all(wire)
            if a == DLE:
                assert (data, state) == (bytes([b]), [0, 2, 0]), wire
            elif a == ETX:
                assert (data, state) == (b"", [0, 1, 1]), wire
            elif b == DLE:
                assert (data, state) == (bytes([a]), [1, 2, 0]), wire
            elif b == ETX:
                assert (data, state) == (bytes([a]), [0, 2, 1]), wire
            else:
                assert (data, state) == (wire, [0, 2, 0]), wire
            # The same two bytes arriving in two reads give the same result.
            split = codec.new_state()
            out = bytearray(2)
            n = codec.decode(wire, 1, out, 0, split)
            if not split[codec.ST_ETX]:
                n = codec.decode(wire, 2, out, n, split)
            assert (bytes(out[:n]), list(split)) == (data, state), wire


def test_every_two_byte_payload_round_trips():
    src = bytearray(2)
    wire = bytearray(4)
    out = bytearray(4)
    for a in range(256):
        for b in range(256):
            src[0], src[1] = a, b
            for escape_more in (False, True):
                n = codec.encode(src, 0, 2, wire, 0, escape_more)
                assert n == codec.encoded_len(src, 0, 2, escape_more)
                state = codec.new_state()
                m = codec.decode(wire, n, out, 0, state)
                assert out[:m] == src and list(state) == [0, n, 0]


def test_worked_example_host_to_peer_tcp():
    """§3.12 and X3: host writes 41 10 03 42 10 10 43 10 44 03; the peer gets 41 03 42 10 43 44."""
    wire = bytes.fromhex("41 10 03 42 10 10 43 10 44 03")
    data, state = decode_all(wire)
    assert data == bytes.fromhex("41 03 42 10 43 44")
    assert state == [0, 10, 1]
    # Our encoder never emits the lone DLE of the example: it escapes only 03 and 10 (D65).
    assert encode_all(data) == bytes.fromhex("41 10 03 42 10 10 43 44")


def test_worked_example_peer_to_host_tcp_with_shutdown():
    """§3.12: the peer sends 03 10 45 then FIN; the host sees escaped data, ETX, SHUTDOWN."""
    assert encode_all(bytes.fromhex("03 10 45")) == bytes.fromhex("10 03 10 10 45")
    wire = bytes.fromhex("10 03 10 10 45 03 0D 0A") + b"SHUTDOWN\r\n"
    data, state = decode_all(wire)
    assert data == bytes.fromhex("03 10 45")
    assert state == [0, 6, 1]
    assert wire[state[codec.ST_POS]:] == b"\r\nSHUTDOWN\r\n"


def test_worked_example_udp_datagram_boundaries():
    """§3.12: 61 62 03 63 03 03 is "ab", "c" and a bare ETX (which sends nothing, D58)."""
    wire = bytes.fromhex("61 62 03 63 03 03")
    state = codec.new_state()
    out = bytearray(6)
    datagrams = []
    while state[codec.ST_POS] < len(wire):
        n = codec.decode(wire, len(wire), out, 0, state)
        assert state[codec.ST_ETX] == 1
        datagrams.append((bytes(out[:n]), state[codec.ST_POS]))
    assert datagrams == [(b"ab", 3), (b"c", 5), (b"", 6)]


def test_lone_dle_gives_the_next_byte_as_data():
    """D65: DLE x is x for any x, so a lone DLE before an ordinary byte is dropped."""
    assert decode_all(bytes([DLE, 0x41, 0x42]))[0] == b"AB"
    assert decode_all(bytes([DLE, PLUS, PLUS, PLUS]))[0] == b"+++"
    assert decode_all(bytes([DLE, DLE, DLE, ETX, ETX, 0x41])) == (bytes([DLE, ETX]), [0, 5, 1])


def test_dle_at_the_end_of_a_read_escapes_the_first_byte_of_the_next():
    state = codec.new_state()
    out = bytearray(8)
    n = codec.decode(b"ab\x10", 3, out, 0, state)
    assert (bytes(out[:n]), list(state)) == (b"ab", [1, 3, 0])
    state[codec.ST_POS] = 0
    n = codec.decode(b"\x03cd", 3, out, n, state)
    assert (bytes(out[:n]), list(state)) == (b"ab\x03cd", [0, 3, 0])


def test_pending_dle_survives_an_empty_read_and_reset_drops_it():
    state = codec.new_state()
    out = bytearray(4)
    codec.decode(b"\x10", 1, out, 0, state)
    assert list(state) == [1, 1, 0]
    assert codec.decode(b"\x10", 1, out, 0, state) == 0
    assert list(state) == [1, 1, 0]
    codec.reset_state(state)
    assert list(state) == [0, 0, 0]
    assert decode_all(b"\x03", state) == (b"", [0, 1, 1])


def test_decode_stops_right_after_the_first_unescaped_etx():
    wire = b"abc\x10\x03def\x03ghi\x03"
    state = codec.new_state()
    out = bytearray(len(wire))
    n = codec.decode(wire, len(wire), out, 0, state)
    assert (bytes(out[:n]), list(state)) == (b"abc\x03def", [0, 9, 1])
    n = codec.decode(wire, len(wire), out, n, state)
    assert (bytes(out[:n]), list(state)) == (b"abc\x03defghi", [0, 13, 1])
    n = codec.decode(wire, len(wire), out, n, state)
    assert (n, list(state)) == (10, [0, 13, 0])


def test_decode_respects_end_and_start_position():
    wire = b"xx\x10\x10yy\x03zz"
    state = codec.new_state()
    state[codec.ST_POS] = 2
    out = bytearray(10)
    n = codec.decode(wire, 5, out, 3, state)
    assert (n, bytes(out[3:n]), list(state)) == (5, b"\x10y", [0, 5, 0])
    assert out[:3] == b"\0\0\0" and out[5:] == bytes(5)


def test_memoryview_buffers_and_offsets():
    data = bytearray(b"--a\x03b\x10c+--")
    wire = bytearray(32)
    n = codec.encode(memoryview(data), 2, 8, memoryview(wire)[4:], 1, True)
    assert bytes(wire[5:4 + n]) == b"a\x10\x03b\x10\x10c\x10+"
    assert wire[:5] == bytes(5) and wire[4 + n:] == bytes(32 - 4 - n)
    assert codec.encoded_len(memoryview(data), 2, 8, True) == n - 1
    state = codec.new_state()
    state[codec.ST_POS] = 5
    out = bytearray(16)
    m = codec.decode(memoryview(wire), 4 + n, memoryview(out)[2:], 0, state)
    assert bytes(out[2:2 + m]) == b"a\x03b\x10c+"
    assert list(state) == [0, 4 + n, 0]


def test_escape_more_keeps_a_payload_plus_run_from_looking_like_the_escape():
    """D62: with escape_more no three consecutive '+' bytes reach the wire."""
    wire = encode_all(b"abc+++def++++", escape_more=True)
    assert b"++" not in wire
    assert decode_all(wire)[0] == b"abc+++def++++"
    assert encode_all(b"+++", escape_more=False) == b"+++"


def test_escape_more_keeps_any_at_off_the_wire():
    """With escape_more every 'T'/'t' follows a DLE: no AT/At/aT/at command can form."""
    data = b"AT+WIPCLOSE=2,1\r\nat+cfun=1\r\naT At"
    wire = encode_all(data, escape_more=True)
    assert all(pair not in wire for pair in (b"AT", b"At", b"aT", b"at"))
    assert decode_all(wire)[0] == data
