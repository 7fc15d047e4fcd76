"""Fixtures for the driver tests on CPython: a started Modem on the simulator, echo peers.

`wmodem`: a wip.Modem on a fresh simulator (50 ms guard time), started, GPRS up, its
stream wrapped in a `RecordingStream` (`wmodem.rec.written` holds every byte sent).
`wmodem_factory(*sim_args, **modem_kwargs)` makes more. `echo`: loopback TCP and UDP echo
servers (`echo.tcp_port`, `echo.udp_port`).
"""

import importlib.util
import socket
import threading
from pathlib import Path

import pytest
import wip


def _reexport_root_conftest():
    """Keep `from conftest import NAME` working for the root conftest's plain names.

    Test modules in this folder resolve `conftest` to this file; the names the root
    conftest defines (GUARD_TIME, ROOT, SimProcess, ...) are re-exported, its fixtures are not.
    """
    path = Path(__file__).resolve().parent.parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("_wip_root_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, value in vars(module).items():
        if not name.startswith(("_", "pytest")) \
                and not hasattr(value, "_pytestfixturefunction") \
                and not hasattr(value, "_fixture_function_marker") and name not in globals():
            globals()[name] = value


_reexport_root_conftest()
GUARD = GUARD_TIME  # noqa: F821 - re-exported from the root conftest


class RecordingStream:
    """A stream adapter that records every byte the driver writes."""

    def __init__(self, inner):
        self.inner = inner
        self.pollable = inner.pollable
        self.written = bytearray()

    def readinto(self, buf):
        return self.inner.readinto(buf)

    def write(self, buf):
        n = self.inner.write(buf)
        if n:
            self.written += bytes(buf[:n])
        return n

    def fileno(self):
        return self.inner.fileno()

    def close(self):
        self.inner.close()


class Echo:
    """TCP (a thread per connection) and UDP echo servers on 127.0.0.1."""

    def __init__(self):
        self.stop_event = threading.Event()
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept, daemon=True),
                        threading.Thread(target=self._udp, daemon=True)]
        for t in self.threads:
            t.start()

    def _accept(self):
        while not self.stop_event.is_set():
            try:
                conn, _ = self.tcp.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn):
        conn.settimeout(0.2)
        with conn:
            while not self.stop_event.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    def _udp(self):
        while not self.stop_event.is_set():
            try:
                data, addr = self.udp.recvfrom(65536)
            except (TimeoutError, OSError):
                continue
            self.udp.sendto(data, addr)

    def close(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(2)
        self.tcp.close()
        self.udp.close()


@pytest.fixture
def echo():
    servers = Echo()
    yield servers
    servers.close()


@pytest.fixture
def wmodem_factory(sim_factory):
    made = []

    def make(*sim_args, start=True, gprs=True, **kwargs):
        sim = sim_factory(*sim_args)
        rec = RecordingStream(wip.tcp_stream("127.0.0.1", sim.port))
        kwargs.setdefault("timeout", 5)
        kwargs.setdefault("guard_time", GUARD)
        m = wip.Modem(rec, **kwargs)
        m.rec = rec
        m.sim = sim
        made.append(rec)
        if start:
            m.start()
        if gprs:
            m.gprs("internet")
        return m

    yield make
    for rec in made:
        rec.close()


@pytest.fixture
def wmodem(wmodem_factory):
    return wmodem_factory()
