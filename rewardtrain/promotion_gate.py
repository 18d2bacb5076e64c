"""The promotion gate's decision: scoring the held-out evidence with the new and the current version and deciding whether the new one becomes current, waits for evidence, or is rejected (the statistics are in gate.py)."""

import logging

from django.conf import settings

from rewardtrain import checkpoint_store
from rewardtrain import gate as gate_stats

from .models import RewardModelVersion

log = logging.getLogger(__name__)


def promotion_decision(*, current, current_invalid, result, evidence, config) -> dict:
    """Whether the new version becomes current: `outcome` is published, pending or rejected.

    Both versions are scored one by one on this run's held-out pairs (or, in classify mode,
    labelled completions). Below ARBITER_GATE_MIN_PAIRS of them accuracies are not compared: a
    few decide nothing, so a later version waits as "pending evidence" for an admin. Above it,
    the new version is rejected only when it is worse with ARBITER_GATE_CONFIDENCE (exact
    McNemar test on the held-out examples the two disagree on). The first version has nothing to
    be compared with, so it goes live only when it beats chance (see _first_version_gate). One
    whose current version cannot be evaluated (`current_invalid`: it failed verification; or it
    classifies into other labels) goes live: that version serves nothing comparable, so it is
    replaced. The reason is shown to leads: it names versions, never
    paths, and quotes the figures exactly as the pages show them (gate.shown).
    """
    confidence, min_pairs = settings.ARBITER_GATE_CONFIDENCE, settings.ARBITER_GATE_MIN_PAIRS
    n, unit = evidence.n, evidence.unit
    new = evidence.new(result, confidence)
    new_correct = new.pop("correct")
    gate = {"confidence": confidence, "min_pairs": min_pairs, "n_heldout": n, "unit": unit, "new": new}

    Status = RewardModelVersion.Status

    def decided(outcome, reason, **extra):
        return {**gate, **extra, "outcome": outcome, "passed": outcome == Status.PUBLISHED, "reason": reason}

    if current is None:
        return _first_version_gate(evidence, new, confidence, decided)
    gate["current_version"] = current.version
    if current_invalid:
        return decided(Status.PUBLISHED, f"current v{current.version} could not be evaluated: it failed verification: {current_invalid}")
    if n < min_pairs:
        reason = (
            f"pending evidence: {n} held-out {unit}, fewer than the {min_pairs} the gate needs to compare it "
            f"with the current v{current.version} (ARBITER_GATE_MIN_PAIRS); an admin may promote it"
        )
        return decided(Status.PENDING, reason)
    try:
        old = evidence.current(current, config, confidence)
    except OtherLabels as error:
        return decided(Status.PUBLISHED, f"current v{current.version} could not be compared: {error}")
    except Exception as error:  # e.g. a checkpoint that verifies but does not load: replace it
        log.warning("could not evaluate current v%s at %s: %s", current.version, current.path, error)  # may hold a path
        return decided(Status.PUBLISHED, f"current v{current.version} could not be evaluated")
    test = gate_stats.compare(new_correct, old.pop("correct"), confidence)
    figures = (
        f"new {new['shown']} against the current v{current.version}'s {old['shown']} on the same {unit}; "
        f"{test['new_better']} {unit} favour the new version, {test['current_better']} the current one "
        f"(exact McNemar p = {test['p_value']:.3g})"
    )
    if test["worse"]:
        return decided(Status.REJECTED, f"worse with {confidence:.0%} confidence: {figures}", current=old, test=test)
    return decided(Status.PUBLISHED, f"not worse with {confidence:.0%} confidence: {figures}", current=old, test=test)


def _first_version_gate(evidence, new, confidence, decided) -> dict:
    """A first version goes live only when its held-out accuracy beats chance at `confidence`
    (its Wilson lower bound above 0.5 for pairs, above the majority label's share for labels):
    a tiny or unlucky split once published a ranking v1 with no held-out pairs and a classifier
    with 0.000 accuracy on 1 item. Otherwise it waits, pending evidence, for an admin."""
    Status = RewardModelVersion.Status
    chance = evidence.chance()
    if not evidence.n:
        reason = f"first version, no held-out {evidence.unit} to show that it beats chance"
        return decided(Status.PENDING, f"pending evidence: {reason}; an admin may promote it", chance=None)
    level = f"{evidence.chance_name} ({chance:.3f})"
    if gate_stats.beats_chance(new, chance):
        return decided(Status.PUBLISHED, f"first version: {new['shown']} beats {level} with {confidence:.0%} confidence", chance=chance)
    reason = (
        f"pending evidence: first version, {new['shown']}: its lower bound {new['low']:.3f} is not above "
        f"{level} at {confidence:.0%} confidence; an admin may promote it"
    )
    return decided(Status.PENDING, reason, chance=chance)


