"""Quality-control metrics on hand-built judgments whose answers are worked out in the comments."""

import datetime
import json

import pytest

from annotator.quality import (
    JudgmentFacts,
    QualitySettings,
    agreement,
    bias,
    fast_judgment_ids,
    flags,
    gold_accuracy,
    krippendorff_alpha,
    pairwise_value,
    prompt_agreement,
    quality_report,
    self_consistency,
    throughput,
)

J = JudgmentFacts
SETTINGS = QualitySettings()


# --- pairwise_value ------------------------------------------------------------------------


def test_pairwise_value_reads_the_completion_not_the_side():
    assert pairwise_value(J(1, "al", 1, (10, 20), "a")) == 10
    assert pairwise_value(J(2, "al", 1, (10, 20), "b")) == 20
    # The same completion shown on the other side: "a" now means 20.
    assert pairwise_value(J(3, "al", 1, (20, 10), "a")) == 20
    assert pairwise_value(J(4, "al", 1, (10, 20), "tie")) == "tie"
    assert pairwise_value(J(5, "al", 1, (10, 20), "both_bad")) == "both_bad"
    assert pairwise_value(J(6, "al", 1, (10, 20))) is None
    assert pairwise_value(J(7, "al", 1, (10, 20, 30), ranking=(20, 10, 30))) is None


# --- Krippendorff's alpha --------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x
# 12 units, None = missing. Unit 12 has a single value, so it is not pairable.
N = None
TEXTBOOK = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],  # observer A
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],  # observer B
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],  # observer C
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],  # observer D
]
TEXTBOOK_UNITS = {u: {obs: TEXTBOOK[obs][u] for obs in range(4)} for u in range(12)}


def test_alpha_textbook_nominal():
    # Pairable values n = 40 (n_1=9, n_2=13, n_3=10, n_4=5, n_5=3). Only units 2 (2,2,3,2),
    # 6 (1,2,3,4) and 8 (1,1,2,1) disagree: off-diagonal coincidences 6/3 + 12/3 + 6/3 = 8.
    # Expected: sum over c != k of n_c n_k = 40^2 - (81+169+100+25+9) = 1216.
    # alpha = 1 - (n-1) * 8 / 1216 = 1 - 312/1216 = 0.7434 (the paper's 0.743).
    assert krippendorff_alpha(TEXTBOOK_UNITS) == pytest.approx(1 - 312 / 1216)
    assert krippendorff_alpha(TEXTBOOK_UNITS) == pytest.approx(0.743, abs=5e-4)


def test_alpha_textbook_ordinal():
    # The paper's ordinal figure is 0.815; the PyPI package krippendorff 0.9.0 gives
    # 0.8153875037548814 on the same data.
    assert krippendorff_alpha(TEXTBOOK_UNITS, "ordinal") == pytest.approx(0.8153875037548814)


def test_alpha_textbook_two_coders_binary():
    # Krippendorff (2011) section A: two observers, 10 units, no missing values.
    # Coincidences: o_00 = 10 (5 units of 0,0), o_11 = 2, o_01 = o_10 = 4; n_0 = 14, n_1 = 6, n = 20.
    # alpha = 1 - (n-1) * o_01 / (n_0 * n_1) = 1 - 19 * 4 / 84 = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    units = {u: {"A": a[u], "B": b[u]} for u in range(10)}
    assert krippendorff_alpha(units) == pytest.approx(1 - 76 / 84)
    assert krippendorff_alpha(units) == pytest.approx(0.095, abs=5e-4)


def test_alpha_ordinal_by_hand():
    # Units {1,1}, {2,3}, {3,3}: n_1 = 2, n_2 = 1, n_3 = 3, n = 6; o_23 = o_32 = 1.
    # Rank distances: d(1,2) = (2+1 - 3/2)^2 = 2.25, d(1,3) = (2+1+3 - 5/2)^2 = 12.25,
    # d(2,3) = (1+3 - 4/2)^2 = 4. Observed = 2 * 4 = 8.
    # Expected = 2 * (2*1*2.25 + 2*3*12.25 + 1*3*4) / (n-1) = 2 * 90 / 5 = 36; alpha = 1 - 8/36 = 7/9.
    units = {1: {"A": 1, "B": 1}, 2: {"A": 2, "B": 3}, 3: {"A": 3, "B": 3}}
    assert krippendorff_alpha(units, "ordinal") == pytest.approx(7 / 9)


