"""The benchmarks this area owns still run: their smoke modes, end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_bomb_bench_runs_in_smoke_mode():
    env = {**os.environ, "SECRET_KEY": "bench-smoke"}
    done = subprocess.run([sys.executable, "bench/import_bomb.py", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert [row["bomb"] for row in summary["rows"]] == [
        "one row, a list of 10,000 values",
        "one text of 100,000 characters",
        "2,000 rows of a 1,000-character text",
        "valid: one row",
    ]
    assert all(row["peak_rss_mb"] > 0 and "failed" not in row for row in summary["rows"])
    assert summary["rows"][-1]["records"] == 1
