"""Benchmark runner (`make bench`): runs every tools/bench_*.py module and prints its figures.

Usage: python tools/bench.py [--json PATH | --no-json] [NAME ...]
NAME selects modules by their suffix (`codec` runs tools/bench_codec.py); default: all, in
name order. Each module defines `run(ctx)` and reports through `ctx.figure(...)`; every
figure is printed as one aligned line `name: value unit (target ...)` and, at the end, all of
them are written as JSON to build/bench.json (for the README). A module that raises is
reported and makes the exit status 1; the other modules still run.

What `ctx` (BenchContext) offers:
- `ctx.figure(name, value, unit, target=None, met=None)`: record and print one figure;
  `target` is free text such as ">= 10x"; `met` (True/False) marks it as reached or missed.
- `ctx.micropython(script_text, env=None, heapsize=None, timeout=300) -> stdout`: run a
  script on the unix port (MICROPYPATH = <ROOT>/mpy:<ROOT>/host_tests/mpy:.frozen, cwd a
  temp dir); raises RuntimeError with the output on a non-zero exit.
- `ctx.micropython_bin`, `ctx.root`, `ctx.tmpdir`.
- `ctx.start_sim(*cli_args, guard_time=0.05, port_offset=None)`: a simulator started through
  its CLI (tools.wipsim.process.SimProcess: .port, .control_port, .control(line), .real_port(p));
  `ctx.echo_servers()`: loopback TCP/UDP echo servers (.tcp_port, .udp_port, .env()).
  Both are stopped when the module's run(ctx) returns.
"""

import argparse
import importlib.util
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
HOST_TESTS = ROOT / "host_tests"
DEFAULT_JSON = ROOT / "build" / "bench.json"
NAME_WIDTH = 50  # longer names push their line out of alignment


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_micropython():
    """The unix-port binary next to this Python (the venv) or on PATH."""
    here = str(Path(sys.executable).parent)
    return shutil.which("micropython", path=here + os.pathsep + os.environ.get("PATH", ""))


def format_value(value):
    if isinstance(value, int):
        return str(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


class BenchContext:
    """What a bench module's run(ctx) uses to start things and report figures."""

    def __init__(self, tmpdir, micropython_bin):
        self.root = ROOT
        self.tmpdir = Path(tmpdir)
        self.micropython_bin = micropython_bin
        self.figures = []
        self.module = None
        self._cleanups = []
        self._scripts = 0

    def figure(self, name, value, unit, target=None, met=None):
        """Record one figure and print it as an aligned line."""
        entry = {"module": self.module, "name": name, "value": value, "unit": unit,
                 "target": target, "met": met}
        self.figures.append(entry)
        line = f"{name + ':':<{NAME_WIDTH}} {format_value(value):>10} {unit}"
        if target:
            line += f" (target {target})"
        if met is False:
            line += "  MISSED"
        print(line, flush=True)

    def micropython(self, script_text, env=None, heapsize=None, timeout=300, binary=None):
        """Run script_text on the unix port (or another build of it); return its stdout."""
        binary = binary or self.micropython_bin
        if not binary:
            raise RuntimeError("micropython binary not found: run `make install`")
        self._scripts += 1
        workdir = self.tmpdir / f"mpy{self._scripts}"
        workdir.mkdir()
        script = workdir / "bench_script.py"
        script.write_text(script_text)
        full_env = dict(os.environ)
        full_env["MICROPYPATH"] = os.pathsep.join(
            [str(ROOT / "mpy"), str(HOST_TESTS / "mpy"), ".frozen"])
        full_env.update(env or {})
        cmd = [str(binary)]
        if heapsize:
            cmd += ["-X", f"heapsize={heapsize}"]
        proc = subprocess.run([*cmd, str(script)], cwd=workdir, env=full_env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"micropython exited with {proc.returncode}:\n"
                               f"{proc.stdout}{proc.stderr}")
        return proc.stdout

    def start_sim(self, *cli_args, guard_time=0.05, port_offset=None):
        """A simulator via `python -m tools.wipsim`, stopped when the module is done."""
        from tools.wipsim.process import SimProcess
        offset = random.randrange(20000, 40000, 1024) if port_offset is None else port_offset
        log = self.tmpdir / f"wipsim{len(self._cleanups)}.log"
        args = ["--tcp", "127.0.0.1:0", "--control", "127.0.0.1:0", "--guard-time",
                str(guard_time), "--port-offset", str(offset), "--log", str(log), *cli_args]
        sim = SimProcess(args, log)
        sim.port_offset = offset
        self._cleanups.append(sim.stop)
        return sim

    def echo_servers(self):
        """Loopback TCP and UDP echo servers, stopped when the module is done."""
        from host_tests.mpy_needs.echo import EchoServers

        servers = EchoServers()
        self._cleanups.append(servers.close)
        return servers

    def cleanup(self):
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except Exception:
                traceback.print_exc()


def bench_modules(selected):
    paths = sorted(TOOLS.glob("bench_*.py"))
    if selected:
        wanted = set(selected)
        unknown = wanted - {p.stem.removeprefix("bench_") for p in paths}
        if unknown:
            raise SystemExit(f"no such bench module: {', '.join(sorted(unknown))}")
        paths = [p for p in paths if p.stem.removeprefix("bench_") in wanted]
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="bench modules to run (default: all)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument("--no-json", action="store_true", help="do not write JSON")
    args = parser.parse_args(argv)
    for path in (ROOT, ROOT / "mpy"):  # `import tools...` and `import wip` in modules
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    failed = []
    with tempfile.TemporaryDirectory(prefix="wipbench") as tmp:
        ctx = BenchContext(tmp, find_micropython())
        for path in bench_modules(args.names):
            name = path.stem.removeprefix("bench_")
            print(f"== {name}", flush=True)
            ctx.module = name
            started = time.monotonic()
            try:
                _load(path, f"_bench_{name}").run(ctx)
            except Exception:
                failed.append(name)
                print(f"{name}: ERROR", flush=True)
                traceback.print_exc(file=sys.stdout)
            finally:
                ctx.cleanup()
            print(f"   ({name} took {time.monotonic() - started:.1f} s)", flush=True)
    if not args.no_json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "machine": platform.machine(), "python": platform.python_version(),
                  "failed_modules": failed, "figures": ctx.figures}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
