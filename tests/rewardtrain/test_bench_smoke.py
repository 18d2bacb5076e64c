"""The benchmarks this area owns still run: their smoke modes, end to end."""

from tests.bench_smoke import run_smoke


def test_get_reward_memory_bench_runs_in_smoke_mode():
    summary = run_smoke("get_reward_memory.py")
    assert [row["scored"] for row in summary["rows"]] == [4, 16]
    assert all(row["stripped"] == row["queries"] for row in summary["rows"])


def test_train_throughput_bench_runs_in_smoke_mode():
    summary = run_smoke("train_throughput.py")
    runs = [(r["base"], r["procs"]) for r in summary["results"]]
    assert runs == [("qwen2-tiny", 1), ("qwen2-tiny", 2), ("minilm", 1)]
    assert all(r["n_train_pairs"] == 8 and r["pairs_per_s"] > 0 for r in summary["results"])
    assert summary["results"][2]["parameters"] > 20e6  # the packaged MiniLM, not a stand-in