def test_alpha_perfect_and_systematic_disagreement():
    assert krippendorff_alpha({1: {"A": "x", "B": "x"}, 2: {"A": "y", "B": "y", "C": "y"}}) == 1.0
    # Two coders always swapping two values: n_x = n_y = 2, off-diagonal 4,
    # alpha = 1 - 3 * 4 / (2 * 2 * 2) = -0.5 (below chance); the same for ordinal ranks.
    assert krippendorff_alpha({1: {"A": "x", "B": "y"}, 2: {"A": "y", "B": "x"}}) == pytest.approx(-0.5)
    assert krippendorff_alpha({1: {"A": 1, "B": 2}, 2: {"A": 2, "B": 1}}, "ordinal") == pytest.approx(-0.5)


def test_alpha_without_data_is_none():
    assert krippendorff_alpha({}) is None
    assert krippendorff_alpha({1: {"A": "x"}, 2: {"A": "y", "B": None}}) is None  # nothing pairable
    # Every value the same: no disagreement could be expected, alpha is undefined.
    assert krippendorff_alpha({1: {"A": "x", "B": "x"}}) is None
    with pytest.raises(ValueError):
        krippendorff_alpha({1: {"A": 1, "B": 2}}, "interval")


# --- agreement -------------------------------------------------------------------------------

PAIRWISE_SET = [
    # Prompt 1, completions 10 and 20, bob saw them in the other order: values 10, 10, 20.
    J(1, "alice", 1, (10, 20), "a"),
    J(2, "bob", 1, (20, 10), "b"),
    J(3, "carol", 1, (10, 20), "b"),
    # Prompt 2: two ties agree.
    J(4, "alice", 2, (30, 40), "tie"),
    J(5, "bob", 2, (30, 40), "tie"),
    # Prompt 3: one labeler only, not an item.
    J(6, "alice", 3, (50, 60), "a"),
    # A repeat is no first judgment: it must not change agreement.
    J(7, "alice", 1, (20, 10), "a", repeat_of=1),
]


def test_agreement_pairwise():
    # Prompt 1: alice's others are {10, 20}, no single majority, skipped; bob likewise;
    # carol's others are {10, 10}: she disagrees. Prompt 2: alice and bob each agree (tie = tie).
    # with_majority = 2/3 over 2 items.
    # Alpha: units {10,10,20} and {tie,tie}; n = 5 (n_10=2, n_20=1, n_tie=2); off-diagonal
    # coincidences in unit 1: 2*1*2 / (3-1) = 2; expected 5^2 - (4+1+4) = 16;
    # alpha = 1 - (5-1) * 2 / 16 = 0.5.
    result = agreement(PAIRWISE_SET)
    assert result["with_majority"] == pytest.approx(2 / 3)
    assert result["krippendorff_alpha"] == pytest.approx(0.5)
    assert result["items"] == 2
    assert result["per_labeler"] == {
        "alice": {"agreement_with_majority": 1.0, "items": 1},
        "bob": {"agreement_with_majority": 1.0, "items": 1},
        "carol": {"agreement_with_majority": 0.0, "items": 1},
    }
    assert result["ranking"] == {"krippendorff_alpha": None, "items": 0, "with_majority": None}


RANKING_SET = [
    # Prompt 5, completions 1, 2, 3. Tops: 1, 1, 2.
    J(11, "alice", 5, (1, 2, 3), ranking=(1, 2, 3)),
    J(12, "bob", 5, (3, 1, 2), ranking=(1, 3, 2)),
    J(13, "carol", 5, (2, 3, 1), ranking=(2, 1, 3)),
]


def test_agreement_ranking():
    # alice: others' tops {1, 2} tie, skipped; bob the same; carol: others' tops {1, 1}, she
    # put 2 first, disagrees. with_majority = 0/1.
    result = agreement(RANKING_SET)
    assert result["with_majority"] == 0.0
    assert result["items"] == 1
    assert result["per_labeler"]["carol"] == {"agreement_with_majority": 0.0, "items": 1}
    assert result["per_labeler"]["alice"] == {"agreement_with_majority": None, "items": 0}
    # Ordinal alpha on rank positions per completion: c1 {1,1,2}, c2 {2,3,1}, c3 {3,2,3}.
    units = {1: {"a": 1, "b": 1, "c": 2}, 2: {"a": 2, "b": 3, "c": 1}, 3: {"a": 3, "b": 2, "c": 3}}
    assert result["krippendorff_alpha"] == pytest.approx(krippendorff_alpha(units, "ordinal"))


