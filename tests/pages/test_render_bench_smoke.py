"""The render benchmark still runs: its smoke mode, end to end, against this tree."""

from tests.bench_smoke import run_smoke


def test_render_bench_runs_in_smoke_mode_and_the_preview_flood_is_limited():
    summary = run_smoke("render_bench.py")
    measured = {(row["pattern"], row["chars"]) for row in summary["render"] if row["after_ms"] > 0}
    assert len(measured) == 6 * 2  # every pattern of the table (and plain words) at both lengths
    (result,) = summary["flood"]
    for label in ("quiet", "flood"):
        assert result[label]["next"]["count"] and result[label]["submit"]["count"], label
        assert set(result[label]["labeling_statuses"]) <= {"next 200", "submit 201"}, result[label]
    # The smoke's limit: two previews a minute, counted in fixed windows, so a 2 s flood that
    # crosses a minute's end gets two in each (a CI run saw 4); unlimited, it gets dozens.
    assert result["flood"]["preview_statuses"].get("200") in (2, 4)
    assert result["flood"]["preview_statuses"].get("429")  # then 429 until the minute ends
