# The codec hot path allocates nothing: it runs under micropython.heap_lock() (where any
# allocation raises MemoryError) and leaves gc.mem_alloc() unchanged.
# heapsize: 256K
import gc
from array import array

import micropython
from mpytest import eq, run
from wip import codec

SIZE = 4096
PAYLOAD = bytearray(SIZE)
WIRE = bytearray(2 * SIZE + 1)
OUT = bytearray(SIZE)
STATE = codec.new_state()
RESULTS = array("i", [0] * 8)  # what the locked section computes, checked afterwards
IMPLS = (
    ("active", codec.encode, codec.encoded_len, codec.decode),
    ("pure", codec.encode_py, codec.encoded_len_py, codec.decode_py),
)

i = 0
while i < SIZE:
    PAYLOAD[i] = (0x10, 0x03, 0x2B, 0x41, 0x00, 0xFF, 0x10)[i % 7] ^ (i & 0x40)
    i += 1


def exercise(encode, encoded_len, decode):
    """Encode both ways, then decode in 3 reads: a DLE left pending, then a stop at the ETX."""
    RESULTS[0] = encode(PAYLOAD, 0, SIZE, WIRE, 0, True)
    RESULTS[1] = encoded_len(PAYLOAD, 0, SIZE, True)
    n = encode(PAYLOAD, 0, SIZE, WIRE, 0, False)
    RESULTS[2] = n
    RESULTS[3] = encoded_len(PAYLOAD, 0, SIZE, False)
    WIRE[n] = 0x03
    STATE[0] = 0
    STATE[1] = 0
    STATE[2] = 0
    split = 1
    while WIRE[split - 1] != 0x10:
        split += 1
    dpos = decode(WIRE, split, OUT, 0, STATE)
    RESULTS[4] = STATE[0]
    dpos = decode(WIRE, n // 2, OUT, dpos, STATE)
    dpos = decode(WIRE, n + 1, OUT, dpos, STATE)
    RESULTS[5] = dpos
    RESULTS[6] = STATE[1]
    RESULTS[7] = STATE[2]


def expected_results():
    plain = SIZE + sum(1 for b in PAYLOAD if b in (0x10, 0x03))
    plus = plain + sum(1 for b in PAYLOAD if b == 0x2B)
    return [plus, plus, plain, plain, 1, SIZE, plain + 1, 1]


def run_locked(impl):
    _, encode, encoded_len, decode = impl
    micropython.heap_lock()
    try:
        exercise(encode, encoded_len, decode)
    finally:
        micropython.heap_unlock()
    eq(list(RESULTS), expected_results(), "results of the locked run")
    eq(OUT, PAYLOAD)


def test_heap_lock_really_forbids_allocation():
    refused = False
    micropython.heap_lock()
    try:
        bytearray(16)
    except MemoryError:
        refused = True
    finally:
        micropython.heap_unlock()
    eq(refused, True, "bytearray(16) under heap_lock raised MemoryError")


def test_viper_codec_runs_under_heap_lock():
    eq(codec.IMPL, "viper")
    run_locked(IMPLS[0])


def test_pure_python_codec_runs_under_heap_lock():
    run_locked(IMPLS[1])


def test_codec_leaves_mem_alloc_unchanged():
    for name, encode, encoded_len, decode in IMPLS:
        exercise(encode, encoded_len, decode)  # warm up: first calls may intern or cache
        gc.collect()
        gc.disable()
        try:
            before = gc.mem_alloc()
            exercise(encode, encoded_len, decode)
            exercise(encode, encoded_len, decode)
            after = gc.mem_alloc()
        finally:
            gc.enable()
        eq(after - before, 0, "bytes allocated by the %s codec" % name)
        eq(OUT, PAYLOAD)


run(globals())
