"""Driver figures on the MicroPython unix port: heap cost and TCP goodput (run by tools/bench.py).

* Heap: the core driver (every module of the `wip` package in mpy/packages/wip: __init__,
  modem, parser, socket, streams, errors, codec and its viper twin, and the modules imported
  on first use) compiled by mpy-cross into a temp dir, then `gc.mem_alloc()` growth across
  `import wip` + Modem + start + gprs + one connected TCP socket (target <= 16 KB). Also
  printed: which wip modules are loaded at that point, the qstr pool statistics, and a
  per-module breakdown (RAM each module costs while loaded, imported one by one; the
  one-shot modules are dropped again after each use).
* Goodput: 512 KB each way through a TCP socket, the simulator paced with `--baud 921600`
  (10 bits a byte: line rate 92 160 B/s). Download is module -> host (paced); upload is host
  -> module (the simulator does not pace input, so it may exceed the line rate). Figures are
  payload bytes per second as a percentage of the line rate (target >= 90 %).
"""

import hashlib
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

CORE = ("__init__", "modem", "parser", "socket", "streams", "errors", "codec", "_codec_viper",
        "_codec_py", "_sockio",
        "_setup", "_control", "_sockops", "_udp", "_debug", "filexfer")
# Breakdown order: dependencies first (a module's figure excludes what it imports).
BREAKDOWN = ("errors", "_codec_viper", "codec", "parser", "modem", "socket", "streams",
             "_setup", "_control", "_sockops", "_udp", "_debug", "filexfer")
BAUD = 921600
LINE_RATE = BAUD // 10
SIZE = 512 * 1024
HEAP_TARGET = 16 * 1024

HEAP_SCRIPT = """\
import gc
gc.collect()
before = gc.mem_alloc()
import wip
gc.collect()
code = gc.mem_alloc()
m = wip.Modem(wip.tcp_stream("127.0.0.1", %(sim)d), timeout=5, guard_time=%(guard)r)
m.start()
m.gprs("internet")
s = m.socket()
s.connect(("127.0.0.1", %(echo)d))
gc.collect()
after = gc.mem_alloc()
s.sendall(b"ping")
assert s.read(4) == b"ping"
print("HEAP", after - before, code - before, after - code, wip.modem.codec.IMPL)
import sys
print("LOADED", " ".join(sorted(k[4:] for k in sys.modules if k.startswith("wip."))))
import micropython
micropython.qstr_info()
"""

# Runs against a copy of the package whose __init__ holds only the socket constants, so each
# module can be imported on its own.
BREAKDOWN_SCRIPT = """\
import gc
import sys
gc.collect()
last = gc.mem_alloc()
import wip
gc.collect()
out = ["__init__(constants only) %%d" %% (gc.mem_alloc() - last)]
for name in %(names)r:
    last = gc.mem_alloc()
    __import__("wip." + name)
    gc.collect()
    out.append("%%s %%d" %% (name, gc.mem_alloc() - last))
print("BREAKDOWN", ", ".join(out))
"""

GOODPUT_SCRIPT = """\
import time
import wip
m = wip.Modem(wip.tcp_stream("127.0.0.1", %(sim)d), timeout=10, guard_time=%(guard)r,
              rx_size=2048, tx_size=2048)
m.start()
m.gprs("internet")
buf = bytearray(2048)
s = m.socket()
s.settimeout(30)
s.connect(("127.0.0.1", %(down)d))
got = s.recv_into(buf)
t0 = time.ticks_ms()
first = got
while got < %(size)d:
    k = s.recv_into(buf)
    if not k:
        break
    got += k
dt = time.ticks_diff(time.ticks_ms(), t0)
s.close()
print("DOWN", got, got - first, dt)
u = m.socket()
u.settimeout(30)
u.connect(("127.0.0.1", %(up)d))
chunk = bytearray(4096)
for i in range(4096):
    chunk[i] = (i * 131 + 7) & 0xFF
t0 = time.ticks_ms()
sent = 0
while sent < %(size)d:
    u.sendall(chunk)
    sent += len(chunk)
ack = u.read(2)
dt = time.ticks_diff(time.ticks_ms(), t0)
u.close()
print("UP", sent, dt, ack)
"""


