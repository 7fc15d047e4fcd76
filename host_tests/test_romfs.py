"""The driver deployed as a ROMFS image (tools/deploy.py --romfs) runs from it, in place.

The unix port mounts the image the way a board mounts its ROMFS partition (vfs.VfsRom at
/rom); nothing of the source tree is on the path, so every wip module, the viper codec's
native code included, comes from the image. The app then talks to the simulator: a TCP
round trip of payload full of the bytes the codec escapes.
"""

import subprocess

from host_tests.mpy_needs.echo import EchoServers
from tools import build_mpy, deploy

SCRIPT = """\
import sys, vfs
f = open(%(image)r, "rb")
vfs.mount(vfs.VfsRom(f.read()), "/rom")
f.close()
sys.path.insert(0, "/rom")
import wip
print("FROM", wip.__file__, wip.modem.__file__, wip.modem.codec.IMPL)
m = wip.Modem(wip.tcp_stream("127.0.0.1", %(sim)d), timeout=5, guard_time=0.05)
m.start()
print("IP", m.gprs("internet"))
payload = bytes(range(256)) * 8 + b"+++AT\\x10\\x03Tt" * 64
with m.socket() as s:
    s.settimeout(10)
    s.connect(("127.0.0.1", %(echo)d))
    s.sendall(payload)
    print("ECHO", s.read(len(payload)) == payload)
print("LOADED", " ".join(sorted(k for k in sys.modules if k.startswith("wip."))))
"""


def test_driver_runs_in_place_from_a_romfs_image(tmp_path, sim, micropython_bin):
    out = tmp_path / "mpy"
    files = build_mpy.build("x64", {"wip": build_mpy.all_packages()["wip"]}, out)
    image = deploy.romfs_image(files, out / "x64", tmp_path / "wip.romfs")
    echo = EchoServers()
    try:
        result = subprocess.run(
            [micropython_bin, "-c", SCRIPT % {"image": str(image), "sim": sim.port,
                                              "echo": echo.tcp_port}],
            cwd=tmp_path, env={"MICROPYPATH": ".frozen", "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=120)
    finally:
        echo.close()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["FROM"].split() == ["/rom/wip/__init__.mpy", "/rom/wip/modem.mpy", "viper"]
    assert lines["IP"].count(".") == 3
    assert lines["ECHO"] == "True"
    assert "wip._codec_viper" in lines["LOADED"].split()
