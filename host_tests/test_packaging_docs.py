"""The README's and docs/api.md's examples run as written on the MicroPython unix port.

Every ```python block preceded by `<!-- run: NAME -->` is collected; blocks with the same
NAME in one file form one script, in order. The only change made to them is the simulator's
UART port: the examples say `wip.tcp_stream("127.0.0.1", 7000)` (`make sim`), the test's
simulator listens on a free port. As with `python tools/demo.py --serve` (what the README
tells a reader to start), the simulator's hosts table maps echo.example.com and
www.example.com to 127.0.0.1, and its port offset moves their ports 7 and 80 to a TCP+UDP
echo server and a small web server (tools.demo.ExamplePeers).
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from tools.demo import ExamplePeers

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = ("README.md", "docs/api.md")
SIM_UART = 'wip.tcp_stream("127.0.0.1", 7000)'
RUN_MARK = re.compile(r"^<!-- run: ([\w-]+) -->\s*$")


def doc_scripts():
    """{(file, name): script text} of the marked examples."""
    scripts = {}
    for rel in DOC_FILES:
        lines = (ROOT / rel).read_text().splitlines()
        i = 0
        while i < len(lines):
            match = RUN_MARK.match(lines[i])
            i += 1
            if not match:
                continue
            while i < len(lines) and not lines[i].strip():
                i += 1
            assert lines[i].strip() == "```python", f"{rel}:{i + 1}: run mark without a block"
            end = lines.index("```", i + 1)
            key = (rel, match.group(1))
            scripts[key] = scripts.get(key, "") + "\n".join(lines[i + 1:end]) + "\n"
            i = end + 1
    return scripts


SCRIPTS = doc_scripts()


def test_docs_have_runnable_examples():
    assert ("README.md", "quickstart") in SCRIPTS
    assert ("docs/api.md", "core") in SCRIPTS
    for (rel, name), text in SCRIPTS.items():
        if "wip.Modem(" in text:
            assert SIM_UART in text, f"{rel} {name}: examples talk to `make sim`'s port"


@pytest.mark.parametrize("key", sorted(SCRIPTS), ids=[f"{f}:{n}" for f, n in sorted(SCRIPTS)])
def test_doc_example_runs_on_the_unix_port(key, sim_factory, micropython_bin, tmp_path):
    peers = ExamplePeers.start()  # what `python tools/demo.py --serve` gives a reader
    try:
        sim = sim_factory(*peers.host_args(), guard_time=1.0, port_offset=peers.offset)
        script = tmp_path / "example.py"
        script.write_text(SCRIPTS[key].replace(SIM_UART,
                                               f'wip.tcp_stream("127.0.0.1", {sim.port})'))
        result = subprocess.run(
            [micropython_bin, str(script)], cwd=tmp_path, capture_output=True, text=True,
            timeout=60, env={**os.environ, "MICROPYPATH": f"{ROOT / 'mpy'}:.frozen"},
        )
    finally:
        peers.close()
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_cost_table_covers_every_package():
    """The "Cost per part" table (printed by tools/bench_packaging.py) has a row per package."""
    from tools import build_mpy

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Cost per part", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip().strip("`"): line for line in section.splitlines()
            if line.startswith("| `")}
    assert sorted(rows) == sorted(build_mpy.all_packages())
    for name, line in rows.items():
        cells = [c.strip() for c in line.split("|")[3:6]]
        assert all(re.fullmatch(r"[\d,]+ B", c) for c in cells), (name, cells)


def test_every_python_block_in_the_docs_parses():
    """Blocks not run against the simulator (a server, FTP/SMTP/POP3 sketches, a manifest)
    must still be valid Python."""
    import ast
    import textwrap

    for rel in (*DOC_FILES, "docs/troubleshooting.md", "docs/wiring.md"):
        text = (ROOT / rel).read_text()
        for block in re.findall(r"^ *```python\n(.*?)^ *```$", text, re.S | re.M):
            ast.parse(textwrap.dedent(block), filename=rel)