def test_agreement_ranking_identical_is_perfect_and_excluded_completions_are_missing():
    same = [
        J(1, "alice", 5, (1, 2, 3), ranking=(1, 2, 3)),
        J(2, "bob", 5, (2, 1, 3), ranking=(1, 2, 3)),
        # carol marked completion 3 invalid: it has no rank from her.
        J(3, "carol", 5, (3, 2, 1), ranking=(1, 2)),
    ]
    result = agreement(same)
    assert result["krippendorff_alpha"] == 1.0
    assert result["with_majority"] == 1.0


def test_agreement_with_both_kinds_reports_the_pairwise_alpha():
    result = agreement(PAIRWISE_SET + RANKING_SET)
    assert result["krippendorff_alpha"] == pytest.approx(0.5)
    assert result["items"] == 3
    # Pooled: 2 agreeing of 3 pairwise, 0 of 1 ranking.
    assert result["with_majority"] == pytest.approx(2 / 4)
    assert result["pairwise"]["with_majority"] == pytest.approx(2 / 3)
    assert result["ranking"]["with_majority"] == 0.0


def test_agreement_without_data():
    assert agreement([]) == {
        "with_majority": None,
        "krippendorff_alpha": None,
        "items": 0,
        "pairwise": {"krippendorff_alpha": None, "items": 0, "with_majority": None},
        "ranking": {"krippendorff_alpha": None, "items": 0, "with_majority": None},
        "labels": {"krippendorff_alpha": None, "items": 0, "with_majority": None},
        "per_labeler": {},
    }
    lonely = agreement([J(1, "alice", 1, (10, 20), "a")])
    assert lonely["with_majority"] is None and lonely["items"] == 0
    assert lonely["per_labeler"] == {"alice": {"agreement_with_majority": None, "items": 0}}


def test_prompt_agreement():
    split = [J(20, "alice", 9, (1, 2), "a"), J(21, "bob", 9, (1, 2), "b")]
    # Prompt 1: 10, 10, 20 -> 2/3; prompt 2: tie, tie -> 1; prompt 3: one judgment, absent;
    # prompt 5: tops 1, 1, 2 -> 2/3; prompt 9: 1:1 split -> 0.5.
    assert prompt_agreement(PAIRWISE_SET + RANKING_SET + split) == pytest.approx(
        {1: 2 / 3, 2: 1.0, 5: 2 / 3, 9: 0.5}
    )
    assert prompt_agreement([]) == {}


# --- gold --------------------------------------------------------------------------------------

GOLD = {1: (10, 20), 2: (30, 40, 50)}


def test_gold_accuracy():
    judgments = [
        J(1, "alice", 1, (20, 10), "b"),  # picks 10, gold's winner: 1
        J(2, "alice", 2, (30, 40, 50), ranking=(30, 50, 40)),  # (30,50) yes (30,40) yes (50,40) no: 2/3
        J(3, "alice", 1, (10, 20), "b", repeat_of=1),  # repeat: not counted
        J(4, "alice", 7, (70, 80), "a"),  # not a gold prompt
        J(5, "bob", 1, (10, 20), "b"),  # picks 20: 0
        J(6, "carol", 1, (10, 20), "tie"),  # tie is wrong: 0
        J(7, "dave", 2, (30, 99, 40), ranking=(30, 99, 40)),  # 99 not in gold; (30,40) in order: 1
        J(8, "dave", 2, (30, 99), "b"),  # gold does not rank 99: not a gold item
        J(9, "erin", 7, (70, 80), "a"),
    ]
    # alice: (1 + 2/3) / 2 = 5/6.
    assert gold_accuracy(judgments, GOLD) == {
        "alice": {"gold_accuracy": pytest.approx(5 / 6), "gold_items": 2},
        "bob": {"gold_accuracy": 0.0, "gold_items": 1},
        "carol": {"gold_accuracy": 0.0, "gold_items": 1},
        "dave": {"gold_accuracy": 1.0, "gold_items": 1},
        "erin": {"gold_accuracy": None, "gold_items": 0},
    }
    assert gold_accuracy([], GOLD) == {}
    assert gold_accuracy(judgments[:1], {}) == {"alice": {"gold_accuracy": None, "gold_items": 0}}


