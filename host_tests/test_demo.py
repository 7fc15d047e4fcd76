"""`make demo` (tools/demo.py): the sensor app on the unix port survives a fault mid-run and
every reading it reports as sent reaches the broker or server."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tools import demo

ROOT = Path(__file__).resolve().parent.parent


def run_demo(*args, timeout=60):
    """Run tools/demo.py; past `timeout` it gets SIGTERM (it then stops its simulator, broker
    and app), then its whole process group is killed."""
    proc = subprocess.Popen([sys.executable, "tools/demo.py", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        pytest.fail(f"tools/demo.py {' '.join(args)} ran over {timeout} s:\n{out}")
    return proc.returncode, out


def sent_and_received(output):
    sent = [json.loads(line.split("sent ", 1)[1]) for line in output.splitlines()
            if line.startswith("app") and " sent {" in line]
    received = [json.loads(line.split("received ", 1)[1]) for line in output.splitlines()
                if line.startswith("server | received ")]
    return sent, received


@pytest.mark.skipif(demo.third_party_dir() is None, reason="umqtt not in ../shared/third_party")
def test_mqtt_demo_recovers_from_a_module_reboot():
    code, out = run_demo("--cycles", "6", "--period", "0.2", "--timeout", "3")
    assert code == 0, out
    assert "mosquitto on 127.0.0.1:" in out
    assert "injected fault reboot: OK" in out
    assert re.search(r"link down: .*\n(.*\n)*.*recovered after \d+ attempt", out), out
    sent, received = sent_and_received(out)
    assert [r["seq"] for r in sent] == list(range(6))
    assert {r["seq"] for r in received} == set(range(6))
    assert all(r["board"] == "unix" and 19 < r["temp_c"] < 24 for r in received)
    assert "SUMMARY sent=6 of 6 recoveries=1" in out
    assert out.rstrip().endswith("OK")


def test_http_demo_recovers_from_bearer_loss():
    code, out = run_demo("--transport", "http", "--fault", "bearer-loss", "--cycles", "6",
                         "--period", "0.2", "--timeout", "3")
    assert code == 0, out
    assert "injected fault bearer-loss: OK" in out
    sent, received = sent_and_received(out)
    assert [r["seq"] for r in sent] == list(range(6))
    assert {r["seq"] for r in received} == set(range(6))
    assert "recoveries=1" in out


def test_demo_fails_when_readings_do_not_arrive():
    """The verdict is computed from what the server got: a deadline too short to send
    everything is a failure, not an OK."""
    code, out = run_demo("--transport", "http", "--fault", "none", "--cycles", "50",
                         "--period", "0.2", "--deadline", "2")
    assert code == 1, out
    assert "did not finish in time" in out
    assert out.rstrip().endswith("FAILED")
