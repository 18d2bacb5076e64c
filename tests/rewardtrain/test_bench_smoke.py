"""The benchmarks this area owns still run: their smoke modes, end to end."""

from tests.bench_smoke import run_smoke


def test_get_reward_memory_bench_runs_in_smoke_mode():
    summary = run_smoke("get_reward_memory.py")
    assert [row["scored"] for row in summary["rows"]] == [4, 16]
    assert all(row["stripped"] == row["queries"] for row in summary["rows"])
