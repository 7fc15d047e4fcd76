"""Run every host_tests/mpy/test_*.py script on the MicroPython unix port, one pytest test each.

A script uses the `mpytest` harness (host_tests/mpy/mpytest.py) and passes when the process
exits with status 0, printed at least one `PASS name` line, no `FAIL` line, and a closing
`N passed, 0 failed[, N skipped]` line that agrees with the PASS lines (`SKIP name: why`
lines are allowed). A script that prints nothing, crashes or hangs fails. On failure the
script's output (and the tail of any `*_LOG` file a provider named) is shown.

How a script is run: `micropython [-X heapsize=H] <script>` with cwd a fresh temp dir,
stdin closed, and env:
- MICROPYPATH = <ROOT>/mpy:<ROOT>/host_tests/mpy[:<mpypath entries>]:.frozen
- ECHO_TCP_PORT, ECHO_UDP_PORT: loopback echo servers, always running (mpy_needs/echo.py)
- whatever the `needs` providers return.

Header: `# key: value` lines in the script's leading comment block (before the first line of
code). The runner reads:
- `# heapsize: 64K`            -> `-X heapsize=64K`
- `# needs: sim, http`         -> for each name, `host_tests/mpy_needs/<name>.py` provides env
                                  vars through `provide(request)`; an unknown name fails the
                                  test. `sim` gives WIPSIM_PORT, WIPSIM_CONTROL_PORT,
                                  WIPSIM_GUARD, WIPSIM_PORT_OFFSET (see mpy_needs/sim.py).
- `# mpypath: ../shared/x a/b` -> extra MICROPYPATH entries, relative to the repo root
- `# timeout: 30`              -> seconds before the script is killed (default 60)
Other keys are kept in `request.node.mpy_header` for providers (e.g. `# sim-args:`).
`needs` and `mpypath` may be repeated; their values are split on commas and whitespace.
"""

import importlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST_TESTS = Path(__file__).resolve().parent
ROOT = HOST_TESTS.parent
SCRIPTS_DIR = HOST_TESTS / "mpy"
NEEDS_DIR = HOST_TESTS / "mpy_needs"
DEFAULT_TIMEOUT = 60.0
LOG_TAIL_CHARS = 4000
HEADER_LINE = re.compile(r"#\s*([a-z][a-z0-9_-]*)\s*:\s*(.*?)\s*$")
LIST_KEYS = ("needs", "mpypath")
NEED_NAME = re.compile(r"[a-z][a-z0-9_]*")
SUMMARY_LINE = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$", re.M)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tests.mpy_needs.echo import EchoServers  # noqa: E402


@dataclass
class MpyRun:
    """The outcome of one script run."""

    script: Path
    returncode: int | None  # None when the script was killed at its timeout
    output: str
    timeout: float
    logs: dict


def read_header(path):
    """The `# key: value` lines of the leading comment block; list keys are accumulated."""
    header = {key: [] for key in LIST_KEYS}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        match = HEADER_LINE.match(stripped)
        if not match:
            continue
        key, value = match.groups()
        if key in LIST_KEYS:
            header[key] += [item for item in re.split(r"[,\s]+", value) if item]
        else:
            header[key] = value
    return header


def provide_need(name, request):
    """Env vars from host_tests/mpy_needs/<name>.py; an unknown name fails loudly."""
    if not NEED_NAME.fullmatch(name) or not (NEEDS_DIR / f"{name}.py").is_file():
        known = sorted(p.stem for p in NEEDS_DIR.glob("*.py") if p.stem != "__init__")
        pytest.fail(f"unknown `# needs: {name}`: no host_tests/mpy_needs/{name}.py "
                    f"(known: {', '.join(known)})", pytrace=False)
    module = importlib.import_module(f"host_tests.mpy_needs.{name}")
    env = module.provide(request)
    return {str(key): str(value) for key, value in env.items()}


def run_script(script, micropython_bin, request, cwd):
    """Run one script as the header asks; return an MpyRun (never raises on script failure)."""
    header = read_header(script)
    request.node.mpy_header = header
    env = dict(os.environ)
    env.update(request.getfixturevalue("mpy_echo_servers").env())
    provided = {}
    for name in header["needs"]:
        provided.update(provide_need(name, request))
    env.update(provided)
    path = [str(ROOT / "mpy"), str(SCRIPTS_DIR)]
    path += [str((ROOT / entry).resolve()) for entry in header["mpypath"]]
    env["MICROPYPATH"] = os.pathsep.join([*path, ".frozen"])
    cmd = [micropython_bin]
    if header.get("heapsize"):
        cmd += ["-X", f"heapsize={header['heapsize']}"]
    cmd.append(str(script))
    timeout = float(header.get("timeout", DEFAULT_TIMEOUT))
    logs = {k: v for k, v in provided.items() if k.endswith("_LOG")}
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        output = (exc.output or b"").decode("utf-8", "replace")
        return MpyRun(Path(script), None, output, timeout, logs)
    return MpyRun(Path(script), proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  timeout, logs)


