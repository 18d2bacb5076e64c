"""Published versions: where their checkpoints live, their numbers, and switching which one is current (the gate, an admin's promotion or rollback)."""

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotator.audit_log import audit_record
from annotator.models import Project
from rewardtrain import checkpoint_store, selectors
from rewardtrain.checkpoints import CheckpointInvalid
from rewardtrain.verification import version_verify

from .models import RewardModelVersion


class VersionUnavailable(ValueError):
    pass


def checkpoint_root(*, project) -> Path:
    # Read at call time: tests (and operators) point the setting elsewhere.
    return Path(settings.ARBITER_CHECKPOINT_DIR) / project.slug


def next_version_number(project) -> int:
    """max+1 over the rows and the versions in the store (one whose row was never written is skipped)."""
    highest = RewardModelVersion.objects.filter(project=project).aggregate(n=Max("version"))["n"] or 0
    return max([highest, *checkpoint_store.stored_numbers(project=project)]) + 1


def make_current(version):
    """Switch "current" to `version`; the caller holds a transaction."""
    RewardModelVersion.objects.filter(project=version.project, is_current=True).exclude(pk=version.pk).update(
        is_current=False
    )
    version.is_current = True
    version.promoted_at = timezone.now()
    version.save(update_fields=["is_current", "promoted_at"])



# --- admin actions -------------------------------------------------------------------------


def model_version_promote(*, version, actor=None) -> RewardModelVersion:
    """Make `version` current, overruling the gate if it had rejected it or it waits for
    evidence; VersionUnavailable
    (naming the version, never its path) when its checkpoint fails verification. Audited as
    "model_version.promote" by `actor` (the page, the API and the admin pass the user)."""
    return _switch_current(version, actor=actor, action="model_version.promote")


def _switch_current(version, *, actor, action):
    """Verify `version`'s folder, make it current and audit `action`, in one transaction."""
    try:
        version_verify(version=version, detected_by="promote")
    except CheckpointInvalid as error:
        raise VersionUnavailable(f"v{version.version} failed verification: {error}") from None
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=version.project_id)
        version = RewardModelVersion.objects.get(pk=version.pk)
        previous = selectors.current_version(project=project)
        overruled = version.status in (RewardModelVersion.Status.REJECTED, RewardModelVersion.Status.PENDING)
        detail = {"version": version.version, "previous": previous.version if previous else None}
        if overruled:
            detail["overruled"] = version.status
            version.status = RewardModelVersion.Status.PUBLISHED
            version.rejected_reason = f"promoted by an admin over the gate: {version.rejected_reason}"
            version.save(update_fields=["status", "rejected_reason"])
        make_current(version)
        audit_record(actor=actor, project=project, action=action, detail=detail)
    return version


def model_version_rollback(*, project, actor=None) -> RewardModelVersion:
    """Make the published version before the current one current again; audited as
    "model_version.rollback" by `actor`."""
    current = selectors.current_version(project=project)
    if current is None:
        raise VersionUnavailable("there is no current version to roll back from")
    previous = (
        RewardModelVersion.objects.filter(
            project=project, status=RewardModelVersion.Status.PUBLISHED, version__lt=current.version
        )
        .order_by("-version")
        .first()
    )
    if previous is None:
        raise VersionUnavailable(f"no published version before v{current.version}")
    return _switch_current(previous, actor=actor, action="model_version.rollback")
