"""The promotion gate's statistics: plain functions on per-pair correctness, no Django, no torch.

A held-out pair is scored 1 when the model gives chosen the higher reward, 0 when rejected, and
0.5 on an exact tie (as scoring.pairwise_accuracy counts it), so an accuracy here is the same
number the trainer reports. Two versions are compared on the SAME pairs, so the test is paired:
only the pairs where they disagree carry evidence (McNemar).
"""

from __future__ import annotations

import math
from collections import Counter
from statistics import NormalDist
from typing import Hashable, Mapping, Sequence


def pair_correctness(chosen: Sequence[float], rejected: Sequence[float]) -> list[float]:
    """1 / 0.5 / 0 per pair: chosen above, level with, or below rejected."""
    return [1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(chosen, rejected)]


def wilson_interval(successes: float, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a proportion; stays inside [0, 1] and is sound for small n and
    accuracies near 0 or 1, where the normal approximation is not. (nan, nan) when n is 0."""
    if n <= 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant pairs (one model right where the
    other is not, each way): under "equally accurate" each discordant pair goes either way with
    probability 1/2, so min(b, c) is Binomial(b + c, 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def compare(new: Sequence[float], current: Sequence[float], confidence: float) -> dict:
    """Paired comparison of two versions' correctness on the same pairs.

    `b` counts pairs the new version scores better on than the current one, `c` the reverse (a
    tie against a miss counts as better). `worse` is true only when the new version is behind
    and the exact McNemar test says so at `confidence` (p < 1 - confidence).
    """
    if len(new) != len(current):
        raise ValueError(f"not paired: {len(new)} pairs against {len(current)}")
    b = sum(1 for x, y in zip(new, current) if x > y)
    c = sum(1 for x, y in zip(new, current) if y > x)
    p_value = mcnemar_exact(b, c)
    return {"new_better": b, "current_better": c, "p_value": p_value, "worse": c > b and p_value < 1 - confidence}


def best_of_k(rankings: Sequence[Sequence[Hashable]], reward: Mapping[Hashable, float]) -> tuple[int, int]:
    """(hits, n) over rankings (keys best first): a hit when the ranking's top scores strictly
    above every other ranked item, as RewardBench 2's best-of-K counts it."""
    hits = n = 0
    for ranking in rankings:
        if len(ranking) < 2:
            continue
        n += 1
        top = reward[ranking[0]]
        hits += all(top > reward[other] for other in ranking[1:])
    return hits, n


def summary(correct: Sequence[float], confidence: float) -> dict:
    """Pairwise accuracy of per-pair correctness, as `rate` gives it."""
    return rate(sum(correct), len(correct), confidence)


def rate(successes: float, n: int, confidence: float, unit: str = "pairs") -> dict:
    """An accuracy, its Wilson interval and `shown`: the one text of it that the versions table,
    the run page and the gate's message all quote, formatted here once so that none of them
    rounds it differently."""
    accuracy = successes / n if n else math.nan
    low, high = wilson_interval(successes, n, confidence)
    if n:
        shown = f"{accuracy:.3f} ({confidence:.0%} interval {low:.3f}–{high:.3f}, {n} {unit})"
    else:
        shown = f"– (no held-out {unit})"
    return {"accuracy": accuracy, "low": low, "high": high, "n": n, "shown": shown}


def majority_share(labels: Sequence[Hashable]) -> float:
    """The share of the most common label: the accuracy of always answering it, the chance level a
    classifier must beat. nan when there are no labels."""
    if not labels:
        return math.nan
    return max(Counter(labels).values()) / len(labels)


def beats_chance(accuracy: Mapping, chance: float) -> bool:
    """Whether an accuracy (as `rate` gives it) is above `chance` at its confidence: the Wilson
    interval's lower bound above it. False without items (the bound is nan)."""
    return accuracy["low"] > chance
