"""Reward-model reads: the training pairs of a project, its runs and versions."""

import hashlib

from django.db.models import Q

from annotator import quality
from annotator.models import Classification, Comparison, Completion, Judgment, Prompt
from annotator.review import review_kept
from annotator.selectors import flagged_labelers, quality_facts, quality_settings_for
from rewardtrain.config import REVIEW_DEFAULT
from rewardtrain.data import LabelledText, Pair, is_heldout

from .models import RewardModelVersion, TrainingRun

# Pair.margin for a "much better" judgment; TrainConfig.margin_scale scales it in the loss
# (the chosen reward must then beat the rejected one by margin_scale * 1.0 before the loss flattens).
MUCH_BETTER_MARGIN = 1.0


def margin_for_strength(strength: str) -> float:
    """Pair.margin for a comparison's strength; the export writes the same number."""
    return MUCH_BETTER_MARGIN if strength == Judgment.Strength.MUCH else 0.0


def gold_prompt_ids(*, project) -> set[int]:
    """The project's gold prompts (an expected ranking set), as annotator.selectors.quality_facts
    reads them."""
    rows = Prompt.objects.filter(project=project, gold__isnull=False).values_list("id", "gold")
    return {pk for pk, answer in rows if answer}


def flagged_and_fast(*, project, facts_and_gold=None) -> tuple[set[str], set[int]]:
    """(usernames the quality report flags, ids of judgments faster than the project's
    min_seconds), from one pass over the project's judgments (or annotator.selectors.quality_facts
    already read)."""
    facts, gold = facts_and_gold or quality_facts(project=project)
    settings = quality_settings_for(project)
    report = quality.quality_report(facts, gold, settings)
    return flagged_labelers(project=project, report=report), quality.fast_judgment_ids(facts, settings)


def left_out_of_training(*, project, of_judgments=False) -> Q:
    """The comparisons or classifications training never reads (with of_judgments, the
    judgments they come from): every row of a prompt a lead took out of the queue; the human
    ones of gold prompts (a test of labelers, whose answer was not theirs to give) and, with the
    project's exclude_flagged_from_training, those of flagged labelers and of too-fast
    judgments. Imported rows have no judgment behind them and stay unless taken out."""
    judgment, human = ("", {}) if of_judgments else ("judgment__", {"source": Comparison.Source.HUMAN})
    left_out = Q(prompt__taken_out=True) | Q(prompt_id__in=gold_prompt_ids(project=project), **human)
    if project.exclude_flagged_from_training:
        flagged, fast = flagged_and_fast(project=project)
        left_out |= Q(**{f"{judgment}annotator__username__in": flagged}) | Q(**{f"{judgment}id__in": fast})
    return left_out


def training_pairs(*, project, review=REVIEW_DEFAULT) -> list[Pair]:
    """Every comparison of the project (human and imported) as a Pair, oldest first, less
    those left_out_of_training and those `review` leaves out (annotator.review.review_kept: by
    default a rejected judgment's).

    The same completion pair labelled both ways by two labelers stays two pairs (the
    disagreement is signal); an exact duplicate (same labeler, same chosen and rejected)
    counts once, at its first appearance.
    """
    rows = (
        Comparison.objects.filter(project=project)
        .filter(review_kept(review))
        .exclude(left_out_of_training(project=project))
        .order_by("id")
        .values_list(
            "id", "annotator_id", "chosen_id", "rejected_id", "strength", "prompt__text", "chosen__text", "rejected__text"
        )
    )
    seen, pairs = set(), []
    for pk, annotator_id, chosen_id, rejected_id, strength, prompt, chosen, rejected in rows.iterator(chunk_size=2000):
        key = (annotator_id, chosen_id, rejected_id)
        if key in seen:
            continue
        seen.add(key)
        pairs.append(Pair(prompt, chosen, rejected, margin_for_strength(strength), pk))
    return pairs


def training_items(*, project, review=REVIEW_DEFAULT) -> list[LabelledText]:
    """Every classification of a classify project (human and imported) as a LabelledText, oldest
    first, less those left_out_of_training and those `review` leaves out (as training_pairs). The
    same completion labelled differently by two labelers stays two items (the disagreement is
    signal); an exact duplicate (same labeler, completion and label) counts once. A label no
    longer in the project's label set is left out: it has no output to train."""
    index = {label: i for i, label in enumerate(project.labels)}
    rows = (
        Classification.objects.filter(project=project)
        .filter(review_kept(review))
        .exclude(left_out_of_training(project=project))
        .order_by("id")
        .values_list("id", "annotator_id", "completion_id", "label", "prompt__text", "completion__text")
    )
    seen, items = set(), []
    for pk, annotator_id, completion_id, label, prompt, completion in rows.iterator(chunk_size=2000):
        key = (annotator_id, completion_id, label)
        if key in seen or label not in index:
            continue
        seen.add(key)
        items.append(LabelledText(prompt, completion, index[label], pk))
    return items


