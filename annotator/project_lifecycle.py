"""Archiving, restoring and deleting a project (each audited).

An archived project is read-only: it takes no judgments, imports, settings or member changes
and starts no training, and labelers no longer see it. Its exports, pages for leads and its
current reward model (the scoring endpoints) keep working, so an RL run scoring against it does
not break the day it is archived. Restoring clears `archived_at`; nothing else changed.

Deleting removes the project's rows (they cascade from Project) and its checkpoint folder.
Its audit entries stay, the project's slug kept on each (AuditEntry.project is SET_NULL).
"""

import logging
import shutil

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from .audit_log import audit_record
from .models import ImportJob, Judgment, Project

logger = logging.getLogger(__name__)

ARCHIVED_MESSAGE = "This project is archived, so it is read-only. A lead or admin can restore it on its settings page."
HIDDEN_MESSAGE = "This project is archived: it takes no more labels. Its lead can restore it."


class ProjectArchived(Exception):
    """A change refused because the project is archived (the API answers 409, a page says so)."""

    def __init__(self, message=ARCHIVED_MESSAGE):
        super().__init__(message)


class ProjectHidden(PermissionDenied):
    """A labeler (or any role below lead) reaching an archived project: 403 saying why."""

    def __init__(self, message=HIDDEN_MESSAGE):
        super().__init__(message)


class DeleteRefused(ValueError):
    pass


def project_refuse_if_archived(project):
    """Call before any change to the project's data, settings or members, and before training it."""
    if project.archived_at is not None:
        raise ProjectArchived()


def project_archive(*, project, actor, now=None) -> bool:
    """Archive the project; False (and nothing logged) when it already was."""
    now = now or timezone.now()
    with transaction.atomic():
        if not Project.objects.filter(pk=project.pk, archived_at=None).update(archived_at=now):
            project.refresh_from_db(fields=["archived_at"])
            return False
        project.archived_at = now
        audit_record(actor=actor, project=project, action="project.archive")
    return True


def project_restore(*, project, actor) -> bool:
    """Make an archived project writable and visible to its labelers again; False when it was not archived."""
    with transaction.atomic():
        archived_at = Project.objects.select_for_update().filter(pk=project.pk).values_list("archived_at", flat=True).get()
        if archived_at is None:
            project.archived_at = None
            return False
        Project.objects.filter(pk=project.pk).update(archived_at=None)
        project.archived_at = None
        audit_record(actor=actor, project=project, action="project.restore", detail={"archived_at": archived_at.isoformat()})
    return True


def _work_in_progress(project):
    """What a delete would pull from under a worker: a queued or running import or training run."""
    # rewardtrain depends on annotator, not the reverse: imported where used.
    from rewardtrain.models import TrainingRun

    busy = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    if ImportJob.objects.filter(project=project, status__in=busy).exists():
        return "an import is still running"
    if TrainingRun.objects.filter(project=project, status__in=(TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING)).exists():
        return "a training run is queued or running"
    return None


def project_delete(*, project, actor, typed_slug):
    """Delete the project, its rows and its checkpoints, once `typed_slug` is its slug.

    Admins only (the view checks the role). Refused while an import or a training run is under
    way: its worker would write into a project that no longer exists. The checkpoint folder is
    removed after the rows are committed, so a rolled-back delete never loses a model.
    """
    if typed_slug.strip() != project.slug:
        raise DeleteRefused(f"Type the project's slug, {project.slug}, to delete it.")
    busy = _work_in_progress(project)
    if busy:
        raise DeleteRefused(f"Not deleted: {busy}. Wait for it to end.")
    from rewardtrain import checkpoint_store
    from rewardtrain.versions import checkpoint_root

    folder = checkpoint_root(project=project)
    slug = project.slug
    with transaction.atomic():
        detail = {
            "name": project.name,
            "prompts": project.prompts.count(),
            "judgments": Judgment.objects.filter(prompt__project=project).count(),
            "model_versions": project.model_versions.count(),
        }
        audit_record(actor=actor, project=project, action="project.delete", detail=detail)
        project.delete()
        transaction.on_commit(lambda: _remove_folder(folder))
        if checkpoint_store.is_remote():  # the store's copies; the reaper removes any left behind
            transaction.on_commit(lambda: _remove_stored(checkpoint_store.store(), slug))
    return detail


def _remove_folder(folder):
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass  # never trained
    except OSError:
        logger.exception("project deleted but its checkpoint folder %s could not be removed", folder)


def _remove_stored(store, slug):
    try:
        store.delete(slug)
    except Exception:
        logger.exception("project deleted but its checkpoints in %r could not be removed", store)
