"""Codec throughput: viper vs pure Python on the unix port (one run), and pure on CPython.

Data: 64 KB of random bytes. Encode escapes it (escape_more off); decode
reads the encoded stream back. Each figure is bytes of payload per second, in MB/s (10^6).
"""

import os
import time

SIZE = 64 * 1024
MIN_SECONDS = 0.3
RATIO_TARGET = 10.0

MPY_SCRIPT = """\
import os
import time
from wip import codec

SIZE = %(size)d
MIN_US = %(min_us)d
payload = bytearray(os.urandom(SIZE))
wire = bytearray(2 * SIZE)
out = bytearray(SIZE)
state = codec.new_state()


def rate(fn):
    reps = 0
    t0 = time.ticks_us()
    while True:
        fn()
        reps += 1
        elapsed = time.ticks_diff(time.ticks_us(), t0)
        if elapsed >= MIN_US and reps >= 3:
            return SIZE * reps / elapsed


for name, encode, decode in (("viper", codec.encode, codec.decode),
                             ("python", codec.encode_py, codec.decode_py)):
    n = encode(payload, 0, SIZE, wire, 0, False)

    def run_encode():
        encode(payload, 0, SIZE, wire, 0, False)

    def run_decode():
        state[1] = 0
        decode(wire, n, out, 0, state)

    enc = rate(run_encode)
    dec = rate(run_decode)
    if out != payload:
        raise SystemExit("decode(encode(x)) != x for " + name)
    print("RESULT", name, codec.IMPL, enc, dec)
"""


def measure_cpython(codec):
    payload = bytearray(os.urandom(SIZE))
    wire = bytearray(2 * SIZE)
    out = bytearray(SIZE)
    state = codec.new_state()
    n = codec.encode_py(payload, 0, SIZE, wire, 0, False)

    def rate(fn):
        reps, t0 = 0, time.perf_counter()
        while True:
            fn()
            reps += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= MIN_SECONDS and reps >= 3:
                return SIZE * reps / elapsed / 1e6

    def run_decode():
        state[codec.ST_POS] = 0
        codec.decode_py(wire, n, out, 0, state)

    enc = rate(lambda: codec.encode_py(payload, 0, SIZE, wire, 0, False))
    dec = rate(run_decode)
    if out != payload:
        raise RuntimeError("CPython decode(encode(x)) != x")
    return enc, dec


def run(ctx):
    out = ctx.micropython(MPY_SCRIPT % {"size": SIZE, "min_us": int(MIN_SECONDS * 1e6)})
    rates, impl = {}, None
    for line in out.splitlines():
        if line.startswith("RESULT "):
            _, name, impl, enc, dec = line.split()
            rates[name] = (float(enc), float(dec))
    if impl != "viper" or set(rates) != {"viper", "python"}:
        raise RuntimeError(f"unexpected micropython output (active codec {impl}):\n{out}")
    for i, what in enumerate(("encode", "decode")):
        viper, pure = rates["viper"][i], rates["python"][i]
        ctx.figure(f"codec {what} 64K, unix port, viper", viper, "MB/s")
        ctx.figure(f"codec {what} 64K, unix port, pure Python", pure, "MB/s")
        ratio = viper / pure
        ctx.figure(f"codec {what} viper/pure speed-up", ratio, "x",
                   target=f">= {RATIO_TARGET:g}x", met=ratio >= RATIO_TARGET)
    from wip import codec as cpython_codec

    enc, dec = measure_cpython(cpython_codec)
    ctx.figure("codec encode 64K, CPython, pure Python", enc, "MB/s")
    ctx.figure("codec decode 64K, CPython, pure Python", dec, "MB/s")
