"""bench/slow_request_stall.py still runs end to end in its smoke mode (timings are read in
bench/README.md, never asserted here)."""

from tests.bench_smoke import run_smoke


def test_the_slow_request_stall_bench_runs_in_smoke_mode():
    summary = run_smoke("slow_request_stall.py")
    assert summary["quiet"]["requests"] > 0 and summary["with_get_reward"]["requests"] > 0
    assert summary["get_reward_seconds"]  # at least one batch was scored while labeling was timed
