"""Fuzzing the AT-mode input: random lines never crash the simulator or desync replies.

`make fuzz` raises the number of examples through WIP_FUZZ_EXAMPLES.
"""

import os

import pytest
from atclient import ATClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.wipsim import Simulator

EXAMPLES = int(os.environ.get("WIP_FUZZ_EXAMPLES", "150"))
SAFE = st.binary(max_size=200).filter(lambda b: b"\r" not in b)
COMMANDS = st.sampled_from(["+WIPCFG", "+WIPBR", "+WIPCREATE", "+WIPCLOSE", "+WIPOPT",
                            "+WIPDATA", "+WIPFILE", "+WIPPING", "+CMEE", "E", "V", "Q"])
PARAMS = st.lists(st.one_of(st.integers(0, 70000).map(str), st.text(
    alphabet='ab1.," ', max_size=6).map(lambda t: '"' + t.replace('"', "") + '"'),
    st.just(""), st.just("?")), max_size=7).map(",".join)


@pytest.fixture(scope="module")
def fuzz_client():
    sim = Simulator(guard_time=0.05, port_offset=31000)
    at = ATClient.tcp(sim.start_tcp())
    at.drain(0.05)
    at.ok("ATE0")
    at.ok("AT+CMEE=1")
    yield sim, at
    at.close()
    sim.close()


def check_alive(sim, at):
    """After the fuzz line the module answers a probe in order."""
    at.send_raw(b"\rAT+CMEE?\r")
    deadline_lines = []
    while True:
        info, final = at.read_reply(timeout=5)
        deadline_lines.append((info, final))
        if final == "OK" and info and info[-1].startswith("+CMEE:"):
            break
        assert len(deadline_lines) < 20, deadline_lines
    state = sim.status()
    assert state["mode"] == "at"


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=SAFE)
def test_fuzz_random_bytes(fuzz_client, raw):
    sim, at = fuzz_client
    at.send_raw(raw.replace(b"AT", b"A_").replace(b"at", b"a_").replace(b"aT", b"a_")
                .replace(b"At", b"A_") + b"\r")
    check_alive(sim, at)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=COMMANDS, params=PARAMS, form=st.sampled_from(["=", "", "?", "=?"]))
def test_fuzz_command_shapes(fuzz_client, name, params, form):
    sim, at = fuzz_client
    if name in ("E", "V", "Q"):
        line = "AT" + name + params[:1]
        if name == "E":
            line = "ATE0"
    else:
        line = "AT" + name + form + (params if form == "=" else "")
    if "+WIPDATA=" in line or "+WIPFILE=" in line or "+CMEE=" in line:
        line = line.replace("=", "?", 1) if form == "=" else line
    info, final = at.cmd(line, timeout=15)
    assert final in ("OK", "ERROR") or final.startswith("+CME ERROR: "), (line, final)
    assert sim.status()["mode"] == "at"
    check_alive(sim, at)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=SAFE)
def test_fuzz_at_prefixed_garbage(fuzz_client, raw):
    sim, at = fuzz_client
    at.send_raw(b"AT" + raw.replace(b"CFUN", b"CF_N").replace(b"cfun", b"cf_n") + b"\r")
    check_alive(sim, at)
