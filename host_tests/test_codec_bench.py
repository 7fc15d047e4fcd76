"""`make bench` smoke test: tools/bench.py runs bench_codec and reports every figure.

Checks the report's shape, not timings, except that viper beats the pure codec at all.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_runner_prints_and_writes_the_codec_figures(tmp_path):
    out_json = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "tools/bench.py", "--json", str(out_json), "codec"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out_json.read_text())
    assert report["failed_modules"] == []
    figures = {f["name"]: f for f in report["figures"]}
    for what in ("encode", "decode"):
        viper = figures[f"codec {what} 64K, unix port, viper"]
        pure = figures[f"codec {what} 64K, unix port, pure Python"]
        ratio = figures[f"codec {what} viper/pure speed-up"]
        assert viper["unit"] == pure["unit"] == "MB/s"
        assert viper["value"] > pure["value"] > 0
        assert abs(ratio["value"] - viper["value"] / pure["value"]) < 1e-6 * ratio["value"]
        assert figures[f"codec {what} 64K, CPython, pure Python"]["value"] > 0
    lines = [line for line in proc.stdout.splitlines() if line.startswith("codec ")]
    assert len(lines) == len(figures) == 8
    # Aligned: every value ends in the same column, followed by its unit.
    value_ends = {len(line.split(" (")[0]) - len(line.split(" (")[0].split()[-1]) - 1
                  for line in lines}
    assert len(value_ends) == 1, lines
    assert any("(target >= 10x)" in line for line in lines)


def test_bench_runner_rejects_an_unknown_module():
    proc = subprocess.run([sys.executable, "tools/bench.py", "--no-json", "no_such_bench"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert "no such bench module: no_such_bench" in proc.stderr
