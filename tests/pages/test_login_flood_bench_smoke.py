"""The login flood benchmark still runs: its smoke mode, end to end, against this tree."""

from tests.bench_smoke import run_smoke


def test_login_flood_bench_runs_in_smoke_mode_and_the_flood_is_locked_out():
    (result,) = run_smoke("login_flood.py")["results"]
    for label in ("quiet", "flood"):
        assert result[label]["next"]["count"] and result[label]["submit"]["count"], label
        assert set(result[label]["labeling_statuses"]) <= {"next 200", "submit 201"}, result[label]
    assert result["flood"]["flood_statuses"].get("200") == 2  # the limit's two wrong passwords were checked
    assert result["flood"]["flood_statuses"].get("429")  # and then refused unchecked