def problems_of(run):
    """Why a run does not count as passed (an empty list if it does)."""
    problems = []
    if run.returncode is None:
        problems.append(f"killed after its {run.timeout:g} s timeout")
    elif run.returncode != 0:
        problems.append(f"exit status {run.returncode}")
    lines = run.output.splitlines()
    passes = [line for line in lines if line.startswith("PASS ")]
    fails = [line for line in lines if line.startswith("FAIL ")]
    if fails:
        problems.append(f"{len(fails)} FAIL line(s)")
    if not passes:
        problems.append("no PASS line")
    summaries = SUMMARY_LINE.findall(run.output)
    if not summaries:
        problems.append("no closing 'N passed, N failed' line")
    elif (int(summaries[-1][0]), int(summaries[-1][1])) != (len(passes), len(fails)):
        problems.append(f"closing line '{summaries[-1][0]} passed, {summaries[-1][1]} failed' "
                        f"disagrees with {len(passes)} PASS / {len(fails)} FAIL lines")
    return problems


def check_run(run):
    """Fail the current test, showing the script's output, unless the run passed."""
    problems = problems_of(run)
    if not problems:
        return
    report = [f"{run.script.name} failed: {'; '.join(problems)}", "----- output -----",
              run.output.rstrip() or "(no output)"]
    for key, log in run.logs.items():
        if Path(log).is_file():
            text = Path(log).read_text(encoding="utf-8", errors="replace")
            report += [f"----- {key} {log} (tail) -----", text[-LOG_TAIL_CHARS:]]
    pytest.fail("\n".join(report), pytrace=False)


@pytest.fixture(scope="session")
def mpy_echo_servers():
    """Loopback TCP and UDP echo servers shared by every script."""
    with EchoServers() as servers:
        yield servers


