"""Flash and RAM cost of each installable part (the README's "Cost per part" table).

* flash: the size of each part's .mpy files from `make mpy`, per arch (xtensawin = ESP32,
  armv6m = RP2040);
* RAM: heap bytes still allocated after importing the part on the unix port, from the x64
  .mpy files (after gc.collect(); optional parts measured on top of the core). The unix port
  is 64-bit, so a 32-bit board needs roughly half to two thirds of these figures.

    python tools/bench_packaging.py          # or through tools/bench.py: run(ctx)
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import build_mpy  # noqa: E402

FLASH_ARCHES = ("xtensawin", "armv6m")
HEAP_PROBE = """
import gc
gc.collect()
import {pre}
gc.collect()
before = gc.mem_alloc()
import {module}
gc.collect()
print("HEAP", gc.mem_alloc() - before)
"""


def micropython_binary():
    return shutil.which("micropython", path=f"{Path(sys.executable).parent}{os.pathsep}"
                        f"{os.environ.get('PATH', '')}")


def part_modules(pkg):
    """Dotted module names of a package's files (wip/http.py -> wip.http)."""
    return [target[:-3].replace("/", ".").removesuffix(".__init__") for _, target in pkg.files]


def heap_after_import(micropython, tree, module, pre="gc"):
    """Bytes allocated by importing `module` (after importing `pre`) from the .mpy `tree`."""
    result = subprocess.run(
        [micropython, "-c", HEAP_PROBE.format(pre=pre, module=module)],
        env={**os.environ, "MICROPYPATH": str(tree)}, capture_output=True, text=True,
        timeout=30,
    )
    for line in result.stdout.splitlines():
        if line.startswith("HEAP "):
            return int(line.split()[1])
    raise RuntimeError(f"import {module} failed:\n{result.stdout}{result.stderr}")


def measure(out_dir, micropython=None):
    """{part: {"modules": [...], "flash": {arch: bytes}, "heap": bytes}} for written parts."""
    packages = build_mpy.written_packages(build_mpy.all_packages(), log=lambda *a: None)
    for arch in ("x64", *FLASH_ARCHES):
        build_mpy.build(arch, packages, out_dir)
    micropython = micropython or micropython_binary()
    results = {}
    for name, pkg in packages.items():
        flash = {}
        for arch in FLASH_ARCHES:
            flash[arch] = sum((Path(out_dir) / arch / (target[:-3] + ".mpy")).stat().st_size
                              for _, target in pkg.files)
        modules = part_modules(pkg)
        pre = "gc" if name == "wip" else "wip"
        # The part's first module imports the rest (the core's is the package itself).
        heap = heap_after_import(micropython, Path(out_dir) / "x64", modules[0], pre) \
            if micropython else None
        results[name] = {"modules": modules, "flash": flash, "heap": heap}
    return results


def table(results):
    """The measurements as a Markdown table."""
    lines = ["| part | modules | .mpy ESP32 (xtensawin) | .mpy RP2040 (armv6m) "
             "| heap after import (unix x64) |", "|---|---|---|---|---|"]
    for name, r in results.items():
        heap = "-" if r["heap"] is None else f"{r['heap']:,} B"
        public = [m for m in r["modules"] if not m.rsplit(".", 1)[-1].startswith("_")]
        private = len(r["modules"]) - len(public)
        modules = ", ".join(public) + (f" + {private} private" if private else "")
        lines.append(f"| `{name}` | {modules} | {r['flash']['xtensawin']:,} B "
                     f"| {r['flash']['armv6m']:,} B | {heap} |")
    return "\n".join(lines)


def run(ctx=None):
    """Entry point for tools/bench.py (figures through ctx.figure); prints the README table
    and returns the measurements."""
    with tempfile.TemporaryDirectory(prefix="wip-bench-pkg-") as out_dir:
        results = measure(out_dir, getattr(ctx, "micropython_bin", None))
    if ctx is not None:
        for name, r in results.items():
            for arch in FLASH_ARCHES:
                ctx.figure(f"{name} .mpy size {arch}", r["flash"][arch], "B")
            if r["heap"] is not None:
                ctx.figure(f"{name} heap after import (x64)", r["heap"], "B")
    print(table(results))
    return results


if __name__ == "__main__":
    run()
