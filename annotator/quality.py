"""Quality-control figures for labelers: agreement, gold accuracy, self-consistency, bias, throughput.

Everything here works on plain data (``JudgmentFacts`` built from the database by the caller) so
the arithmetic can be checked by hand and tested without Django. Conventions shared by every
function:

- A *first* judgment has ``repeat_of`` None; a *repeat* re-shows an earlier item with the sides
  swapped to measure self-consistency. Agreement, gold accuracy and bias use first judgments only,
  so a repeat never counts twice; throughput and fast judgments count repeats, they are work done.
- A pairwise judgment is read by completion, never by screen side (see ``pairwise_value``): "a"
  on one screen and "b" on the swapped screen are the same answer when they pick the same text.
- An *item* is what a labeler was asked about: the prompt and the set of completions shown. Two
  judgments are compared only when they answer the same item; if a labeler answered an item twice
  as a first judgment, the earlier one (lower id) counts.
- A figure with no data is None, never 0 and never an error; counts that go with it say how many
  judgments it rests on.
- Per-labeler results name every labeler that appears in the judgments given, with None and 0
  where that labeler has no data for the figure.
"""

from __future__ import annotations

import datetime
import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

PAIRWISE = "pairwise"
RANKING = "ranking"
LABELS = "labels"  # classify mode


@dataclass(frozen=True)
class JudgmentFacts:
    id: int
    labeler: str  # username
    prompt_id: int
    shown: tuple[int, ...]  # completion ids in display order (A, B, ...)
    choice: str = ""  # pairwise: "a" | "b" | "tie" | "both_bad"; "" otherwise
    ranking: tuple[int, ...] = ()  # ranking mode: completion ids best first (excluded ones left out)
    seconds: float | None = None  # time spent, None when not measured
    day: datetime.date | None = None  # the day it was made (UTC)
    repeat_of: int | None = None  # id of the judgment this one repeats with sides swapped; None for a first judgment
    lengths: Mapping[int, int] = field(default_factory=dict)  # completion id -> length in characters, for the shown ones
    labels: Mapping[int, str] = field(default_factory=dict)  # classify mode: completion id -> the label given


@dataclass(frozen=True)
class QualitySettings:
    gold_min_accuracy: float = 0.7
    min_seconds: float = 2.0
    min_gold: int = 3  # gold judgments needed before a labeler can be flagged on gold


# Fewer timed judgments than this say too little about a labeler's speed to flag them.
MIN_TIMED_FOR_FAST_FLAG = 5


# ---------------------------------------------------------------------------------------------
# Reading one judgment


def pairwise_value(j: JudgmentFacts) -> int | str | None:
    """What a pairwise judgment says, by completion: the winning completion id for "a"/"b",
    "tie" or "both_bad" as themselves; None for a ranking judgment or when there is no choice."""
    if j.ranking:
        return None
    if j.choice == "a":
        return j.shown[0]
    if j.choice == "b":
        return j.shown[1]
    if j.choice in ("tie", "both_bad"):
        return j.choice
    return None


def _kind(j: JudgmentFacts) -> str | None:
    if j.ranking:
        return RANKING
    if pairwise_value(j) is not None:
        return PAIRWISE
    return None


def _item(j: JudgmentFacts) -> tuple:
    """The item a judgment answers: its kind, prompt and the set of completions shown."""
    return (_kind(j), j.prompt_id, frozenset(j.shown))


def _first_judgments(judgments: Iterable[JudgmentFacts]) -> list[JudgmentFacts]:
    return sorted((j for j in judgments if j.repeat_of is None), key=lambda j: j.id)