class OtherLabels(ValueError):
    """The current version classifies into another label set than the project's now."""

class PairEvidence:
    """The gate's held-out pairs (and rankings, for best-of-K), each distinct item scored once."""

    unit = "pairs"
    chance_name = "chance"

    def __init__(self, pairs, rankings):
        self.pairs, self.rankings = pairs, rankings
        self.n = len(pairs)
        self.items = _gate_items(pairs, rankings)

    def new(self, result, confidence) -> dict:
        return self._summary(_score_new(result, self.items) if self.items else [], confidence)

    def current(self, version, config, confidence) -> dict:
        return self._summary(_score_current(version, self.items, config), confidence)

    def chance(self) -> float:
        return 0.5  # a coin toss orders a pair rightly half the time

    def _summary(self, rewards, confidence) -> dict:
        return _gate_summary(rewards, self.items, self.pairs, self.rankings, confidence)


class LabelEvidence:
    """The gate's held-out labelled completions: a version is right on one when its most
    probable label is the labeler's."""

    unit = "items"
    chance_name = "the majority label's share"

    def __init__(self, examples, labels):
        self.examples, self.labels = examples, list(labels)
        self.n = len(examples)
        self.items = [(e.prompt, e.completion) for e in examples]

    def new(self, result, confidence) -> dict:
        return self._summary(_logits_new(result, self.items) if self.items else [], confidence)

    def current(self, version, config, confidence) -> dict:
        labels, logits = _logits_current(version, self.items, config)
        if labels != self.labels:
            raise OtherLabels(f"it classifies into {labels or 'a single reward'}, the project into {self.labels}")
        return self._summary(logits, confidence)

    def chance(self) -> float:
        return gate_stats.majority_share([e.label for e in self.examples])

    def _summary(self, logits, confidence) -> dict:
        correct = [float(max(range(len(row)), key=row.__getitem__) == e.label) for row, e in zip(logits, self.examples)]
        return {**gate_stats.rate(sum(correct), len(correct), confidence, unit="items"), "correct": correct}


def _gate_items(pairs, rankings) -> list[tuple[str, str]]:
    """Each distinct (prompt, completion) of the held-out pairs and rankings, scored once."""
    items = {}
    for pair in pairs:
        items.setdefault((pair.prompt, pair.chosen), None)
        items.setdefault((pair.prompt, pair.rejected), None)
    for prompt, ranked in rankings:
        for text in ranked:
            items.setdefault((prompt, text), None)
    return list(items)


def _gate_summary(rewards, items, pairs, rankings, confidence) -> dict:
    """A version's pairwise accuracy and best-of-K with their intervals, from its item rewards;
    "correct" holds the per-pair scores for the paired test (popped before it is stored)."""
    reward = dict(zip(items, rewards))
    correct = gate_stats.pair_correctness(
        [reward[(p.prompt, p.chosen)] for p in pairs], [reward[(p.prompt, p.rejected)] for p in pairs]
    )
    result = {**gate_stats.summary(correct, confidence), "correct": correct}
    hits, k = gate_stats.best_of_k([[(prompt, t) for t in ranked] for prompt, ranked in rankings], reward)
    if k:
        result["best_of_k"] = gate_stats.rate(hits, k, confidence, unit="rankings")
    return result


def _score_new(result, items) -> list[float]:
    """The just-trained model's rewards for (prompt, completion) items, encoded as it trained."""
    from rewardtrain.scoring import Scorer  # torch, as in _train_and_publish

    return Scorer(result.model, result.tokenizer, {"train_config": result.config.to_dict(), "head": result.head}).score(items)


def _logits_new(result, items) -> list[list[float]]:
    """The just-trained classifier's logits for (prompt, completion) items."""
    from rewardtrain.scoring import Scorer

    return Scorer(result.model, result.tokenizer, {"train_config": result.config.to_dict(), "head": result.head}).logits(items)


def _logits_current(current, items, config) -> tuple[list | None, list[list[float]]]:
    """(labels, logits) of the current version on (prompt, completion) items."""
    import torch

    from rewardtrain.scoring import Scorer

    torch.set_num_threads(config.threads)
    scorer = Scorer.load(checkpoint_store.version_folder(current), device=config.device)
    return scorer.labels, scorer.logits(items) if scorer.labels else []


def _score_current(current, items, config) -> list[float]:
    """The current version's rewards, with its own recorded encoding, on this run's device and threads."""
    import torch

    from rewardtrain.scoring import Scorer

    torch.set_num_threads(config.threads)
    return Scorer.load(checkpoint_store.version_folder(current), device=config.device).score(items)
