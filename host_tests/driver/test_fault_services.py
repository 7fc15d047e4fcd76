"""Faults during +WIPFILE transfers (HTTP and FTP downloads): a bearer loss or a module
reboot mid-body ends the read with an OSError within the session's timeout, the bytes
delivered before it are an intact prefix of the body, and the next session works after
recovery.

A bearer loss ends the download at once (D24 -> D55/D49: ETX, then +CME ERROR: 843). A
reboot has no in-band signal at all (§8), so the session timeout is the defined outcome there.
"""

import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wip  # noqa: E402
from test_fault_support import GUARD, Elapsed  # noqa: E402

from host_tests.servers import ftp_server, http_server, random_bytes  # noqa: E402,F401

TIMEOUT = 3.0  # Modem command timeout
SESSION_TIMEOUT = 3.0  # http/ftp session timeout: bounds a read with no end in sight
MARGIN = 1.5
BODY = 6 * 1024 * 1024


@pytest.fixture
def modem(sim_factory):
    sim = sim_factory(guard_time=GUARD)
    m = wip.Modem(wip.tcp_stream("127.0.0.1", sim.port), timeout=TIMEOUT, guard_time=GUARD)
    m.start()
    m.gprs("internet")
    m.sim = sim
    return m


def read_until_fault(r, started, fault, deadline_s=20.0):
    """Read r in 4 KiB pieces; inject `fault` once `started` bytes arrived.

    Returns (bytes read, the exception or None, seconds from the fault to the end); the
    bytes before the fault are in ``read_until_fault.before``.
    """
    got = bytearray()
    end = time.monotonic() + deadline_s
    injected = False
    while time.monotonic() < end:
        if not injected and len(got) >= started:
            read_until_fault.before = bytes(got)
            fault()
            injected = True
            t0 = time.monotonic()
        try:
            chunk = r.read(4096)
        except OSError as exc:
            return bytes(got), exc, time.monotonic() - t0
        if not chunk:
            return bytes(got), None, time.monotonic() - t0
        got += chunk
    raise AssertionError("download neither ended nor failed")


def _fault(modem, name):
    return lambda: threading.Thread(target=modem.sim.control, args=(name,), daemon=True).start()


@pytest.mark.parametrize("fault", ["bearer-loss", "reboot"])
def test_http_download_interrupted(modem, http_server, fault):  # noqa: F811
    body = random_bytes(BODY, 7)
    r = modem.http_get(http_server.url(f"/bytes/{BODY}?seed=7"), timeout=SESSION_TIMEOUT)
    got, exc, seconds = read_until_fault(r, 65536, _fault(modem, fault))
    assert isinstance(exc, OSError), "the transfer cannot complete: the bearer went away"
    assert body.startswith(read_until_fault.before) and len(got) >= 65536
    assert seconds <= SESSION_TIMEOUT + MARGIN
    try:
        r.close()
    except OSError:
        pass
    if fault == "reboot":
        modem.start()
    modem.gprs("internet")
    r = modem.http_get(http_server.url("/bytes/5000?seed=8"))
    assert r.read() == random_bytes(5000, 8)
    assert r.status == 200


def test_ftp_download_interrupted_by_bearer_loss(modem, ftp_server):  # noqa: F811
    body = random_bytes(BODY, 9)
    (ftp_server.root / "big.bin").write_bytes(body)
    f = modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password, port=ftp_server.port,
                  timeout=SESSION_TIMEOUT)
    r = f.open("big.bin")
    got, exc, seconds = read_until_fault(r, 65536, _fault(modem, "bearer-loss"))
    assert isinstance(exc, OSError)
    assert body.startswith(read_until_fault.before) and len(got) >= 65536
    assert seconds <= SESSION_TIMEOUT + MARGIN
    for closer in (r.close, f.close):
        try:
            closer()
        except OSError:
            pass
    modem.gprs("internet")
    with Elapsed() as t:
        with modem.ftp(ftp_server.host, ftp_server.user, ftp_server.password,
                       port=ftp_server.port) as f2:
            assert f2.get("big.bin") == body
    assert t.seconds < 30


def test_http_download_ends_at_once_on_bearer_loss_with_intact_prefix(modem, http_server):  # noqa: F811
    body = random_bytes(BODY, 11)
    r = modem.http_get(http_server.url(f"/bytes/{BODY}?seed=11"), timeout=SESSION_TIMEOUT)
    got, exc, seconds = read_until_fault(r, 65536, _fault(modem, "bearer-loss"))
    assert isinstance(exc, wip.WipError) and exc.code == 843, exc
    assert seconds <= TIMEOUT + MARGIN
    assert body.startswith(got), "bytes after the fault are not the body's"
