"""bench/slow_request_stall.py still runs end to end in its smoke mode (timings are read in
bench/README.md, never asserted here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_slow_request_stall_bench_runs_in_smoke_mode():
    env = {**os.environ, "SECRET_KEY": "bench-smoke"}
    done = subprocess.run([sys.executable, "bench/slow_request_stall.py", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["quiet"]["requests"] > 0 and summary["with_get_reward"]["requests"] > 0
    assert summary["get_reward_seconds"]  # at least one batch was scored while labeling was timed