# --- self-consistency -----------------------------------------------------------------------


def test_self_consistency_compares_completions_across_swapped_sides():
    judgments = [
        J(1, "alice", 1, (10, 20), "a"),  # 10
        J(2, "alice", 1, (20, 10), "b", repeat_of=1),  # other side, same completion 10: consistent
        J(3, "alice", 2, (30, 40), "a"),  # 30
        J(4, "alice", 2, (40, 30), "a", repeat_of=3),  # same side, other completion 40: not
        J(5, "bob", 3, (50, 60), "tie"),
        J(6, "bob", 3, (60, 50), "tie", repeat_of=5),  # tie matches tie
        J(7, "bob", 4, (70, 80), "a", repeat_of=999),  # original not given: left out
        J(8, "carol", 5, (1, 2, 3), ranking=(1, 2, 3)),
        J(9, "carol", 5, (3, 2, 1), ranking=(1, 3, 2), repeat_of=8),  # pairs (1,3) (1,2) kept, (3,2) flipped: 2/3
        J(10, "dave", 6, (90, 91), "b"),
    ]
    assert self_consistency(judgments) == {
        "alice": {"self_consistency": 0.5, "repeats": 2},
        "bob": {"self_consistency": 1.0, "repeats": 1},
        "carol": {"self_consistency": pytest.approx(2 / 3), "repeats": 1},
        "dave": {"self_consistency": None, "repeats": 0},
    }
    assert self_consistency([]) == {}


def test_tie_against_a_pick_is_inconsistent():
    judgments = [J(1, "alice", 1, (10, 20), "a"), J(2, "alice", 1, (20, 10), "tie", repeat_of=1)]
    assert self_consistency(judgments)["alice"] == {"self_consistency": 0.0, "repeats": 1}


# --- bias, speed, throughput ------------------------------------------------------------------

DAY1, DAY2 = datetime.date(2026, 11, 30), datetime.date(2026, 12, 1)
BIAS_SET = [
    J(1, "alice", 1, (10, 20), "a", seconds=1.0, day=DAY1, lengths={10: 100, 20: 50}),  # longer wins
    J(2, "alice", 2, (30, 40), "a", seconds=3.0, day=DAY1, lengths={30: 10, 40: 80}),  # shorter wins
    J(3, "alice", 3, (50, 60), "b", seconds=5.0, day=DAY2, lengths={50: 5, 60: 5}),  # equal: left out
    J(4, "alice", 4, (70, 80), "tie", day=DAY2),  # not timed
    J(5, "alice", 5, (90, 91), "both_bad", seconds=0.5, day=DAY2),
    J(6, "alice", 1, (20, 10), "a", seconds=0.1, day=DAY2, repeat_of=1),  # repeat: not in bias
    J(7, "bob", 6, (1, 2, 3), ranking=(2, 1, 3), seconds=10.0, day=DAY1),
    J(8, "bob", 7, (4, 5), "b"),  # no day, not timed
]


def test_bias_per_labeler_and_overall():
    result = bias(BIAS_SET, SETTINGS)
    # alice, first judgments 1-5: a/b choices a, a, b -> left 2/3; length contests: won by the
    # longer once of twice -> 1/2; tie 1/5, both bad 1/5 of 5 pairwise; median of 1, 3, 5, 0.5
    # is (1+3)/2 = 2; under 2 seconds: 1.0 and 0.5 -> 2.
    assert result["per_labeler"]["alice"] == {
        "judgments": 5,
        "left_rate": pytest.approx(2 / 3),
        "longer_wins_rate": 0.5,
        "tie_rate": 0.2,
        "both_bad_rate": 0.2,
        "median_seconds": 2.0,
        "timed": 4,
        "fast": 2,
    }
    # bob: one ranking and one "b" without lengths.
    assert result["per_labeler"]["bob"] == {
        "judgments": 2,
        "left_rate": 0.0,
        "longer_wins_rate": None,
        "tie_rate": 0.0,
        "both_bad_rate": 0.0,
        "median_seconds": 10.0,
        "timed": 1,
        "fast": 0,
    }
    # Overall: a/b choices a, a, b, b -> 1/2; tie 1/6 of 6 pairwise; median of 0.5, 1, 3, 5, 10 = 3.
    overall = result["overall"]
    assert overall["judgments"] == 7
    assert overall["left_rate"] == 0.5
    assert overall["longer_wins_rate"] == 0.5
    assert overall["tie_rate"] == pytest.approx(1 / 6)
    assert overall["median_seconds"] == 3.0
    assert overall["fast"] == 2


