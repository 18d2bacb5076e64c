"""Running a benchmark's smoke mode from a test: the script end to end, its JSON summary back."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_smoke(script):
    """Run `bench/<script> --smoke` against this tree; the summary its last line prints."""
    env = {**os.environ, "SECRET_KEY": "bench-smoke"}
    done = subprocess.run([sys.executable, f"bench/{script}", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