def heldout_rankings(*, project, fraction, review=REVIEW_DEFAULT) -> list[tuple[str, list[str]]]:
    """(prompt, completion texts best first) of every ranking judgment of 3 or more completions
    on a held-out prompt (data.is_heldout): the best-of-K metric asks whether the labeler's top
    completion scores highest. Completions marked invalid were not ranked and are left out, and so
    are the judgments whose comparisons are left_out_of_training or that `review` leaves out."""
    rows = (
        Judgment.objects.filter(prompt__project=project)
        .filter(review_kept(review, of_judgments=True))
        .exclude(left_out_of_training(project=project, of_judgments=True))
        .order_by("id")
        .values_list("prompt__text", "ranking")
    )
    rankings = [(prompt, ids) for prompt, ids in rows if len(ids or []) >= 3 and is_heldout(prompt, fraction)]
    texts = dict(
        Completion.objects.filter(id__in={i for _, ids in rankings for i in ids}).values_list("id", "text")
    )
    return [(prompt, [texts[i] for i in ids]) for prompt, ids in rankings if all(i in texts for i in ids)]


def pair_ids_digest(pairs) -> str:
    """A short fingerprint of which comparisons a set of pairs came from."""
    ids = ",".join(str(pk) for pk in sorted(pair.id for pair in pairs))
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


def current_version(*, project):
    return RewardModelVersion.objects.filter(project=project, is_current=True).first()


def published_version(*, project, number):
    return RewardModelVersion.objects.filter(
        project=project, version=number, status=RewardModelVersion.Status.PUBLISHED
    ).first()


def published_versions_before(*, project, version):
    """Published versions older than `version`, newest first: what scoring falls back on."""
    return RewardModelVersion.objects.filter(
        project=project, status=RewardModelVersion.Status.PUBLISHED, version__lt=version
    ).order_by("-version")


def versions_for(*, project):
    return RewardModelVersion.objects.filter(project=project).select_related("parent").order_by("-version")


def runs_for(*, project, limit=50):
    return TrainingRun.objects.filter(project=project).select_related("version", "requested_by").order_by("-id")[:limit]


def run_error_for(*, run, is_admin) -> str:
    """What a viewer may read of a failed run's error: admins the whole traceback tail, leads
    only its last line (the exception and its message), which holds no stack or source paths."""
    if is_admin:
        return run.error
    lines = [line.strip() for line in run.error.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def active_run(*, project):
    return TrainingRun.objects.filter(project=project, status__in=TrainingRun.ACTIVE_STATUSES).first()


def last_trained_comparison_id(*, project) -> int:
    """Highest comparison id (classification id in classify mode) the project's latest run
    loaded (0 when no run got that far).

    Failed and rejected runs count too: the schedule then waits for new data instead of
    retrying the same data every few minutes.
    """
    for split in TrainingRun.objects.filter(project=project).order_by("-id").values_list("split", flat=True)[:100]:
        if split and split.get("max_comparison_id") is not None:
            return split["max_comparison_id"]
    return 0


def new_comparison_count(*, project) -> int:
    """Rows training would read (by default) that arrived after the last run's data."""
    since = last_trained_comparison_id(project=project)
    labelled = Classification if project.classifies else Comparison
    rows = labelled.objects.filter(project=project, id__gt=since).filter(review_kept(REVIEW_DEFAULT))
    return rows.exclude(left_out_of_training(project=project)).count()


ROLLING_WINDOW = 50  # fresh labels per point of a version's rolling accuracy


def fresh_label_agreement(*, project, confidence=0.95) -> list[dict]:
    """Each version that scored fresh labels (live_scoring.score_fresh_labels), newest first:
    `version`, its `heldout` accuracy (the run's), `fresh` (its accuracy on the human labels it
    never trained on, with a Wilson interval, as the gate formats it) and `rolling`, its
    accuracy over the last ROLLING_WINDOW of them after each label scored: [(labels, accuracy)]."""
    from rewardtrain import gate as gate_stats

    from .models import FreshLabelScore

    by_version: dict[int, list[float]] = {}
    rows = (
        FreshLabelScore.objects.filter(version__project=project)
        .order_by("version__version", "comparison_id")
        .values_list("version__version", "chosen_reward", "rejected_reward")
    )
    for number, chosen, rejected in rows.iterator(chunk_size=2000):
        by_version.setdefault(number, []).extend(gate_stats.pair_correctness([chosen], [rejected]))
    heldout = dict(
        RewardModelVersion.objects.filter(project=project, version__in=list(by_version)).values_list("version", "metrics")
    )
    result = []
    for number in sorted(by_version, reverse=True):
        correct = by_version[number]
        rolling, window = [], 0.0
        for i, value in enumerate(correct):
            window += value - (correct[i - ROLLING_WINDOW] if i >= ROLLING_WINDOW else 0.0)
            rolling.append((i + 1, window / min(i + 1, ROLLING_WINDOW)))
        result.append(
            {
                "version": number,
                "heldout": (heldout.get(number) or {}).get("heldout_accuracy"),
                "fresh": gate_stats.summary(correct, confidence),
                "rolling": rolling,
            }
        )
    return result


def audit_samples(*, project, order_by, limit):
    """The RL audit's kept samples (rewardtrain.serving.keep_audit_sample), in `order_by` order
    (a samples with no gap, alone in their request, after the others)."""
    from django.db.models import F

    from .models import ScoredSample

    rows = ScoredSample.objects.filter(project=project)
    field = order_by.lstrip("-")
    expression = F(field).desc(nulls_last=True) if order_by.startswith("-") else F(field).asc(nulls_last=True)
    return list(rows.order_by(expression, "-id")[:limit])