def _labelers(judgments: Iterable[JudgmentFacts]) -> list[str]:
    return sorted({j.labeler for j in judgments})


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _concordance(ranking: tuple[int, ...], reference: tuple[int, ...]) -> float | None:
    """Share of the pairs of completions both orderings rank that they put in the same order;
    None when they share fewer than two completions."""
    position = {c: i for i, c in enumerate(reference)}
    common = [c for c in ranking if c in position]
    pairs = [(common[i], common[k]) for i in range(len(common)) for k in range(i + 1, len(common))]
    # ``common`` keeps the ranking's order, so a pair is concordant when the reference agrees.
    return _share(sum(position[hi] < position[lo] for hi, lo in pairs), len(pairs))


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha


def krippendorff_alpha(
    units: Mapping[Hashable, Mapping[Hashable, Hashable | float]], level: str = "nominal"
) -> float | None:
    """Krippendorff's alpha: 1 - observed disagreement / disagreement expected by chance.

    ``units`` maps each unit to {coder: value}; a None value is missing. Only units with two or
    more values are pairable and count. ``level`` is "nominal" (any two different values disagree
    equally) or "ordinal" (values must be orderable; the distance between two values grows with
    how many pairable values lie between them, Krippendorff's rank-based metric). 1.0 is perfect
    agreement, 0 agreement at chance level. None when no unit is pairable or when every pairable
    value is the same (no disagreement could be expected, so alpha is undefined).
    """
    if level not in ("nominal", "ordinal"):
        raise ValueError(f"unknown level {level!r}: use 'nominal' or 'ordinal'")

    # Coincidence matrix: every ordered pair of values from two different coders in a unit,
    # weighted 1 / (m - 1) so each unit with m values contributes m pairable values in all.
    coincidences: dict[tuple, float] = defaultdict(float)
    for coded in units.values():
        counts = Counter(v for v in coded.values() if v is not None)
        m = sum(counts.values())
        if m < 2:
            continue
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                if pairs:
                    coincidences[(c, k)] += pairs / (m - 1)
    if not coincidences:
        return None

    totals: dict[Hashable, float] = defaultdict(float)  # n_c: pairable values equal to c
    for (c, _k), o in coincidences.items():
        totals[c] += o
    n = sum(totals.values())

    if level == "nominal":

        def distance(c, k):
            return 0.0 if c == k else 1.0

    else:
        ordered = sorted(totals)
        # cumulative[i] = n of the values ranked below ordered[i]
        cumulative = [0.0]
        for value in ordered:
            cumulative.append(cumulative[-1] + totals[value])
        index = {value: i for i, value in enumerate(ordered)}

        def distance(c, k):
            lo, hi = sorted((index[c], index[k]))
            # sum of n_g for g from c to k inclusive, less half of the two ends
            between = cumulative[hi + 1] - cumulative[lo] - (totals[ordered[lo]] + totals[ordered[hi]]) / 2
            return between**2

    observed = sum(o * distance(c, k) for (c, k), o in coincidences.items())
    expected = sum(totals[c] * totals[k] * distance(c, k) for c in totals for k in totals) / (n - 1)
    if expected == 0:
        return None
    return 1.0 - observed / expected


# ---------------------------------------------------------------------------------------------
# Agreement between labelers


def _answers_by_item(judgments: Iterable[JudgmentFacts]) -> dict[tuple, dict[str, JudgmentFacts]]:
    """First judgments grouped by item, one per labeler (the earliest), items of 2+ labelers only."""
    by_item: dict[tuple, dict[str, JudgmentFacts]] = defaultdict(dict)
    for j in _first_judgments(judgments):
        if _kind(j) is not None:
            by_item[_item(j)].setdefault(j.labeler, j)
    return {item: answers for item, answers in by_item.items() if len(answers) >= 2}


def _answer(j: JudgmentFacts) -> Hashable:
    """The single value compared against the majority: the pairwise value, or a ranking's top."""
    return j.ranking[0] if j.ranking else pairwise_value(j)