SCRIPTS = sorted(SCRIPTS_DIR.glob("test_*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_mpy_script(script, micropython_bin, request, tmp_path):
    check_run(run_script(script, micropython_bin, request, tmp_path))


# The runner itself: scripts written to a temp dir prove what passes and what fails.

PASSING_SCRIPT = """\
# A passing script that uses the echo servers and its header.
# heapsize: 96K
# timeout: 20
import gc
import os
import socket

from mpytest import Skip, eq, ok, raises, run, test


@test
def registered_by_decorator():
    eq(type(raises(ValueError, int, "x")), ValueError)
    raises(AssertionError, raises, ValueError, int, "1")
    raises(AssertionError, eq, [1], [2])


def test_skip_is_reported():
    raise Skip("not on this port")


def test_heapsize_header_is_applied():
    gc.collect()
    total = gc.mem_alloc() + gc.mem_free()
    ok(80 * 1024 < total <= 96 * 1024, "heap of %d bytes" % total)


def test_cwd_is_a_fresh_temp_dir():
    eq(os.listdir("."), [])


def test_tcp_echo():
    s = socket.socket()
    s.settimeout(5)
    s.connect(socket.getaddrinfo("127.0.0.1", int(os.getenv("ECHO_TCP_PORT")))[0][-1])
    s.write(b"ping over tcp")
    got = b""
    while len(got) < 13:
        got += s.read(13 - len(got))
    s.close()
    eq(got, b"ping over tcp")


def test_udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    addr = socket.getaddrinfo("127.0.0.1", int(os.getenv("ECHO_UDP_PORT")))[0][-1]
    s.sendto(b"ping over udp", addr)
    eq(s.recv(100), b"ping over udp")
    s.close()


async def test_async_test_functions_are_awaited():
    import asyncio

    await asyncio.sleep_ms(1)


run(globals())
"""


def write_script(tmp_path, text, name="test_probe.py"):
    scripts = tmp_path / "scripts"
    scripts.mkdir(exist_ok=True)
    path = scripts / name
    path.write_text(text)
    return path


def run_probe(tmp_path, text, micropython_bin, request):
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    return run_script(write_script(tmp_path, text), micropython_bin, request, cwd)


def test_runner_collects_the_codec_scripts():
    names = [p.name for p in SCRIPTS]
    assert "test_codec.py" in names and "test_heap_codec.py" in names


def test_runner_passes_a_passing_script(tmp_path, micropython_bin, request):
    run = run_probe(tmp_path, PASSING_SCRIPT, micropython_bin, request)
    assert problems_of(run) == [], run.output
    assert run.output.count("PASS ") == 6
    assert "PASS registered_by_decorator" in run.output
    assert "SKIP test_skip_is_reported: not on this port" in run.output
    assert "6 passed, 0 failed, 1 skipped" in run.output
    check_run(run)


def test_runner_fails_a_failing_test_and_shows_its_traceback(tmp_path, micropython_bin,
                                                             request):
    text = ("from mpytest import eq, run\n\ndef test_good():\n    eq(1, 1)\n\n"
            "def test_bad():\n    eq(1 + 1, 3)\n\nrun(globals())\n")
    run = run_probe(tmp_path, text, micropython_bin, request)
    assert run.returncode == 1
    with pytest.raises(pytest.fail.Exception) as failed:
        check_run(run)
    message = str(failed.value)
    assert "FAIL test_bad: AssertionError('2 != 3'" in message
    assert "Traceback" in message and "PASS test_good" in message
    assert "1 passed, 1 failed" in message


@pytest.mark.parametrize("text, problem", [
    ("print('nothing to see')\n", "no PASS line"),
    ("import sys\nsys.exit(0)\n", "no PASS line"),
    ("from mpytest import run\nraise RuntimeError('crash at import')\nrun(globals())\n",
     "exit status 1"),
    ("def broken(:\n", "exit status 1"),
    ("print('PASS fake')\n", "no closing"),
    ("print('PASS a')\nprint('PASS b')\nprint('1 passed, 0 failed')\n", "disagrees"),
    ("print('PASS a')\nprint('1 passed, 0 failed')\nimport sys\nsys.exit(3)\n",
     "exit status 3"),
], ids=["no-tests", "silent-exit", "crash", "syntax-error", "no-summary", "bad-summary",
        "bad-exit"])
def test_runner_fails_a_script_that_does_not_report_passes(tmp_path, micropython_bin, request,
                                                          text, problem):
    run = run_probe(tmp_path, text, micropython_bin, request)
    assert any(problem in p for p in problems_of(run)), (problems_of(run), run.output)
    with pytest.raises(pytest.fail.Exception):
        check_run(run)


def test_runner_kills_a_script_at_its_timeout(tmp_path, micropython_bin, request):
    text = "# timeout: 1\nprint('PASS early')\nwhile True:\n    pass\n"
    run = run_probe(tmp_path, text, micropython_bin, request)
    assert run.returncode is None
    assert "killed after its 1 s timeout" in problems_of(run)


def test_runner_fails_loudly_on_an_unknown_need(tmp_path, micropython_bin, request):
    text = "# needs: echo, no_such_thing\nfrom mpytest import run\nrun(globals())\n"
    with pytest.raises(pytest.fail.Exception, match="unknown `# needs: no_such_thing`"):
        run_probe(tmp_path, text, micropython_bin, request)


def test_header_parsing(tmp_path):
    path = write_script(tmp_path, (
        "#!/usr/bin/env micropython\n# Prose: not a key because it has spaces: fine.\n"
        "# heapsize: 64K\n# needs: sim, http\n# needs: ftp\n\n# mpypath: ../shared/x, a/b\n"
        "# sim-args: --baud 9600\nimport os\n# timeout: 5\n"))
    header = read_header(path)
    assert header == {"needs": ["sim", "http", "ftp"], "mpypath": ["../shared/x", "a/b"],
                      "heapsize": "64K", "sim-args": "--baud 9600"}


def test_mpypath_header_extends_the_module_path(tmp_path, micropython_bin, request):
    extra = tmp_path / "extra_lib"
    extra.mkdir()
    (extra / "probe_helper.py").write_text("VALUE = 42\n")
    rel = os.path.relpath(extra, ROOT)
    text = (f"# mpypath: {rel}\nimport probe_helper\nfrom mpytest import eq, run\n\n"
            "def test_import():\n    eq(probe_helper.VALUE, 42)\n\nrun(globals())\n")
    check_run(run_probe(tmp_path, text, micropython_bin, request))


@pytest.mark.skipif(not (ROOT / "tools" / "wipsim" / "__main__.py").is_file(),
                    reason="the simulator (tools/wipsim) is not in the tree yet")
def test_needs_sim_starts_a_simulator(tmp_path, micropython_bin, request):
    text = """\
# needs: sim
import os
import socket
import time

from mpytest import eq, ok, run


def test_sim_answers_at():
    eq(float(os.getenv("WIPSIM_GUARD")), 0.05)
    ok(int(os.getenv("WIPSIM_PORT_OFFSET")) >= 1024)
    s = socket.socket()
    s.settimeout(5)
    s.connect(socket.getaddrinfo("127.0.0.1", int(os.getenv("WIPSIM_PORT")))[0][-1])
    s.write(b"AT\\r")
    got = b""
    deadline = time.ticks_add(time.ticks_ms(), 5000)
    while b"OK\\r\\n" not in got and time.ticks_diff(deadline, time.ticks_ms()) > 0:
        got += s.read(1)
    s.close()
    ok(b"OK\\r\\n" in got, repr(got))


run(globals())
"""
    check_run(run_probe(tmp_path, text, micropython_bin, request))
