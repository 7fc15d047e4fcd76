# A 256 KB FTP download hashed as it streams on a 64 KB heap, so the file can never be held,
# while the live heap stays where it was after the first chunk.
# needs: sim, ftp
# heapsize: 64K
import gc
import hashlib
import os
import sys

from mpytest import eq, ok, run

# The driver as .mpy files, as on a board: compiling it from source needs more than 64 KB.
sys.path.insert(0, os.getenv("WIP_MPY_PATH"))

from simlink import shared_modem  # noqa: E402

CHUNK = 512
SAMPLE_EVERY = 32  # chunks between live-heap samples (gc.collect() then gc.mem_alloc())
SLACK = 256  # bytes the live heap may drift (a per-chunk leak would be 512x more)


def env(name):
    return os.getenv(name)


def test_ftp_256k_download_streams_in_flat_memory():
    m = shared_modem()
    buf = bytearray(CHUNK)
    digest = hashlib.sha256()
    with m.ftp(env("WIP_FTP_HOST"), env("WIP_FTP_USER"), env("WIP_FTP_PASS"),
               port=int(env("WIP_FTP_PORT"))) as ftp:
        f = ftp.open(env("WIP_FTP_FILE"), "rb")
        total = 0
        chunks = 0
        first = peak = 0
        while True:
            n = f.readinto(buf)
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
        f.close()
    eq(total, int(env("WIP_FTP_SIZE")))
    eq(bytes_hex(digest.digest()), env("WIP_FTP_SHA256"))
    print("ftp live heap after first chunk %d, peak %d" % (first, peak))
    ok(peak - first <= SLACK, "live heap grew by %d bytes" % (peak - first))


def bytes_hex(b):
    return "".join("%02x" % x for x in b)


run(globals())
