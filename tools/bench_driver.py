"""Driver figures on the MicroPython unix port: heap cost and TCP goodput (run by tools/bench.py).

* Heap: the core driver (the `wip` package of mpy/packages/wip, compiled by mpy-cross), then
  `gc.mem_alloc()` growth across `import wip` + Modem + start + gprs + one connected TCP
  socket (target <= 16 KB). The transport is not the driver's: on a board it is the app's
  machine.UART, here `wip.tcp_stream()` (the wip.streams module and a socket, which a board
  never loads); its cost is measured in the same run, printed on its own line and left out
  of the figure. Measured side by side, on the installed x64 unix port and, when
  `make micropython-x86` has built it, on a 32-bit (x86) unix port, whose pointers, objects
  and interned-name entries have the size they have on ESP32 and RP2040:
  - `.mpy in RAM`: the .mpy files on a filesystem, as `mip install` or `mpremote cp` leave
    them: importing copies their bytecode and strings into the heap;
  - `.mpy in ROMFS`: the same files in a ROMFS image (`mpremote romfs`, MicroPython >= 1.25,
    a firmware with a ROMFS partition): bytecode and strings run in place from flash. The
    image is read into a bytes object before the measurement starts (it stands for flash).
  Also printed for x64 in RAM: the wip modules loaded at that point, the qstr pool
  statistics, and a per-module breakdown (RAM each module costs while loaded, imported one
  by one; the one-shot modules are dropped again after each use).
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
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import build_mpy  # noqa: E402

ROOT = build_mpy.ROOT
# Breakdown order: dependencies first (a module's figure excludes what it imports).
BREAKDOWN = ("errors", "_codec_viper", "codec", "parser", "modem", "socket", "streams",
             "_setup", "_control", "_sockops", "_sockio", "_udp", "_debug", "filexfer")
BAUD = 921600
LINE_RATE = BAUD // 10
SIZE = 512 * 1024
HEAP_TARGET = 16 * 1024
# The 32-bit unix port `make micropython-x86` builds (or WIP_MICROPYTHON_X86).
X86_BINARY = ROOT / "build" / "micropython-x86" / "micropython"

ROMFS_MOUNT = """\
import sys, vfs
f = open(%r, "rb")
flash = f.read()  # stands for the board's flash: allocated before the measurement starts
f.close()
vfs.mount(vfs.VfsRom(flash), "/rom")
sys.path.insert(0, "/rom")
"""

HEAP_SCRIPT = """\
%(mount)s
import gc
gc.collect()
before = gc.mem_alloc()
import wip
gc.collect()
code = gc.mem_alloc()
uart = wip.tcp_stream("127.0.0.1", %(sim)d)
gc.collect()
transport = gc.mem_alloc() - code
m = wip.Modem(uart, timeout=5, guard_time=%(guard)r)
m.start()
m.gprs("internet")
s = m.socket()
s.connect(("127.0.0.1", %(echo)d))
gc.collect()
after = gc.mem_alloc() - transport
s.sendall(b"ping")
assert s.read(4) == b"ping"
print("HEAP", after - before, code - before, after - code, transport, wip.modem.codec.IMPL)
print("FILE", wip.__file__)
import sys
print("LOADED", " ".join(sorted(k[4:] for k in sys.modules if k.startswith("wip."))))
import micropython
micropython.qstr_info()
"""

# Runs against a build whose __init__ holds only the socket constants, so each module can be
# imported on its own.
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


def compile_wip(arch, out, init_source=None):
    """mpy-cross the `wip` package for arch into out/<arch>/wip; return out/<arch>.

    init_source replaces __init__.py's text."""
    build_mpy.build(arch, {"wip": build_mpy.all_packages()["wip"]}, out)
    if init_source is not None:
        src = Path(out) / "__init__.py"
        src.write_text(init_source)
        subprocess.run([build_mpy.mpy_cross_binary(), f"-march={arch}", "-o",
                        str(Path(out) / arch / "wip" / "__init__.mpy"), str(src)], check=True)
    return Path(out) / arch


