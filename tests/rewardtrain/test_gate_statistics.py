"""The gate's statistics on hand-made numbers with answers worked out by hand (no Django)."""

import math

import pytest

from rewardtrain.gate import best_of_k, compare, mcnemar_exact, pair_correctness, rate, summary, wilson_interval


def test_correctness_counts_a_tie_as_half():
    assert pair_correctness([2.0, 1.0, 0.5], [1.0, 1.0, 0.7]) == [1.0, 0.5, 0.0]


def test_wilson_interval_of_five_out_of_ten():
    # p = 0.5, z = 1.95996: centre 0.5, half-width 1.95996/1.38415 * sqrt(0.025 + 0.0096036) = 0.26340
    low, high = wilson_interval(5, 10, 0.95)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_wilson_interval_at_zero_and_all_stays_inside_zero_one():
    # x = 0: the upper bound is z^2 / (n + z^2) = 3.8415 / 13.8415
    assert wilson_interval(0, 10, 0.95) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10, 0.95) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert all(math.isnan(x) for x in wilson_interval(0, 0, 0.95))


def test_a_wider_confidence_gives_a_wider_interval():
    low95, high95 = wilson_interval(30, 50, 0.95)
    low99, high99 = wilson_interval(30, 50, 0.99)
    assert low99 < low95 < 0.6 < high95 < high99


def test_exact_mcnemar_textbook_values():
    # 2 and 8 discordant pairs: P(X <= 2 | Bin(10, 1/2)) = (1 + 10 + 45) / 1024, doubled
    assert mcnemar_exact(2, 8) == pytest.approx(112 / 1024)
    assert mcnemar_exact(8, 2) == mcnemar_exact(2, 8)
    # 0 against 6: 2 / 64; 1 against 9: 2 * 11 / 1024
    assert mcnemar_exact(0, 6) == pytest.approx(0.03125)
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0


def test_compare_counts_only_the_pairs_where_the_versions_disagree():
    # 100 pairs: both right on 60, both wrong on 20, new alone right on 2, current alone on 18.
    new = [1.0] * 60 + [0.0] * 20 + [1.0] * 2 + [0.0] * 18
    current = [1.0] * 60 + [0.0] * 20 + [0.0] * 2 + [1.0] * 18
    result = compare(new, current, 0.95)
    assert (result["new_better"], result["current_better"]) == (2, 18)
    assert result["p_value"] == pytest.approx(2 * (1 + 20 + 190) / 2**20)
    assert result["worse"] is True


def test_a_small_loss_is_not_worse_with_confidence():
    # new 0.62 against current 0.66 on 50 pairs: 3 against 5 discordant pairs, p = 0.727
    new = [1.0] * 28 + [1.0] * 3 + [0.0] * 5 + [0.0] * 14
    current = [1.0] * 28 + [0.0] * 3 + [1.0] * 5 + [0.0] * 14
    result = compare(new, current, 0.95)
    assert result["p_value"] == pytest.approx(2 * (1 + 8 + 28 + 56) / 256)
    assert result["worse"] is False


def test_the_confidence_level_decides():
    # 2 against 8: p = 0.109, worse at 0.80 confidence, not at 0.95
    new = [1.0] * 2 + [0.0] * 8
    current = [0.0] * 2 + [1.0] * 8
    assert compare(new, current, 0.80)["worse"] is True
    assert compare(new, current, 0.95)["worse"] is False


def test_a_better_version_is_never_worse():
    assert compare([1.0] * 20, [0.0] * 20, 0.95)["worse"] is False


def test_a_tie_against_a_miss_counts_for_the_tie():
    assert compare([0.5, 1.0], [0.0, 1.0], 0.95)["new_better"] == 1


def test_compare_refuses_unpaired_lists():
    with pytest.raises(ValueError):
        compare([1.0], [1.0, 0.0], 0.95)


def test_best_of_k_needs_the_top_strictly_highest():
    reward = {"a": 3.0, "b": 1.0, "c": 2.0, "d": 3.0, "e": 0.0}
    rankings = [["a", "b", "c"], ["c", "a", "b"], ["a", "d", "e"], ["e"]]
    # a beats b and c; c loses to a; a only ties d; a lone item is no ranking
    assert best_of_k(rankings, reward) == (1, 3)


def test_summary_formats_once_for_every_page():
    result = summary([1.0] * 5 + [0.0] * 5, 0.95)
    assert result["accuracy"] == 0.5 and result["n"] == 10
    assert result["shown"] == "0.500 (95% interval 0.237–0.763, 10 pairs)"
    assert summary([], 0.95)["shown"] == "– (no held-out pairs)"


def test_rate_names_its_unit():
    assert rate(2, 3, 0.95, unit="rankings")["shown"].endswith(", 3 rankings)")