def test_bias_without_data():
    empty = bias([], SETTINGS)
    assert empty["per_labeler"] == {}
    assert empty["overall"] == {
        "judgments": 0,
        "left_rate": None,
        "longer_wins_rate": None,
        "tie_rate": None,
        "both_bad_rate": None,
        "median_seconds": None,
        "timed": 0,
        "fast": 0,
    }


def test_fast_judgment_ids_include_repeats():
    assert fast_judgment_ids(BIAS_SET, SETTINGS) == {1, 5, 6}
    assert fast_judgment_ids(BIAS_SET, QualitySettings(min_seconds=1.0)) == {5, 6}
    assert fast_judgment_ids([], SETTINGS) == set()


def test_throughput_counts_repeats_and_skips_undated():
    assert throughput(BIAS_SET) == {
        "per_day": [{"day": "2026-11-30", "judgments": 3}, {"day": "2026-12-01", "judgments": 4}],
        "per_labeler_day": [
            {"username": "alice", "day": "2026-11-30", "judgments": 2},
            {"username": "bob", "day": "2026-11-30", "judgments": 1},
            {"username": "alice", "day": "2026-12-01", "judgments": 4},
        ],
    }
    assert throughput([]) == {"per_day": [], "per_labeler_day": []}


# --- flags and the report ---------------------------------------------------------------------


def test_flags():
    assert flags({"gold_accuracy": 0.5, "gold_items": 4}, SETTINGS) == ["gold accuracy 50% < 70% on 4 gold items"]
    assert flags({"gold_accuracy": 0.5, "gold_items": 2}, SETTINGS) == []  # too few gold items
    assert flags({"gold_accuracy": 0.7, "gold_items": 10}, SETTINGS) == []  # at the bar is fine
    assert flags({"gold_accuracy": None, "gold_items": 0}, SETTINGS) == []
    assert flags({"timed": 6, "fast": 3}, SETTINGS) == ["3 of 6 judgments faster than 2s"]  # half
    assert flags({"timed": 5, "fast": 2}, SETTINGS) == []
    assert flags({"timed": 4, "fast": 4}, SETTINGS) == []  # too few timed judgments


def test_quality_report():
    judgments = PAIRWISE_SET + [
        # dave rushes: 5 judgments under 2 seconds, and misses gold prompt 1 three times.
        J(100 + i, "dave", 1 if i < 3 else 20 + i, (10, 20) if i < 3 else (200 + i, 300 + i), "b", seconds=0.5)
        for i in range(5)
    ]
    report = quality_report(judgments, {1: (10, 20)}, SETTINGS)
    json.dumps(report)  # the API returns it as is
    assert set(report) == {"agreement", "labelers", "overall", "throughput"}
    assert {"with_majority", "krippendorff_alpha", "items"} <= set(report["agreement"])
    rows = {row["username"]: row for row in report["labelers"]}
    assert [row["username"] for row in report["labelers"]] == ["alice", "bob", "carol", "dave"]
    for row in report["labelers"]:
        assert {
            "username", "judgments", "agreement_with_majority", "gold_accuracy", "gold_items",
            "self_consistency", "repeats", "left_rate", "longer_wins_rate", "tie_rate",
            "both_bad_rate", "median_seconds", "fast", "flagged", "flag_reasons",
        } <= set(row)

    # Prompt 1 now has alice 10, bob 10, carol 20 and dave 20 (earliest of his three):
    # every judgment's others split 1:2 the other way, e.g. alice's others 10, 20, 20 -> 20.
    assert report["agreement"]["items"] == 2
    # So prompt 1 gives 0 of 4 and prompt 2 (tie, tie) 2 of 2: 2/6.
    assert report["agreement"]["with_majority"] == pytest.approx(1 / 3)
    assert rows["carol"]["agreement_with_majority"] == 0.0
    assert rows["dave"]["gold_accuracy"] == 0.0 and rows["dave"]["gold_items"] == 3
    assert rows["dave"]["flagged"] is True
    assert rows["dave"]["flag_reasons"] == [
        "gold accuracy 0% < 70% on 3 gold items",
        "5 of 5 judgments faster than 2s",
    ]
    assert rows["alice"]["gold_accuracy"] == 1.0 and rows["alice"]["flagged"] is False
    # alice's repeat (id 7) picks 20 after picking 10: inconsistent.
    assert rows["alice"]["self_consistency"] == 0.0 and rows["alice"]["repeats"] == 1
    assert rows["alice"]["judgments"] == 3
    assert report["overall"]["judgments"] == 11


