"""Service helpers on the unix port: heap and throughput of FTP and HTTP downloads.

For each of 64 KB and 256 KB, over FTP (pyftpdlib) and HTTP (the recording server of
host_tests/servers.py), through the simulator, with the driver precompiled to .mpy as on a
board:

* live heap growth: gc.collect() + gc.mem_alloc() sampled every 16 readinto() calls of up
  to 512 bytes, peak minus the value after the first call;
* bytes allocated inside readinto(), measured around each call with the collector disabled:
  summed over the calls that returned data ("while streaming"; HTTP's first call copies the
  read-ahead prefix through two memoryviews), and in the last call, which reads the final
  result and, for HTTP, the status URC and closes the session;
* targets: both figures the same for 64 KB and 256 KB (memory independent of size);
* throughput in KB/s (10^3 bytes per second) of an unsampled run with the simulator
  unpaced (the driver's own ceiling), and for 64 KB with the simulator paced at 921600 baud
  as a share of the line rate (baud / 10 bytes per second; target >= 90%).
"""

import hashlib
import logging
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (64 * 1024, 256 * 1024)
HEAP = "512K"
PACED_BAUD = 921600  # roomy, so that the collector-disabled pass cannot run out

MPY_SCRIPT = """\
import gc
import hashlib
import os
import sys
import time

sys.path.insert(0, os.getenv("WIP_MPY_PATH"))
import wip

CHUNK = 512
SAMPLE = 16
buf = bytearray(CHUNK)
m = wip.Modem(wip.tcp_stream("127.0.0.1", int(os.getenv("WIPSIM_PORT"))),
              guard_time=float(os.getenv("WIPSIM_GUARD")), timeout=10)
m.start()
m.gprs("internet")


def hexdigest(d):
    return "".join("%02x" % b for b in d.digest())


def drain(stream, mode):
    # mode 0: timed; 1: live heap sampled; 2: collector disabled, allocation counted
    digest = hashlib.sha256()
    total = chunks = first = peak = 0
    hot = end = 0
    gc.collect()
    if mode == 2:
        gc.disable()
    t0 = time.ticks_us()
    while True:
        if mode == 2:
            before = gc.mem_alloc()
            n = stream.readinto(buf)
            if n:
                hot += gc.mem_alloc() - before
            else:
                end = gc.mem_alloc() - before
        else:
            n = stream.readinto(buf)
        if not n:
            break
        digest.update(buf if n == CHUNK else memoryview(buf)[:n])
        total += n
        chunks += 1
        if mode == 1 and (chunks == 1 or chunks % SAMPLE == 0):
            gc.collect()
            live = gc.mem_alloc()
            if chunks == 1:
                first = peak = live
            elif live > peak:
                peak = live
    us = time.ticks_diff(time.ticks_us(), t0)
    gc.enable()
    return total, hexdigest(digest), us, peak - first, hot, end


def ftp_run(size, mode):
    with m.ftp("127.0.0.1", os.getenv("FTP_USER"), os.getenv("FTP_PASS"),
               port=int(os.getenv("FTP_PORT"))) as ftp:
        with ftp.open("f%d.bin" % size) as f:
            return drain(f, mode)


def http_run(size, mode):
    r = m.http_get(os.getenv("HTTP_BASE") + "/bytes/%d?seed=%d" % (size, size))
    result = drain(r, mode)
    if r.status != 200:
        raise SystemExit("HTTP status %d" % r.status)
    return result


for name, fn in (("ftp", ftp_run), ("http", http_run)):
    for size in [int(s) for s in os.getenv("SIZES").split(",")]:
        total, digest, us, _, _, _ = fn(size, 0)
        growth = hot = end = -1
        if not os.getenv("TIMED_ONLY"):
            _, _, _, growth, _, _ = fn(size, 1)
            _, _, _, _, hot, end = fn(size, 2)
        print("RESULT", name, size, total, digest, us, growth, hot, end)
"""


def _compile_driver(out):
    from tools.build_mpy import mpy_cross_binary

    (out / "wip").mkdir(parents=True)
    for src in sorted((ROOT / "mpy" / "wip").glob("*.py")):
        subprocess.run([mpy_cross_binary(), "-march=x64", "-s", "wip/" + src.name, "-o",
                        str(out / "wip" / (src.stem + ".mpy")), str(src)], check=True,
                       capture_output=True, timeout=60)


def run(ctx):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from host_tests.servers import random_bytes, start_ftp_server, start_http_server

    mpy_dir = ctx.tmpdir / "services-mpy"
    _compile_driver(mpy_dir)
    sim = ctx.start_sim()
    paced_sim = ctx.start_sim("--baud", str(PACED_BAUD))
    ftp = start_ftp_server()
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)  # no per-transfer log lines
    http = start_http_server()
    try:
        expected = {}
        for size in SIZES:
            data = random_bytes(size, size)
            (ftp.root / f"f{size}.bin").write_bytes(data)
            expected[size] = hashlib.sha256(data).hexdigest()
        env = {"WIP_MPY_PATH": str(mpy_dir), "WIPSIM_PORT": str(sim.port),
               "WIPSIM_GUARD": "0.05", "FTP_USER": ftp.user, "FTP_PASS": ftp.password,
               "FTP_PORT": str(ftp.port), "HTTP_BASE": http.url(""),
               "SIZES": ",".join(str(s) for s in SIZES)}
        out = ctx.micropython(MPY_SCRIPT, env=env, heapsize=HEAP, timeout=300)
        env.update(WIPSIM_PORT=str(paced_sim.port), SIZES=str(SIZES[0]), TIMED_ONLY="1")
        paced = _results(ctx.micropython(MPY_SCRIPT, env=env, heapsize=HEAP, timeout=300),
                         expected)
    finally:
        ftp.stop()
        http.stop()
    results = _results(out, expected)
    for name in ("ftp", "http"):
        for size in SIZES:
            us, growth, hot, end = results[name, size]
            label = f"{name} {size // 1024} KB download"
            ctx.figure(f"{label}: live heap growth", growth, "bytes", target="<= 64",
                       met=growth <= 64)
            ctx.figure(f"{label}: allocated while streaming", hot, "bytes")
            ctx.figure(f"{label}: allocated at the end", end, "bytes")
            ctx.figure(f"{label}: throughput, unpaced", round(size * 1000 / max(us, 1), 1),
                       "KB/s")
        small, large = results[name, SIZES[0]], results[name, SIZES[-1]]
        ctx.figure(f"{name}: live heap growth, 256 KB minus 64 KB", large[1] - small[1],
                   "bytes", target="0", met=large[1] == small[1])
        ctx.figure(f"{name}: streaming allocation, 256 KB minus 64 KB", large[2] - small[2],
                   "bytes", target="0", met=large[2] == small[2])
        # The line carries at most baud/10 bytes/s, escapes included (random data: ~1%).
        line_rate = PACED_BAUD / 10 / 1000
        rate = SIZES[0] * 1000 / max(paced[name, SIZES[0]][0], 1)
        ctx.figure(f"{name} {SIZES[0] // 1024} KB at {PACED_BAUD} baud: share of line rate",
                   round(100 * rate / line_rate, 1), "%", target=">= 90", met=rate >= 0.9 *
                   line_rate)


def _results(out, expected):
    results = {}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            _, name, size, total, digest, us, growth, hot, end = line.split()
            size = int(size)
            if int(total) != size or digest != expected[size]:
                raise RuntimeError(f"{name} {size}: got {total} bytes, sha256 {digest}")
            results[name, size] = (int(us), int(growth), int(hot), int(end))
    return results
