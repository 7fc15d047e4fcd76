# A 256 KB HTTP GET hashed as it streams on a 64 KB heap, with a flat live heap; the status
# arrives after the body (D50) and a 404 is a status, not an exception.
# needs: sim, http
# heapsize: 64K
import gc
import hashlib
import os
import sys

from mpytest import eq, ok, raises, run

# The driver as .mpy files, as on a board: compiling it from source needs more than 64 KB.
sys.path.insert(0, os.getenv("WIP_MPY_PATH"))

from simlink import shared_modem  # noqa: E402

CHUNK = 512
SAMPLE_EVERY = 32
SLACK = 256


def env(name):
    return os.getenv(name)


def bytes_hex(b):
    return "".join("%02x" % x for x in b)


def test_http_256k_get_streams_in_flat_memory():
    m = shared_modem()
    buf = bytearray(CHUNK)
    digest = hashlib.sha256()
    r = m.http_get(env("WIP_HTTP_URL"))
    raises(OSError, lambda: r.status)  # D50: only known once the body has been read
    total = 0
    chunks = 0
    first = peak = 0
    while True:
        n = r.readinto(buf)
        if not n:
            break
        digest.update(buf if n == CHUNK else memoryview(buf)[:n])
        total += n
        chunks += 1
        if chunks == 1 or chunks % SAMPLE_EVERY == 0:
            gc.collect()
            live = gc.mem_alloc()
            if chunks == 1:
                first = peak = live
            elif live > peak:
                peak = live
    eq(r.status, 200)
    eq(total, int(env("WIP_HTTP_SIZE")))
    eq(bytes_hex(digest.digest()), env("WIP_HTTP_SHA256"))
    print("http live heap after first chunk %d, peak %d" % (first, peak))
    ok(peak - first <= SLACK, "live heap grew by %d bytes" % (peak - first))


run(globals())
