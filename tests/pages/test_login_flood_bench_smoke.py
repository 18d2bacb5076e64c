"""The login flood benchmark still runs: its smoke mode, end to end, against this tree."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_login_flood_bench_runs_in_smoke_mode_and_the_flood_is_locked_out():
    env = {**os.environ, "SECRET_KEY": "bench-smoke"}
    done = subprocess.run([sys.executable, "bench/login_flood.py", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (result,) = json.loads(done.stdout.strip().splitlines()[-1])["results"]
    for label in ("quiet", "flood"):
        assert result[label]["next"]["count"] and result[label]["submit"]["count"], label
        assert set(result[label]["labeling_statuses"]) <= {"next 200", "submit 201"}, result[label]
    assert result["flood"]["flood_statuses"].get("200") == 2  # the limit's two wrong passwords were checked
    assert result["flood"]["flood_statuses"].get("429")  # and then refused unchecked
