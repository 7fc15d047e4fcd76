"""Put the driver, a board's config and the sensor app on a board with mpremote.

    python tools/deploy.py --board esp32 --port /dev/ttyUSB0
    python tools/deploy.py --board rp2040 --port /dev/ttyACM0 --parts wip,wip-shim,wip-http
    python tools/deploy.py --board esp32 --port /dev/ttyUSB0 --dry-run   # print, run nothing

Builds the .mpy files for the board's arch (tools/build_mpy.py) and copies:
  build/mpy/<arch>/wip/*.mpy  -> :lib/wip/        (the chosen parts, default wip + wip-shim)
  boards/<board>/board.py     -> :board.py
  boards/common/sensor_app.py -> :lib/sensor_app.py
  boards/<board>/main.py      -> :main.py
then installs umqtt.simple (and requests) from micropython-lib with `mpremote mip install`
(--no-mip to skip, e.g. when they are frozen into the firmware) and resets the board.
"""

import argparse
import importlib.util
import shlex
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
         mpremote="mpremote"):
    """Build the board's .mpy files; return the mpremote commands (argv lists) to run."""
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


def display_path(path):
    """Repo-relative when inside the repo (commands run with the repo root as cwd)."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def is_mkdir(cmd):
    return cmd[3:5] == ["fs", "mkdir"]


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
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    commands = plan(args.board, args.port, parts, args.out, not args.no_mip, args.mpremote)
    for cmd in commands:
        print(shlex.join(cmd), flush=True)
        if args.dry_run:
            continue
        result = subprocess.run(cmd, cwd=ROOT)
        # mkdir of a folder that already exists fails; that is fine for a redeploy.
        if result.returncode != 0 and not is_mkdir(cmd):
            print(f"deploy: failed ({result.returncode}): {shlex.join(cmd)}", file=sys.stderr)
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