def _pairwise_category(j: JudgmentFacts) -> str | None:
    """A pairwise answer coded on categories every item shares, for alpha: which completion won,
    named by its place among the item's completions in id order (never by screen side), or
    "tie" / "both_bad". Coding by completion id would give each item its own categories, so
    chance agreement would look like almost none and alpha would come out near raw agreement."""
    value = pairwise_value(j)
    if value is None or isinstance(value, str):
        return value
    return f"completion {sorted(j.shown).index(value) + 1}"


def _single_most_common(values: list[Hashable]) -> Hashable | None:
    ranked = Counter(values).most_common()
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def agreement(judgments: Iterable[JudgmentFacts]) -> dict:
    """How far labelers agree with each other on the items two or more of them answered.

    - ``with_majority``: share of judgments that give the same answer as the most common answer
      of the OTHER labelers on that item (pairwise: the value by completion, so tie and both_bad
      are answers of their own; ranking: the completion ranked first). A judgment is left out
      when the others have no single most common answer.
    - ``krippendorff_alpha``: chance-corrected agreement. Pairwise items at the nominal level
      (unit = item, value = which completion won as _pairwise_category codes it); ranking items at the ordinal level (unit = one
      completion of an item, value = the rank position 1 = best each labeler gave it; a
      completion marked invalid is missing). The pairwise alpha is reported when there are
      pairwise items, else the ranking one; both are under ``pairwise`` / ``ranking``.
    - ``items``: the number of items with two or more labelers, both kinds together.
    - ``per_labeler``: {username: {"agreement_with_majority", "items"}} where items counts that
      labeler's judgments that were compared with a majority.
    """
    judgments = list(judgments)
    answered = _answers_by_item(judgments)

    per_kind = {}
    for kind in (PAIRWISE, RANKING):
        units: dict[Hashable, dict[str, Hashable]] = {}
        for (item_kind, prompt_id, shown), answers in answered.items():
            if item_kind != kind:
                continue
            if kind == PAIRWISE:
                units[(prompt_id, shown)] = {who: _pairwise_category(j) for who, j in answers.items()}
            else:
                for completion in shown:
                    units[(prompt_id, shown, completion)] = {
                        who: j.ranking.index(completion) + 1
                        for who, j in answers.items()
                        if completion in j.ranking
                    }
        level = "nominal" if kind == PAIRWISE else "ordinal"
        per_kind[kind] = {
            "krippendorff_alpha": krippendorff_alpha(units, level),
            "items": sum(1 for item in answered if item[0] == kind),
        }

    compared: dict[str, list[bool]] = defaultdict(list)
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for item, answers in answered.items():
        for who, j in answers.items():
            majority = _single_most_common([_answer(o) for other, o in answers.items() if other != who])
            if majority is not None:
                agrees = _answer(j) == majority
                compared[who].append(agrees)
                by_kind[item[0]].append(agrees)
    for kind, figures in per_kind.items():
        figures["with_majority"] = _share(sum(by_kind[kind]), len(by_kind[kind]))

    everyone = [agrees for results in compared.values() for agrees in results]
    labelled = label_agreement(judgments)
    per_kind[LABELS] = {key: labelled[key] for key in ("krippendorff_alpha", "items", "with_majority")}
    if not answered and labelled["items"]:  # a classify project: its labels are what agreement means
        return {**per_kind[LABELS], PAIRWISE: per_kind[PAIRWISE], RANKING: per_kind[RANKING], LABELS: per_kind[LABELS],
                "per_labeler": labelled["per_labeler"]}  # fmt: skip
    pairwise_alpha = per_kind[PAIRWISE]["krippendorff_alpha"]
    return {
        "with_majority": _share(sum(everyone), len(everyone)),
        "krippendorff_alpha": pairwise_alpha if per_kind[PAIRWISE]["items"] else per_kind[RANKING]["krippendorff_alpha"],
        "items": len(answered),
        PAIRWISE: per_kind[PAIRWISE],
        RANKING: per_kind[RANKING],
        LABELS: per_kind[LABELS],
        "per_labeler": {
            who: {"agreement_with_majority": _share(sum(compared[who]), len(compared[who])), "items": len(compared[who])}
            for who in _labelers(judgments)
        },
    }


