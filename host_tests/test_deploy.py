"""tools/deploy.py --dry-run: the mpremote commands name the board's arch and files.

CI has no board, so these check the plan deploy would execute, command by command.
"""

import hashlib
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tools import build_mpy, deploy

ROOT = Path(__file__).resolve().parent.parent
BOARD_ARCH = {"esp32": "xtensawin", "rp2040": "armv6m"}


def dry_run(tmp_path, *args):
    result = subprocess.run(
        [sys.executable, "tools/deploy.py", "--dry-run", "--out", str(tmp_path), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [shlex.split(line) for line in result.stdout.splitlines()]


def copies(commands):
    """{destination on the board: local source} of every `fs cp`."""
    return {cmd[-1]: cmd[-2] for cmd in commands if cmd[3:5] == ["fs", "cp"]}


@pytest.mark.parametrize("board", sorted(BOARD_ARCH))
def test_dry_run_copies_the_boards_arch_build_config_and_app(tmp_path, board):
    port = "/dev/ttyUSB0" if board == "esp32" else "/dev/ttyACM0"
    commands = dry_run(tmp_path, "--board", board, "--port", port)
    assert all(cmd[:3] == ["mpremote", "connect", port] for cmd in commands)
    cp = copies(commands)
    arch = BOARD_ARCH[board]
    packages = build_mpy.all_packages()
    expected_modules = {target for name in ("wip", "wip-shim", "wip-supervisor")
                        for _, target in packages[name].files}
    mpy_dests = {dest for dest in cp if dest.endswith(".mpy")}
    assert mpy_dests == {":lib/" + t[:-3] + ".mpy" for t in expected_modules}
    for dest in mpy_dests:
        src = Path(cp[dest])
        assert src.parts[-3] == arch, f"{dest} comes from {src}, not the {arch} build"
        header = src.read_bytes()[:4]
        assert header[:2] == b"M\x06", f"{src} is not a v6 .mpy file"
    assert cp[":board.py"] == f"boards/{board}/board.py"
    assert cp[":main.py"] == f"boards/{board}/main.py"
    assert cp[":lib/sensor_app.py"] == "boards/common/sensor_app.py"
    for src in cp.values():
        assert (ROOT / src).is_file() or Path(src).is_file(), src
    # Directories before the files that go in them; the reset comes last.
    first_cp = next(i for i, cmd in enumerate(commands) if cmd[3:5] == ["fs", "cp"])
    mkdirs = [cmd[-1] for cmd in commands[:first_cp] if cmd[3:5] == ["fs", "mkdir"]]
    assert mkdirs == [":lib", ":lib/wip"]
    assert commands[-1][3:] == ["reset"]
    mip = [cmd for cmd in commands if cmd[3] == "mip"]
    assert mip == [["mpremote", "connect", port, "mip", "install", "umqtt.simple", "requests"]]


ROMFS_LISTING = """\
import vfs, os, hashlib, binascii
f = open(%r, "rb")
vfs.mount(vfs.VfsRom(f.read()), "/rom")
f.close()
for name in sorted(os.listdir("/rom/wip")):
    with open("/rom/wip/" + name, "rb") as g:
        print(name, binascii.hexlify(hashlib.sha256(g.read()).digest()).decode())
"""


@pytest.mark.parametrize("board", sorted(BOARD_ARCH))
def test_romfs_deploy_writes_an_image_of_the_boards_build(tmp_path, board, micropython_bin):
    """--romfs: no .mpy is copied one by one; `romfs deploy` writes an image that, mounted
    the way the board mounts it, holds wip/ with exactly the .mpy files of the board's arch
    build, after a stale :lib/wip (which would shadow /rom in sys.path) is removed."""
    port = "/dev/ttyUSB0" if board == "esp32" else "/dev/ttyACM0"
    commands = dry_run(tmp_path, "--board", board, "--port", port, "--romfs")
    cp = copies(commands)
    assert not [dest for dest in cp if dest.endswith(".mpy")]
    assert cp[":lib/sensor_app.py"] == "boards/common/sensor_app.py"
    rm = commands.index(["mpremote", "connect", port, "fs", "rm", "-r", ":lib/wip"])
    deploys = [i for i, cmd in enumerate(commands) if cmd[3:5] == ["romfs", "deploy"]]
    assert len(deploys) == 1 and rm < deploys[0]
    image = Path(commands[deploys[0]][-1])
    image = image if image.is_absolute() else ROOT / image
    listing = subprocess.run([micropython_bin, "-c", ROMFS_LISTING % str(image)],
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    in_image = dict(line.split() for line in listing.stdout.splitlines())
    build_dir = tmp_path / BOARD_ARCH[board] / "wip"
    packages = build_mpy.all_packages()
    expected = {Path(t).with_suffix(".mpy").name for name in deploy.DEFAULT_PARTS
                for _, t in packages[name].files}
    assert sorted(in_image) == sorted(expected)
    for name, digest in in_image.items():
        assert hashlib.sha256((build_dir / name).read_bytes()).hexdigest() == digest, name


def test_native_code_is_built_for_the_boards_arch(tmp_path):
    """The viper codec's .mpy carries the board's native arch in its header."""
    arch_codes = {"x64": 2, "armv6m": 4, "armv7emsp": 7, "xtensawin": 10}
    for board, arch in BOARD_ARCH.items():
        commands = dry_run(tmp_path / board, "--board", board, "--port", "/dev/x")
        viper = Path(copies(commands)[":lib/wip/_codec_viper.mpy"])
        assert viper.read_bytes()[2] >> 2 == arch_codes[arch]


def test_extra_parts_and_no_mip(tmp_path):
    commands = dry_run(tmp_path, "--board", "rp2040", "--port", "/dev/ttyACM0",
                       "--parts", "wip-shim,wip-supervisor", "--no-mip")
    cp = copies(commands)
    assert ":lib/wip/supervisor.mpy" in cp
    assert ":lib/wip/__init__.mpy" in cp  # the core comes with any part
    assert not any(cmd[3] == "mip" for cmd in commands)


def test_unknown_board_and_part_are_refused(tmp_path):
    for args in (["--board", "nosuch"], ["--board", "esp32", "--parts", "wip-nosuch"]):
        result = subprocess.run(
            [sys.executable, "tools/deploy.py", "--dry-run", "--port", "/dev/x",
             "--out", str(tmp_path), *args],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode != 0
        assert "unknown" in result.stderr


def test_deployable_boards_are_the_hardware_boards():
    assert deploy.deployable_boards() == sorted(BOARD_ARCH)


FAKE_MPREMOTE = """#!/bin/sh
echo "$@" >> "{log}"
case "$*" in
  *"fs mkdir"*) echo "mkdir: File exists" >&2; exit 1 ;;
  *"fs rm"*) echo "rm: No such file" >&2; exit 1 ;;
  *"{fail_on}"*) exit 2 ;;
esac
exit 0
"""


def fake_mpremote(tmp_path, fail_on="no-such-command"):
    log = tmp_path / "mpremote.log"
    tool = tmp_path / "mpremote"
    tool.write_text(FAKE_MPREMOTE.format(log=log, fail_on=fail_on))
    tool.chmod(0o755)
    return tool, log


def test_deploy_runs_the_plan_and_tolerates_existing_folders(tmp_path):
    tool, log = fake_mpremote(tmp_path)
    result = subprocess.run(
        [sys.executable, "tools/deploy.py", "--board", "esp32", "--port", "/dev/ttyUSB0",
         "--out", str(tmp_path / "build"), "--mpremote", str(tool)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ran = log.read_text().splitlines()
    planned = [shlex.join(cmd[1:]) for cmd in
               (shlex.split(line) for line in result.stdout.splitlines())]
    assert ran == planned  # every command, in order, although both mkdirs "failed"
    assert ran[-1] == "connect /dev/ttyUSB0 reset"


def test_romfs_deploy_runs_with_no_old_driver_to_remove(tmp_path):
    tool, log = fake_mpremote(tmp_path)
    result = subprocess.run(
        [sys.executable, "tools/deploy.py", "--board", "rp2040", "--port", "/dev/ttyACM0",
         "--out", str(tmp_path / "build"), "--mpremote", str(tool), "--romfs"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ran = log.read_text().splitlines()
    assert "connect /dev/ttyACM0 fs rm -r :lib/wip" in ran  # "failed": nothing to remove
    assert f"connect /dev/ttyACM0 romfs deploy {tmp_path}/build/rp2040.romfs" in ran
    assert ran[-1] == "connect /dev/ttyACM0 reset"


def test_deploy_stops_at_the_first_failing_copy(tmp_path):
    tool, log = fake_mpremote(tmp_path, fail_on=":board.py")
    result = subprocess.run(
        [sys.executable, "tools/deploy.py", "--board", "rp2040", "--port", "/dev/ttyACM0",
         "--out", str(tmp_path / "build"), "--mpremote", str(tool)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "deploy: failed (2)" in result.stderr
    ran = log.read_text().splitlines()
    assert ran[-1].endswith(":board.py")
    assert not any("reset" in line or ":main.py" in line for line in ran)
