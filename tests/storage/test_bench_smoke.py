"""bench/checkpoint_store.py still runs: publish, fetch and cache-hit scoring through moto, end to end."""

from tests.bench_smoke import run_smoke


def test_checkpoint_store_bench_runs_in_smoke_mode():
    summary = run_smoke("checkpoint_store.py")
    assert len(summary["publish_s"]) == len(summary["fetch_cold_s"]) == 2
    assert summary["checkpoint_bytes"] > 0 and summary["max_reward_difference"] < 1e-5
    assert set(summary["scoring_8_items"]) == {"local", "s3 (cache hit)"}
