"""Live model agreement on a timer: the current version scores fresh labels (a confident model that contradicts its labeler asks for a second judgment) and the queue's prompts (uncertain first)."""

import logging

from django.conf import settings
from django.db import transaction

from annotator.models import Project
from rewardtrain import selectors

log = logging.getLogger(__name__)


def _serving_scorers(projects):
    """(project, version, scorer) for each of `projects` with a reward model that can score (the
    one serving it: the current version or its fallback); one that cannot load is logged and
    skipped, so one broken checkpoint does not stop the periodic tasks for the others."""
    from rewardtrain import serving

    for project in projects.order_by("id"):
        if selectors.current_version(project=project) is None:
            continue
        try:
            version, scorer = serving.current_scorer(project=project)
        except serving.ModelUnavailable as error:
            log.warning("not scoring for %s: %s", project.slug, error)
            continue
        yield project, version, scorer


FRESH_BATCH = 512  # comparisons a tick scores per project: a few seconds on a CPU


def score_fresh_labels(*, batch=FRESH_BATCH) -> dict[str, int]:
    """Score new human comparisons with the version that serves each project, before a later
    version trains on them: those made after the version's training data was read (id above its
    snapshot's max_comparison_id) that it has not scored yet, oldest first, `batch` a project
    per call. Classify projects are left out (their labels are not comparisons). Returns
    {project slug: comparisons scored}; a project whose model cannot load is skipped (logged).
    With queue_order disagreement, a prompt whose label the model confidently contradicts is
    owed one more judgment (Prompt.extra_judgments), which the queue serves first."""
    from annotator.models import Comparison, Prompt
    from rewardtrain.models import FreshLabelScore

    scored = {}
    for project, version, scorer in _serving_scorers(Project.objects.exclude(mode=Project.Mode.CLASSIFY)):
        seen = (version.data_snapshot or {}).get("max_comparison_id") or 0
        todo = list(
            Comparison.objects.filter(project=project, source=Comparison.Source.HUMAN, id__gt=seen)
            .exclude(fresh_scores__version=version)
            .order_by("id")
            .values_list("id", "prompt__text", "chosen__text", "rejected__text")[:batch]
        )
        if not todo:
            continue
        rewards = scorer.score([item for _, p, c, r in todo for item in ((p, c), (p, r))])
        FreshLabelScore.objects.bulk_create(
            [
                FreshLabelScore(version=version, comparison_id=pk, chosen_reward=rewards[2 * i], rejected_reward=rewards[2 * i + 1])
                for i, (pk, *_texts) in enumerate(todo)
            ],
            ignore_conflicts=True,  # two ticks at once: the first row stands
        )
        if project.queue_order == Project.QueueOrder.DISAGREEMENT:
            # Confident: the rejected completion scores above the chosen one by a reward std or more.
            margin = settings.ARBITER_DISAGREEMENT_STDS * scorer.reward_std
            contradicted = [todo[i][0] for i in range(len(todo)) if rewards[2 * i + 1] - rewards[2 * i] >= margin]
            Prompt.objects.filter(
                comparisons__id__in=contradicted, queued=True, extra_judgments=0
            ).update(extra_judgments=1)  # one second opinion per prompt
        scored[project.slug] = len(todo)
    return scored


QUEUE_SCORE_BATCH = 256  # prompts a tick scores per project


def refresh_queue_scores(*, batch=QUEUE_SCORE_BATCH) -> dict[str, int]:
    """For projects whose queue_order is uncertain_first: the serving version's reward for each
    imported completion of queued prompts it has not scored yet, and each prompt's uncertainty,
    the smallest reward gap between two of its completions. `batch` prompts a project per call
    (beat calls it every ARBITER_FRESH_SCORE_MINUTES, so a promotion re-scores the queue within
    a few ticks); the queue only reads what is stored. Returns {project slug: prompts scored}."""
    from annotator.models import Completion, Prompt

    done = {}
    for project, version, scorer in _serving_scorers(Project.objects.filter(queue_order=Project.QueueOrder.UNCERTAIN_FIRST)):
        stale = (
            Completion.objects.filter(prompt__project=project, prompt__queued=True, origin=Completion.Origin.IMPORTED)
            .exclude(scored_version=version.version)
            .values_list("prompt_id", flat=True)
            .distinct()
            .order_by("prompt_id")[:batch]
        )
        prompt_ids = list(stale)
        if not prompt_ids:
            continue
        completions = list(
            Completion.objects.filter(prompt_id__in=prompt_ids, origin=Completion.Origin.IMPORTED)
            .select_related("prompt")
            .only("id", "text", "prompt_id", "prompt__text")
            .order_by("id")
        )
        rewards = scorer.score([(c.prompt.text, c.text) for c in completions])
        by_prompt: dict[int, list[float]] = {}
        for completion, reward in zip(completions, rewards):
            completion.model_reward, completion.scored_version = reward, version.version
            by_prompt.setdefault(completion.prompt_id, []).append(reward)
        with transaction.atomic():
            Completion.objects.bulk_update(completions, ["model_reward", "scored_version"], batch_size=500)
            for prompt_id, values in by_prompt.items():
                values.sort()
                gap = min((b - a for a, b in zip(values, values[1:])), default=None)
                Prompt.objects.filter(pk=prompt_id).update(uncertainty=gap)
        done[project.slug] = len(prompt_ids)
    return done
