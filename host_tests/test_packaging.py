"""Packaging: manifests, mip package.json files and `make mpy` agree with the source tree.

* every module in mpy/wip/ belongs to exactly one package, and every listed module exists;
* each package.json is what its manifest.py gives (tools/build_mpy.py --package-json);
* `make mpy` compiles every module for every arch;
* the x64 .mpy tree alone (no .py on MICROPYPATH) imports in the unix port and does a TCP
  round trip through the simulator;
* the unix port's own `mip` installs a part and its dependency from a loopback web server.
"""

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import pytest

from tools import build_mpy

ROOT = Path(__file__).resolve().parent.parent
WIP_DIR = ROOT / "mpy" / "wip"
PACKAGES = build_mpy.all_packages()


def module_files():
    return sorted(p.name for p in WIP_DIR.glob("*.py"))


def test_every_module_is_in_exactly_one_package():
    owners = {}
    for name, pkg in PACKAGES.items():
        for _, target in pkg.files:
            owners.setdefault(target, []).append(name)
    for module in module_files():
        assert len(owners.get(f"wip/{module}", [])) == 1, (
            f"mpy/wip/{module} is in packages {owners.get(f'wip/{module}', [])}")
    assert all(len(names) == 1 for names in owners.values()), owners


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_listed_modules_exist(name):
    pkg = PACKAGES[name]
    missing = pkg.missing()
    if missing and len(missing) == len(pkg.files):
        pytest.skip(f"{name} not written yet: {missing}")
    assert not missing, f"{name} lists modules that do not exist: {missing}"


def test_optional_parts_require_the_core():
    assert PACKAGES["wip"].requires == []
    assert all(pkg.requires == ["wip"] for name, pkg in PACKAGES.items() if name != "wip")
    for name, pkg in PACKAGES.items():
        assert all(target.startswith("wip/") for _, target in pkg.files), name


def test_package_json_files_match_their_manifests():
    assert build_mpy.stale_package_jsons(PACKAGES) == []
    for pkg in PACKAGES.values():
        data = json.loads((pkg.folder / "package.json").read_text())
        assert data["version"] == pkg.metadata["version"]
        for target, url in data["urls"]:
            assert not url.startswith(("http:", "https:", "github:")), url  # relative: forks
            assert (pkg.folder / url).resolve() == (ROOT / "mpy" / target).resolve()
        for dep_url, _ in data["deps"]:
            dep = dep_url.rsplit("/", 2)[-2]
            assert dep in PACKAGES and dep_url.endswith(f"mpy/packages/{dep}/package.json")


def test_make_mpy_builds_every_module_for_every_arch(tmp_path):
    ready = build_mpy.written_packages(PACKAGES, log=lambda *a: None)
    result = subprocess.run(
        [sys.executable, "tools/build_mpy.py", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    expected = sorted(t[:-3] + ".mpy" for pkg in ready.values() for _, t in pkg.files)
    assert sorted(build_mpy.ARCHES) == sorted(p.name for p in tmp_path.iterdir())
    for arch in build_mpy.ARCHES:
        built = sorted(p.relative_to(tmp_path / arch).as_posix()
                       for p in (tmp_path / arch).rglob("*.mpy"))
        assert built == expected, arch
        for mpy in (tmp_path / arch).rglob("*.mpy"):
            assert mpy.read_bytes()[:2] == b"M\x06", mpy
        assert arch in result.stdout


class EchoServer:
    """A loopback TCP echo server on a free port (one thread per connection)."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def close(self):
        self.listener.close()


ROUND_TRIP = """
import wip
print("wip from", wip.__file__)
m = wip.Modem(wip.tcp_stream("127.0.0.1", {sim_port}), timeout=10, guard_time=0.05)
m.start()
m.gprs("internet")
s = m.socket(wip.SOCK_STREAM)
s.settimeout(10)
s.connect(("127.0.0.1", {echo_port}))
s.sendall(b"hello from mpy")
got = b""
while len(got) < 14:
    got += s.recv(64)
s.close()
print("echo", got)
"""


def test_x64_mpy_tree_alone_runs_a_round_trip(tmp_path, sim, micropython_bin):
    ready = build_mpy.written_packages(PACKAGES, log=lambda *a: None)
    build_mpy.build("x64", {"wip": ready["wip"]}, tmp_path)
    tree = tmp_path / "x64"
    assert not list(tree.rglob("*.py"))
    echo = EchoServer()
    try:
        script = ROUND_TRIP.format(sim_port=sim.port, echo_port=echo.port)
        result = subprocess.run([micropython_bin, "-c", script], capture_output=True,
                                text=True, timeout=30, cwd=tmp_path,
                                env={**os.environ, "MICROPYPATH": str(tree)})
    finally:
        echo.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"wip from {tree}/wip/__init__.mpy" in result.stdout
    assert "echo b'hello from mpy'" in result.stdout


class QuietFileHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


MIP_INSTALL = """
import mip
mip.install("http://127.0.0.1:{port}/mpy/packages/wip-shim/package.json", target="{target}")
"""


def test_unix_port_mip_installs_a_part_and_the_core(tmp_path, micropython_bin):
    """mip follows the relative urls and the absolute dep URL (here a loopback server)."""
    site = tmp_path / "site"
    shutil.copytree(WIP_DIR, site / "mpy" / "wip", ignore=shutil.ignore_patterns("*.pyi"))
    shutil.copytree(ROOT / "mpy" / "packages", site / "mpy" / "packages")
    handler = partial(QuietFileHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    local = build_mpy.all_packages(site / "mpy" / "packages")
    build_mpy.write_package_jsons(local, f"http://127.0.0.1:{port}", root=site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = tmp_path / "lib"
    try:
        result = subprocess.run(
            [micropython_bin, "-c", MIP_INSTALL.format(port=port, target=target)],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stdout + result.stderr
    installed = sorted(p.relative_to(target).as_posix() for p in target.rglob("*.py"))
    expected = sorted(t for name in ("wip", "wip-shim") for _, t in PACKAGES[name].files)
    assert installed == expected
    for rel in installed:
        assert (target / rel).read_bytes() == (ROOT / "mpy" / rel).read_bytes()
