"""The benchmarks this area owns still run: their smoke modes, end to end."""

from tests.bench_smoke import run_smoke


def test_import_bomb_bench_runs_in_smoke_mode():
    summary = run_smoke("import_bomb.py")
    assert [row["bomb"] for row in summary["rows"]] == [
        "one row, a list of 10,000 values",
        "one text of 100,000 characters",
        "2,000 rows of a 1,000-character text",
        "valid: one row",
    ]
    assert all(row["peak_rss_mb"] > 0 and "failed" not in row for row in summary["rows"])
    assert summary["rows"][-1]["records"] == 1
