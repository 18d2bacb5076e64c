"""The render benchmark still runs: its smoke mode, end to end, against this tree."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_render_bench_runs_in_smoke_mode_and_the_preview_flood_is_limited():
    env = {**os.environ, "SECRET_KEY": "bench-smoke"}
    done = subprocess.run([sys.executable, "bench/render_bench.py", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    measured = {(row["pattern"], row["chars"]) for row in summary["render"] if row["after_ms"] > 0}
    assert len(measured) == 6 * 2  # every pattern of the table (and plain words) at both lengths
    (result,) = summary["flood"]
    for label in ("quiet", "flood"):
        assert result[label]["next"]["count"] and result[label]["submit"]["count"], label
        assert set(result[label]["labeling_statuses"]) <= {"next 200", "submit 201"}, result[label]
    assert result["flood"]["preview_statuses"].get("200") == 2  # the smoke's limit: two previews a minute
    assert result["flood"]["preview_statuses"].get("429")  # then 429 until the minute ends