def _labels_by_completion(judgments: Iterable[JudgmentFacts]) -> dict[tuple, dict[str, str]]:
    """Classify mode: (prompt id, completion id) -> {labeler: label}, first judgments (the
    earliest per labeler), completions labelled by two or more labelers only."""
    units: dict[tuple, dict[str, str]] = defaultdict(dict)
    for j in _first_judgments(judgments):
        for completion, label in j.labels.items():
            units[(j.prompt_id, completion)].setdefault(j.labeler, label)
    return {unit: answers for unit, answers in units.items() if len(answers) >= 2}


def label_agreement(judgments: Iterable[JudgmentFacts]) -> dict:
    """Classify mode's agreement: a unit is one completion of a prompt, its values the labels
    the labelers gave it (nominal; an excluded completion is missing). ``with_majority`` is the
    share of labels equal to the most common label the OTHER labelers gave that completion;
    ``items`` counts completions labelled by two or more."""
    judgments = list(judgments)
    units = _labels_by_completion(judgments)
    compared: dict[str, list[bool]] = defaultdict(list)
    for answers in units.values():
        for who, label in answers.items():
            majority = _single_most_common([other for name, other in answers.items() if name != who])
            if majority is not None:
                compared[who].append(label == majority)
    everyone = [agrees for results in compared.values() for agrees in results]
    return {
        "with_majority": _share(sum(everyone), len(everyone)),
        "krippendorff_alpha": krippendorff_alpha(units, "nominal"),
        "items": len(units),
        "per_labeler": {
            who: {"agreement_with_majority": _share(sum(compared[who]), len(compared[who])), "items": len(compared[who])}
            for who in _labelers(judgments)
        },
    }


def prompt_agreement(judgments: Iterable[JudgmentFacts]) -> dict[int, float]:
    """{prompt_id: share of its judgments that give their item's most common answer}, for the
    prompts with an item answered by two or more labelers (first judgments). When a prompt was
    always shown with the same completions this is the share agreeing with the prompt's majority;
    a 1:1 split gives 0.5. In classify mode each completion labelled by two or more counts as an
    item. Used to export only prompts labelers agreed on."""
    judgments = list(judgments)
    agreeing: dict[int, int] = defaultdict(int)
    total: dict[int, int] = defaultdict(int)
    for (_, prompt_id, _), answers in _answers_by_item(judgments).items():
        counts = Counter(_answer(j) for j in answers.values())
        agreeing[prompt_id] += counts.most_common(1)[0][1]
        total[prompt_id] += len(answers)
    for (prompt_id, _), answers in _labels_by_completion(judgments).items():  # classify: per completion
        agreeing[prompt_id] += Counter(answers.values()).most_common(1)[0][1]
        total[prompt_id] += len(answers)
    return {prompt_id: agreeing[prompt_id] / total[prompt_id] for prompt_id in sorted(total)}


# ---------------------------------------------------------------------------------------------
# Gold and self-consistency


def _gold_score(j: JudgmentFacts, expected: tuple[int, ...]) -> float | None:
    """1/0 for a pairwise judgment (tie and both_bad are wrong), the share of pairs in gold's order
    for a ranking; None when gold does not rank the completions the judgment orders."""
    if j.ranking:
        return _concordance(j.ranking, expected)
    value = pairwise_value(j)
    if value is None or len(j.shown) != 2 or not all(c in expected for c in j.shown):
        return None
    gold_winner = min(j.shown, key=expected.index)
    return 1.0 if value == gold_winner else 0.0


