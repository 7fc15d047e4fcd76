# Differential test on the unix port: the viper codec against the pure-Python reference.
# heapsize: 512K
import os
import random
import time

from mpytest import eq, ok, run
from wip import codec

DLE, ETX, PLUS = 0x10, 0x03, 0x2B
ROUNDS = int(os.getenv("WIP_FUZZ_ROUNDS") or "3000")
SEED = int(os.getenv("WIP_FUZZ_SEED") or str(time.ticks_us() & 0xFFFFFF))
GUARD = 0xA5  # what unwritten destination bytes hold, to catch writes out of range
random.seed(SEED)
print("seed", SEED, "rounds", ROUNDS)


def guarded(size):
    """A destination buffer whose bytes all hold GUARD."""
    return bytearray(bytes((GUARD,)) * size)


def random_bytes(n):
    """Random bytes where DLE, ETX and '+' are common and often come in runs."""
    out = bytearray(n)
    i = 0
    while i < n:
        kind = random.randint(0, 9)
        if kind < 3:
            b = (DLE, ETX, PLUS)[kind]
            run_len = random.randint(1, 5)
            while run_len and i < n:
                out[i] = b
                i += 1
                run_len -= 1
        else:
            out[i] = random.getrandbits(8)
            i += 1
    return out


def as_random_buffer(data, pad):
    """data as bytes, bytearray or a memoryview, possibly offset inside a bigger buffer."""
    kind = random.randint(0, 3)
    if kind == 0:
        return bytes(data)
    if kind == 1:
        return bytearray(data)
    if kind == 2:
        return memoryview(data)
    return memoryview(bytearray(pad) + data)[pad:]


def random_cuts(n):
    cuts = sorted(set(random.randint(0, n) for _ in range(random.randint(0, 6))))
    return [c for c in cuts if 0 < c < n] + [n]


def test_viper_is_the_active_implementation():
    eq(codec.IMPL, "viper")
    ok(codec.decode is not codec.decode_py)
    ok(codec.encode is not codec.encode_py)
    ok(codec.encoded_len is not codec.encoded_len_py)


def test_encode_and_encoded_len_match_the_reference():
    for _ in range(ROUNDS):
        n = random.randint(0, 300)
        data = random_bytes(n)
        src = as_random_buffer(data, random.randint(1, 7))
        start = random.randint(0, n)
        end = random.randint(start, n)
        dpos = random.randint(0, 5)
        escape_plus = random.choice((True, False, 0, 1))
        size = dpos + 2 * (end - start) + 4
        dst_v = guarded(size)
        dst_p = guarded(size)
        n_v = codec.encode(src, start, end, dst_v, dpos, escape_plus)
        n_p = codec.encode_py(src, start, end, dst_p, dpos, escape_plus)
        what = "encode(%r, %d, %d, dpos=%d, %r)" % (bytes(data), start, end, dpos, escape_plus)
        eq(n_v, n_p, what)
        eq(dst_v, dst_p, what)
        eq(codec.encoded_len(src, start, end, escape_plus), n_p - dpos, what)
        eq(codec.encoded_len_py(src, start, end, escape_plus), n_p - dpos, what)


def decode_trace(fn, wire, cuts, fresh_buffers):
    """Feed wire to fn chunk by chunk; return every (dpos, state) step and the output."""
    st = codec.new_state()
    out = guarded(len(wire) + 8)
    dpos = random_start = 3
    steps = [random_start]
    lo = 0
    for hi in cuts:
        if fresh_buffers:
            src, end = as_random_buffer(wire[lo:hi], 2), hi - lo
            st[codec.ST_POS] = 0
        else:
            src, end = wire, hi
        while True:
            dpos = fn(src, end, out, dpos, st)
            steps.append((dpos, st[0], st[1], st[2]))
            if not st[codec.ST_ETX] or st[codec.ST_POS] >= end:
                break
        lo = hi
    return steps, out


def test_decode_matches_the_reference_across_random_chunks():
    for _ in range(ROUNDS):
        wire = random_bytes(random.randint(0, 300))
        cuts = random_cuts(len(wire))
        fresh = random.randint(0, 1)
        seed = random.getrandbits(24)
        random.seed(seed)
        viper = decode_trace(codec.decode, wire, cuts, fresh)
        random.seed(seed)
        pure = decode_trace(codec.decode_py, wire, cuts, fresh)
        eq(viper, pure, "decode of %r cut at %r" % (bytes(wire), cuts))


def test_round_trip_through_both_implementations():
    for _ in range(ROUNDS // 4):
        data = random_bytes(random.randint(0, 2000))
        escape_plus = random.randint(0, 1)
        wire = bytearray(2 * len(data) + 1)
        n = codec.encode(data, 0, len(data), wire, 0, escape_plus)
        wire[n] = ETX
        for fn in (codec.decode, codec.decode_py):
            st = codec.new_state()
            out = bytearray(len(data))
            eq(fn(wire, n + 1, out, 0, st), len(data))
            eq(out, data)
            eq(list(st), [0, n + 1, 1])


def test_state_positions_beyond_16_bits_and_memoryview_offsets():
    """ptr32 on array("i") (4-byte items, also on 64-bit ports); ptr8 honours slice starts."""
    big = bytearray(70010)
    big[70003] = DLE
    big[70004] = ETX
    big[70005] = ETX
    for fn in (codec.decode, codec.decode_py):
        st = codec.new_state()
        st[codec.ST_POS] = 70000
        out = bytearray(16)
        n = fn(memoryview(big)[0:], len(big), memoryview(out)[5:], 2, st)
        eq((n, list(st)), (6, [0, 70006, 1]))
        eq(bytes(out[7:11]), bytes((0, 0, 0, ETX)))


def test_worked_example_of_the_spec():
    wire = bytes([0x10, 0x03, 0x10, 0x10, 0x45, 0x03, 0x0D, 0x0A])
    st = codec.new_state()
    out = bytearray(8)
    n = codec.decode(wire, len(wire), out, 0, st)
    eq(bytes(out[:n]), b"\x03\x10\x45")
    eq(list(st), [0, 6, 1])


run(globals())