def constants_only_init():
    """wip/__init__.py reduced to its `NAME = <int>` lines."""
    text = (ROOT / "mpy" / "wip" / "__init__.py").read_text()
    return "".join(line + "\n" for line in text.splitlines()
                   if re.fullmatch(r"[A-Z_]+ = \d+", line))


def heap_builds(ctx):
    """(arch, binary) of the unix ports to measure on: x64 always, x86 once built."""
    builds = [("x64", ctx.micropython_bin)]
    x86 = Path(os.environ.get("WIP_MICROPYTHON_X86") or X86_BINARY)
    if x86.is_file():
        builds.append(("x86", x86))
    else:
        print(f"  (32-bit x86 figures skipped: no {x86}; `make micropython-x86` builds it)",
              flush=True)
    return builds


def measure_heap(ctx, arch, binary, romfs, echo_port):
    """Run HEAP_SCRIPT on one build, the .mpy files in RAM or in ROMFS; return its output."""
    lib = compile_wip(arch, ctx.tmpdir / f"heap_{arch}")
    mount = ""
    env = {"MICROPYPATH": str(lib)}
    if romfs:
        image = build_mpy.build_romfs(lib, ctx.tmpdir / f"wip_{arch}.romfs")
        mount = ROMFS_MOUNT % str(image)
        env = {"MICROPYPATH": ".frozen"}
    sim = ctx.start_sim()  # a fresh module each run
    text = ctx.micropython(HEAP_SCRIPT % {"mount": mount, "sim": sim.port, "guard": 0.05,
                                          "echo": echo_port}, env=env, binary=binary)
    where = text.split("FILE")[1].split()[0]
    if where.startswith("/rom/") != romfs:
        raise RuntimeError(f"wip came from {where}, not from the {'ROMFS' if romfs else 'RAM'}"
                           " build")
    return text


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
    echo = ctx.echo_servers()
    for arch, binary in heap_builds(ctx):
        bits = "x64" if arch == "x64" else "x86 32-bit"
        for romfs in (False, True):
            text = measure_heap(ctx, arch, binary, romfs, echo.tcp_port)
            heap, code, state, transport = (int(x) for x in text.split("HEAP")[1].split()[:4])
            where = "ROMFS (in place)" if romfs else "RAM"
            ctx.figure(f"driver heap {bits}, .mpy in {where}", heap, "bytes",
                       target=f"<= {HEAP_TARGET}", met=heap <= HEAP_TARGET)
            ctx.figure("  of which after `import wip` (code, names)", code, "bytes")
            ctx.figure("  of which state (buffers, modem, socket)", state, "bytes")
            ctx.figure("  not counted: the transport (tcp_stream)", transport, "bytes")
            if arch != "x64" or romfs:
                continue
            print("  wip modules loaded then:",
                  text.split("LOADED")[1].split("\n")[0].strip(), flush=True)
            # Interned names live in qstr pools that grow by doubling: crossing a pool's end
            # costs a new pool at once (160 entries, about 1.8 KB on x64, at 141 names; 320
            # entries at 301), so this is worth watching.
            print("  interned names (qstr pools):", text.split("qstr pool:")[1].strip(),
                  flush=True)
    parts = compile_wip("x64", ctx.tmpdir / "driver_mpy_parts", constants_only_init())
    text = ctx.micropython(BREAKDOWN_SCRIPT % {"names": BREAKDOWN},
                           env={"MICROPYPATH": str(parts)})
    print("  RAM per module while loaded (x64, .mpy in RAM, bytes):",
          text.split("BREAKDOWN")[1].strip(), flush=True)

    env = {"MICROPYPATH": str(compile_wip("x64", ctx.tmpdir / "driver_mpy"))}
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