def gold_accuracy(judgments: Iterable[JudgmentFacts], gold: Mapping[int, tuple[int, ...]]) -> dict:
    """{username: {"gold_accuracy", "gold_items"}}: the mean score of a labeler's first judgments
    on gold prompts (``gold``: prompt_id -> completion ids best first). A pairwise judgment scores
    1 when it picks the completion gold ranks higher of the two shown, else 0 (tie and both_bad
    score 0); a ranking scores the share of its pairs of gold-ranked completions in gold's order.
    Judgments whose completions gold does not rank are not gold items."""
    judgments = list(judgments)
    scores: dict[str, list[float]] = defaultdict(list)
    for j in _first_judgments(judgments):
        if j.prompt_id in gold:
            score = _gold_score(j, tuple(gold[j.prompt_id]))
            if score is not None:
                scores[j.labeler].append(score)
    return {
        who: {"gold_accuracy": _mean(scores[who]), "gold_items": len(scores[who])} for who in _labelers(judgments)
    }


def self_consistency(judgments: Iterable[JudgmentFacts]) -> dict:
    """{username: {"self_consistency", "repeats"}}: the share of a labeler's repeats that give the
    same answer as the judgment they repeat. Pairwise answers are compared by completion, so
    picking the other screen side after the swap but the same completion is consistent, and a tie
    matches a tie. A ranking repeat scores the share of pairs it orders as the original did.
    Repeats whose original is not among ``judgments`` or has no answer are left out."""
    judgments = list(judgments)
    by_id = {j.id: j for j in judgments}
    scores: dict[str, list[float]] = defaultdict(list)
    for j in judgments:
        original = by_id.get(j.repeat_of) if j.repeat_of is not None else None
        if original is None:
            continue
        if j.ranking and original.ranking:
            score = _concordance(j.ranking, original.ranking)
        elif pairwise_value(j) is not None and pairwise_value(original) is not None:
            score = 1.0 if pairwise_value(j) == pairwise_value(original) else 0.0
        else:
            score = None
        if score is not None:
            scores[j.labeler].append(score)
    return {
        who: {"self_consistency": _mean(scores[who]), "repeats": len(scores[who])} for who in _labelers(judgments)
    }


# ---------------------------------------------------------------------------------------------
# Bias, speed and throughput


def _bias_figures(judgments: list[JudgmentFacts], settings: QualitySettings) -> dict:
    sides = [j for j in judgments if not j.ranking and j.choice in ("a", "b")]
    pairwise = [j for j in judgments if _kind(j) == PAIRWISE]
    length_contests = []  # True when the longer completion won, for a/b choices of unequal lengths
    for j in sides:
        winner, loser = (j.shown[0], j.shown[1]) if j.choice == "a" else (j.shown[1], j.shown[0])
        if winner in j.lengths and loser in j.lengths and j.lengths[winner] != j.lengths[loser]:
            length_contests.append(j.lengths[winner] > j.lengths[loser])
    timed = [j.seconds for j in judgments if j.seconds is not None]
    return {
        "judgments": len(judgments),
        "left_rate": _share(sum(j.choice == "a" for j in sides), len(sides)),
        "longer_wins_rate": _share(sum(length_contests), len(length_contests)),
        "tie_rate": _share(sum(j.choice == "tie" for j in pairwise), len(pairwise)),
        "both_bad_rate": _share(sum(j.choice == "both_bad" for j in pairwise), len(pairwise)),
        "median_seconds": statistics.median(timed) if timed else None,
        "timed": len(timed),
        "fast": sum(s < settings.min_seconds for s in timed),
    }


def bias(judgments: Iterable[JudgmentFacts], settings: QualitySettings = QualitySettings()) -> dict:
    """{"overall": {...}, "per_labeler": {username: {...}}} over first judgments:

    - ``left_rate``: share of "a" (the left / first shown) among the a/b choices; 0.5 is unbiased.
    - ``longer_wins_rate``: share of a/b choices whose winner is strictly longer than the loser
      (pairs of equal or unknown length left out).
    - ``tie_rate`` / ``both_bad_rate``: share of pairwise judgments that are a tie / both bad.
    - ``median_seconds``: median time spent, over the judgments that were timed (``timed``).
    - ``fast``: timed judgments faster than ``settings.min_seconds``; ``judgments``: count.
    """
    judgments = list(judgments)
    first = _first_judgments(judgments)
    return {
        "overall": _bias_figures(first, settings),
        "per_labeler": {
            who: _bias_figures([j for j in first if j.labeler == who], settings) for who in _labelers(judgments)
        },
    }


