"""Removing what a publish left in the store without a version row: an upload interrupted before
its manifest (the trainer killed, the store unreachable), or a version whose row was never
written. No host serves either (hosts fetch only what a row names), but they take space and a
number.

A prefix is left alone while its project has a run in progress (the project's only publisher,
single flight) and until its newest object is UNPUBLISHED_GRACE old: a publish writes its row
right after its manifest.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from rewardtrain import checkpoint_store
from rewardtrain.models import RewardModelVersion, TrainingRun

log = logging.getLogger(__name__)

UNPUBLISHED_GRACE = timedelta(minutes=10)


def reap_unpublished_checkpoints(*, grace: timedelta | None = None) -> list[str]:
    """Delete every stored version with no row, older than `grace` (UNPUBLISHED_GRACE), of a
    project not training now; the names deleted. Run by the periodic reaper (runs.reap_stale_runs)."""
    store = checkpoint_store.store()
    cutoff = timezone.now() - (UNPUBLISHED_GRACE if grace is None else grace)
    stored = [found for found in store.stored_versions() if found.modified < cutoff]
    if not stored:
        return []
    slugs = {found.name.split("/")[0] for found in stored}
    training = set(
        TrainingRun.objects.filter(project__slug__in=slugs, status__in=TrainingRun.ACTIVE_STATUSES).values_list(
            "project__slug", flat=True
        )
    )
    rows = {
        f"{slug}/v{number}"
        for slug, number in RewardModelVersion.objects.filter(project__slug__in=slugs).values_list("project__slug", "version")
    }
    removed = []
    for found in stored:
        slug = found.name.split("/")[0]
        if found.name in rows or slug in training:
            continue
        store.delete(found.name)
        removed.append(found.name)
        log.warning("removed %s from the checkpoint store: %s and no version row", found.name,
                    "a manifest" if found.has_manifest else "no manifest (an interrupted upload)")  # fmt: skip
    return removed
