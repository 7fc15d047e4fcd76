"""Put the driver, a board's config and the sensor app on a board with mpremote.

    python tools/deploy.py --board esp32 --port /dev/ttyUSB0
    python tools/deploy.py --board rp2040 --port /dev/ttyACM0 --parts wip,wip-shim,wip-http
    python tools/deploy.py --board esp32 --port /dev/ttyUSB0 --dry-run   # print, run nothing
    python tools/deploy.py --board rp2040 --port /dev/ttyACM0 --romfs     # driver in ROMFS

Builds the .mpy files for the board's arch (tools/build_mpy.py) and copies:
  build/mpy/<arch>/wip/*.mpy  -> :lib/wip/        (the chosen parts, default wip + wip-shim)
  boards/<board>/board.py     -> :board.py
  boards/common/sensor_app.py -> :lib/sensor_app.py
  boards/<board>/main.py      -> :main.py
then installs umqtt.simple (and requests) from micropython-lib with `mpremote mip install`
(--no-mip to skip, e.g. when they are frozen into the firmware) and resets the board.

With --romfs the driver's .mpy files go into a ROMFS image instead (build/mpy/<board>.romfs,
`wip/` at its root), written to the board's ROMFS partition with `mpremote romfs deploy`:
mounted at /rom, they run in place from flash, so their bytecode and strings cost no heap
(README, "Memory"). Needs MicroPython >= 1.25 built with a ROMFS partition (esp32: a custom
partition table; rp2: a board that configures one). A `:lib/wip` left by an earlier deploy is
removed first: /lib comes before /rom in sys.path and would shadow the image.
"""

import argparse
import importlib.util
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools import build_mpy  # noqa: E402

ROOT = build_mpy.ROOT
BOARDS_DIR = ROOT / "boards"
DEFAULT_PARTS = ("wip", "wip-shim", "wip-supervisor")
MIP_PACKAGES = ("umqtt.simple", "requests")


def load_board(name):
    """The board's board.py as a module (it imports `machine` only inside functions)."""
    path = BOARDS_DIR / name / "board.py"
    if not path.is_file():
        boards = sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.py"))
        raise SystemExit(f"unknown board {name!r}; boards: {', '.join(boards)}")
    spec = importlib.util.spec_from_file_location(f"board_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def deployable_boards():
    """Boards with an arch to cross-compile for (the unix board runs from the tree)."""
    return sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.py")
                  if getattr(load_board(p.parent.name), "ARCH", None))


def plan(board_name, port, parts=DEFAULT_PARTS, out_dir=build_mpy.DEFAULT_OUT, mip=True,
         mpremote="mpremote", romfs=False):
    """Build the board's .mpy files (and, with romfs, its ROMFS image); return the mpremote
    commands (argv lists) to run."""
    board = load_board(board_name)
    packages = build_mpy.all_packages()
    unknown = [p for p in parts if p not in packages]
    if unknown:
        raise SystemExit(f"unknown parts {unknown}; parts: {', '.join(packages)}")
    chosen = {name: packages[name] for name in parts}
    if "wip" not in chosen:
        chosen = {"wip": packages["wip"], **chosen}
    for name, pkg in chosen.items():
        if pkg.missing():
            raise SystemExit(f"part {name} is not complete: missing {pkg.missing()}")
    mpy_files = build_mpy.build(board.ARCH, chosen, out_dir)
    arch_dir = Path(out_dir) / board.ARCH
    connect = [mpremote, "connect", port]
    if romfs:
        image = romfs_image(mpy_files, arch_dir, Path(out_dir) / f"{board_name}.romfs")
        commands = [connect + ["fs", "mkdir", ":lib"], connect + ["fs", "rm", "-r", ":lib/wip"],
                    connect + ["romfs", "deploy", display_path(image)]]
    else:
        commands = [connect + ["fs", "mkdir", ":lib"], connect + ["fs", "mkdir", ":lib/wip"]]
        for mpy in mpy_files:
            dest = ":lib/" + mpy.relative_to(arch_dir).as_posix()
            commands.append(connect + ["fs", "cp", display_path(mpy), dest])
    commands.append(connect + ["fs", "cp", f"boards/{board_name}/board.py", ":board.py"])
    for rel in board.FILES:
        dest = ":main.py" if rel.endswith("/main.py") else ":lib/" + Path(rel).name
        commands.append(connect + ["fs", "cp", rel, dest])
    if mip:
        commands.append(connect + ["mip", "install", *MIP_PACKAGES])
    commands.append(connect + ["reset"])
    return commands


def romfs_image(mpy_files, arch_dir, image):
    """A ROMFS image holding mpy_files at their paths under arch_dir (wip/*.mpy)."""
    stage = Path(image).with_suffix(".romfs-files")
    shutil.rmtree(stage, ignore_errors=True)
    for mpy in mpy_files:
        dest = stage / mpy.relative_to(arch_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mpy, dest)
    return build_mpy.build_romfs(stage, image)


def display_path(path):
    """Repo-relative when inside the repo (commands run with the repo root as cwd)."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def may_fail(cmd):
    """mkdir of a folder that exists, rm of one that does not: fine for a (re)deploy."""
    return cmd[3:5] in (["fs", "mkdir"], ["fs", "rm"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", required=True, help="boards/<name>: esp32, rp2040")
    parser.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    parser.add_argument("--parts", default=",".join(DEFAULT_PARTS),
                        help="comma-separated packages from mpy/packages (wip is implied)")
    parser.add_argument("--out", type=Path, default=build_mpy.DEFAULT_OUT)
    parser.add_argument("--no-mip", action="store_true",
                        help="do not install umqtt.simple and requests")
    parser.add_argument("--mpremote", default="mpremote")
    parser.add_argument("--romfs", action="store_true",
                        help="driver as a ROMFS image (runs in place from flash)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    commands = plan(args.board, args.port, parts, args.out, not args.no_mip, args.mpremote,
                    args.romfs)
    for cmd in commands:
        print(shlex.join(cmd), flush=True)
        if args.dry_run:
            continue
        result = subprocess.run(cmd, cwd=ROOT)
        if result.returncode != 0 and not may_fail(cmd):
            print(f"deploy: failed ({result.returncode}): {shlex.join(cmd)}", file=sys.stderr)
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