def fast_judgment_ids(judgments: Iterable[JudgmentFacts], settings: QualitySettings = QualitySettings()) -> set[int]:
    """Ids of the judgments (repeats included) timed faster than ``settings.min_seconds``."""
    return {j.id for j in judgments if j.seconds is not None and j.seconds < settings.min_seconds}


def throughput(judgments: Iterable[JudgmentFacts]) -> dict:
    """Judgments made per day and per labeler per day (repeats count: they are work done;
    judgments without a day are left out). Days are "YYYY-MM-DD", lists sorted by day, then
    username."""
    per_day: Counter = Counter()
    per_labeler_day: Counter = Counter()
    for j in judgments:
        if j.day is not None:
            per_day[j.day] += 1
            per_labeler_day[(j.day, j.labeler)] += 1
    return {
        "per_day": [{"day": day.isoformat(), "judgments": n} for day, n in sorted(per_day.items())],
        "per_labeler_day": [
            {"username": who, "day": day.isoformat(), "judgments": n}
            for (day, who), n in sorted(per_labeler_day.items())
        ],
    }


# ---------------------------------------------------------------------------------------------
# Flags and the report


def flags(figures: Mapping, settings: QualitySettings = QualitySettings()) -> list[str]:
    """Why one labeler needs a look, from their row of figures (as in ``quality_report``): gold
    accuracy under ``gold_min_accuracy`` on at least ``min_gold`` gold items, or half or more of at
    least 5 timed judgments faster than ``min_seconds``. An empty list means not flagged."""
    reasons = []
    accuracy = figures.get("gold_accuracy")
    gold_items = figures.get("gold_items", 0)
    if accuracy is not None and gold_items >= settings.min_gold and accuracy < settings.gold_min_accuracy:
        reasons.append(f"gold accuracy {accuracy:.0%} < {settings.gold_min_accuracy:.0%} on {gold_items} gold items")
    timed, fast = figures.get("timed", 0), figures.get("fast", 0)
    if timed >= MIN_TIMED_FOR_FAST_FLAG and fast * 2 >= timed:
        reasons.append(f"{fast} of {timed} judgments faster than {settings.min_seconds:g}s")
    return reasons


def quality_report(
    judgments: Iterable[JudgmentFacts],
    gold: Mapping[int, tuple[int, ...]] | None = None,
    settings: QualitySettings = QualitySettings(),
) -> dict:
    """Every figure above in one JSON-ready dict: overall agreement, one row per labeler (sorted by
    username, flagged with reasons), the overall bias figures and throughput."""
    judgments = list(judgments)
    agreed = agreement(judgments)
    golds = gold_accuracy(judgments, gold or {})
    repeats = self_consistency(judgments)
    biases = bias(judgments, settings)

    rows = []
    for who in _labelers(judgments):
        row = {"username": who}
        row.update(biases["per_labeler"][who])
        row["agreement_with_majority"] = agreed["per_labeler"][who]["agreement_with_majority"]
        row["agreement_items"] = agreed["per_labeler"][who]["items"]
        row.update(golds[who])
        row.update(repeats[who])
        row["flag_reasons"] = flags(row, settings)
        row["flagged"] = bool(row["flag_reasons"])
        rows.append(row)

    return {
        "agreement": {
            key: agreed[key] for key in ("with_majority", "krippendorff_alpha", "items", PAIRWISE, RANKING, LABELS)
        },
        "labelers": rows,
        "overall": biases["overall"],
        "throughput": throughput(judgments),
    }
