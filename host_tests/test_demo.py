"""`make demo` (tools/demo.py): the sensor app on the unix port, kept up by wip.Supervisor,
survives a module reboot and a bearer loss mid-run; every reading reaches the broker or
server, and the supervisor counters the app reports match the injected faults."""

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


def summary_counters(output):
    """The supervisor counters from the app's SUMMARY line (echoed as "app | ... SUMMARY")."""
    lines = [line.split("SUMMARY ", 1)[1] for line in output.splitlines()
             if line.startswith("app") and " SUMMARY " in line]
    assert len(lines) == 1, output
    return demo.parse_summary(["SUMMARY " + lines[0]])


def link_down_reasons(output):
    return re.findall(r"^app .* link down: (\w+)", output, re.MULTILINE)


@pytest.mark.skipif(demo.third_party_dir() is None, reason="umqtt not in ../shared/third_party")
def test_mqtt_demo_survives_a_module_reboot_and_a_bearer_loss():
    code, out = run_demo("--cycles", "6", "--period", "0.2", "--timeout", "3")
    assert code == 0, out
    assert "mosquitto on 127.0.0.1:" in out
    assert out.index("injected fault reboot: OK") < out.index("injected fault bearer-loss: OK")
    assert link_down_reasons(out) == ["reboot", "bearer"], out
    assert re.findall(r"mqtt connected to .* generation (\d+)", out) == ["1", "2", "3"], out
    sent, received = sent_and_received(out)
    assert [r["seq"] for r in sent] == list(range(6))
    assert {r["seq"] for r in received} == set(range(6))
    assert all(r["board"] == "unix" and 19 < r["temp_c"] < 24 for r in received)
    counters = summary_counters(out)
    assert counters["sent"] == counters["readings"] == 6, out
    assert (counters["recoveries"], counters["reboots"], counters["bearer_losses"],
            counters["generation"]) == (2, 1, 1, 3), out
    assert "supervisor counters match" in out
    assert out.rstrip().endswith("OK")


def test_http_demo_survives_a_bearer_loss_and_a_module_reboot():
    code, out = run_demo("--transport", "http", "--fault", "bearer-loss", "--fault", "reboot",
                         "--cycles", "6", "--period", "0.2", "--timeout", "3")
    assert code == 0, out
    assert out.index("injected fault bearer-loss: OK") < out.index("injected fault reboot: OK")
    assert link_down_reasons(out) == ["bearer", "reboot"], out
    sent, received = sent_and_received(out)
    assert [r["seq"] for r in sent] == list(range(6))
    assert {r["seq"] for r in received} == set(range(6))
    counters = summary_counters(out)
    assert (counters["recoveries"], counters["reboots"], counters["bearer_losses"],
            counters["generation"]) == (2, 1, 1, 3), out


def test_counter_check_flags_a_fault_the_supervisor_did_not_see():
    """The demo's verdict compares the app's counters with what it injected."""
    line = ("SUMMARY sent=6 of 6 recoveries=1 reboots=1 bearer_losses=0 generation=2 "
            "failed_attempts=0 dropped=0 queued=0")
    summary = demo.parse_summary(["sent {}", line])
    assert summary["sent"] == summary["readings"] == 6 and summary["reboots"] == 1
    assert demo.counter_mismatches(summary, ["reboot"]) == []
    assert demo.counter_mismatches(summary, ["reboot", "bearer-loss"]) == [
        "recoveries=1 (expected 2)", "bearer_losses=0 (expected 1)"]
    assert demo.counter_mismatches(None, []) == ["no SUMMARY line from the app"]


def test_demo_fails_when_readings_do_not_arrive():
    """The verdict is computed from what the server got: a deadline too short to send
    everything is a failure, not an OK."""
    code, out = run_demo("--transport", "http", "--fault", "none", "--cycles", "50",
                         "--period", "0.2", "--deadline", "2")
    assert code == 1, out
    assert "did not finish in time" in out
    assert out.rstrip().endswith("FAILED")