def test_quality_report_without_data():
    report = quality_report([], {}, SETTINGS)
    assert report["agreement"]["with_majority"] is None
    assert report["agreement"]["krippendorff_alpha"] is None
    assert report["agreement"]["items"] == 0
    assert report["labelers"] == []
    assert report["throughput"] == {"per_day": [], "per_labeler_day": []}


def test_pairwise_alpha_is_chance_corrected_across_items():
    """Ten items seen by two labelers: ann always picks the completion with the lower id, bob on
    five of them. 50% agreement on a two-way choice is chance level, not 0.5 alpha.

    Coded per item as "completion 1"/"completion 2": ann 10 x c1; bob 5 x c1, 5 x c2; n = 20,
    c1 15, c2 5. Do = 5 units x 2 ordered disagreeing pairs / 20 = 0.5;
    De = 2 x 15 x 5 / (20 x 19) = 0.3947; alpha = 1 - 0.5 / 0.3947 = -0.2667."""
    judgments = []
    for item in range(10):
        low, high = 100 + 2 * item, 101 + 2 * item
        judgments.append(JudgmentFacts(id=2 * item + 1, labeler="ann", prompt_id=item, shown=(high, low), choice="b"))
        bob_choice = "a" if item < 5 else "b"  # bob sees the low id first: "a" = low on 5 items
        judgments.append(JudgmentFacts(id=2 * item + 2, labeler="bob", prompt_id=item, shown=(low, high),
                                       choice=bob_choice if item < 5 else "b"))  # fmt: skip
    result = agreement(judgments)
    assert result["with_majority"] == pytest.approx(0.5)
    assert result["krippendorff_alpha"] == pytest.approx(1 - 0.5 / (150 / 380))


def test_classify_agreement_compares_the_labels_each_completion_got():
    """Two completions of one prompt labelled by ann, bob and cat (first judgments):
    completion 1: ok, ok, ok; completion 2: bad, bad, ok. With the majority of the others:
    c1 3 of 3; c2 ann (others bad, ok: no majority, skipped), bob (ann bad, cat ok: skipped),
    cat (others bad, bad -> bad; cat said ok: disagrees) -> 3 of 4 = 0.75.
    Alpha (nominal): units c1 {ok x3}, c2 {bad, bad, ok}; n = 6, ok 4, bad 2. Observed
    off-diagonal: c2 has 2 x (2 x 1) ordered bad/ok pairs = 4, weighted 1/(3-1): 2.
    Expected: 2 x 4 x 2 = 16. alpha = 1 - (n - 1) x 2 / 16 = 1 - 10/16 = 0.375."""
    labels = {"ann": {1: "ok", 2: "bad"}, "bob": {1: "ok", 2: "bad"}, "cat": {1: "ok", 2: "ok"}}
    judgments = [JudgmentFacts(id=i, labeler=who, prompt_id=7, shown=(1, 2), labels=given)
                 for i, (who, given) in enumerate(labels.items(), 1)]  # fmt: skip
    result = agreement(judgments)
    assert result["with_majority"] == pytest.approx(0.75) and result["items"] == 2
    assert result["krippendorff_alpha"] == pytest.approx(0.375)
    assert result["labels"]["items"] == 2 and result["pairwise"]["items"] == 0
    assert result["per_labeler"]["cat"] == {"agreement_with_majority": 0.5, "items": 2}
    from annotator.quality import prompt_agreement

    assert prompt_agreement(judgments) == {7: pytest.approx(5 / 6)}  # c1 3 of 3, c2 2 of 3
