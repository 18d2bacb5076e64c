"""The benchmarks this area owns still run: their smoke modes, end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_get_reward_memory_bench_runs_in_smoke_mode():
    env = {**os.environ, "SECRET_KEY": "bench-smoke"}
    done = subprocess.run([sys.executable, "bench/get_reward_memory.py", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert [row["scored"] for row in summary["rows"]] == [4, 16]
    assert all(row["stripped"] == row["queries"] for row in summary["rows"])