def compile_core(ctx, out, init_source=None):
    """mpy-cross every CORE module into out/wip; init_source replaces __init__.py's text."""
    pkg = out / "wip"
    pkg.mkdir(parents=True)
    mpy_cross = Path(ctx.micropython_bin).parent / "mpy-cross"
    src = ctx.root / "mpy" / "wip"
    for name in CORE:
        path = src / (name + ".py")
        if name == "__init__" and init_source is not None:
            path = out / "__init__.py"
            path.write_text(init_source)
        subprocess.run([str(mpy_cross), "-march=x64", "-o", str(pkg / (name + ".mpy")),
                        str(path)], check=True, cwd=src)


def constants_only_init(ctx):
    """wip/__init__.py reduced to its `NAME = <int>` lines."""
    text = (ctx.root / "mpy" / "wip" / "__init__.py").read_text()
    return "".join(line + "\n" for line in text.splitlines()
                   if re.fullmatch(r"[A-Z_]+ = \d+", line))


def sender(size):
    """A listener that sends `size` random bytes to the first client, then closes."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(60)
    data = os.urandom(size)

    def serve():
        conn, _ = srv.accept()
        conn.sendall(data)
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def sink(size, result):
    """A listener that reads `size` bytes, hashes them, then answers b"ok"."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(60)

    def serve():
        conn, _ = srv.accept()
        result["t0"] = time.monotonic()
        conn.settimeout(60)
        h = hashlib.sha256()
        n = 0
        while n < size:
            chunk = conn.recv(65536)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        result["n"] = n
        result["t"] = time.monotonic()
        conn.sendall(b"ok")
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def run(ctx):
    out = ctx.tmpdir / "driver_mpy"
    compile_core(ctx, out)
    env = {"MICROPYPATH": str(out)}
    sim = ctx.start_sim()
    echo = ctx.echo_servers()
    text = ctx.micropython(HEAP_SCRIPT % {"sim": sim.port, "guard": 0.05,
                                          "echo": echo.tcp_port}, env=env)
    heap, code, state = (int(x) for x in text.split("HEAP")[1].split()[:3])
    ctx.figure("driver heap (import + 1 TCP socket, .mpy)", heap, "bytes",
               target=f"<= {HEAP_TARGET}", met=heap <= HEAP_TARGET)
    ctx.figure("  of which code loaded from .mpy (flash if frozen)", code, "bytes")
    ctx.figure("  of which state (buffers, modem, socket)", state, "bytes")
    print("  wip modules loaded then:", text.split("LOADED")[1].split("\n")[0].strip(),
          flush=True)
    # Interned names live in qstr pools that grow by doubling: crossing a pool's end costs a
    # new pool at once (about 3.5 KB on x64 around 300 names), so this is worth watching.
    print("  interned names (qstr pools):", text.split("qstr pool:")[1].strip(), flush=True)
    parts = ctx.tmpdir / "driver_mpy_parts"
    compile_core(ctx, parts, constants_only_init(ctx))
    text = ctx.micropython(BREAKDOWN_SCRIPT % {"names": BREAKDOWN},
                           env={"MICROPYPATH": str(parts)})
    print("  RAM per module while loaded (bytes):", text.split("BREAKDOWN")[1].strip(),
          flush=True)

    paced = ctx.start_sim("--baud", str(BAUD))
    result = {}
    down_port = sender(SIZE)
    up_port = sink(SIZE, result)
    started = time.monotonic()
    text = ctx.micropython(GOODPUT_SCRIPT % {"sim": paced.port, "guard": 0.05, "size": SIZE,
                                             "down": down_port, "up": up_port}, env=env,
                           timeout=120)
    fields = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line}
    got, timed, ms = (int(x) for x in fields["DOWN"])
    down = timed / (ms / 1000) if ms else 0.0
    pct = 100.0 * down / LINE_RATE
    ctx.figure("TCP download goodput @921600 baud", pct, "% of line rate",
               target=">= 90", met=pct >= 90 and got == SIZE)
    sent, ms = int(fields["UP"][0]), int(fields["UP"][1])
    up = sent / (ms / 1000) if ms else 0.0
    ctx.figure("TCP upload goodput (simulator input not paced)", 100.0 * up / LINE_RATE,
               "% of line rate", target=">= 90", met=result.get("n") == SIZE and up >= LINE_RATE)
    ctx.figure("TCP download rate", down / 1000, "kB/s")
    ctx.figure("goodput run (512 KB each way)", time.monotonic() - started, "s")
