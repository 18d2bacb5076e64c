"""Checking a version's checkpoint against its row before anything trusts it, and recording what was found.

The folder is checked against the pin on its row (the manifest's sha256 and size at publish),
then its files against that manifest (checkpoints.verify_checkpoint). Whatever is about to load
or promote a version calls `version_verify`: promotion, serving (worker start and reload),
warm-starting a training run, `verify_checkpoints`.

A refusal is kept on the row, so the models page shows it, and written to the audit log once
per detection: only when the row's recorded reason changes. Every web worker re-checks a refused
version each minute; that is still one entry, and a folder restored from a backup is one more.
"""

import logging
from pathlib import Path

from django.db import DatabaseError, transaction
from django.utils import timezone

from annotator.audit_log import audit_record
from rewardtrain import checkpoint_store
from rewardtrain.checkpoints import CheckpointInvalid, ManifestPin, manifest_pin, verify_checkpoint
from rewardtrain.models import RewardModelVersion

log = logging.getLogger(__name__)


def version_verify(*, version, detected_by) -> Path:
    """`version`'s local folder (checkpoint_store.version_folder: the store's own, or this host's
    copy fetched from a remote store) once it is the one published: its manifest matches the
    row's pin, its files match the manifest; CheckpointInvalid (naming files, never paths)
    otherwise. The outcome is recorded on the row; `detected_by` says which check saw it
    (promote, serving, ...)."""
    pin = version.manifest_pin
    try:
        folder = checkpoint_store.version_folder(version)
        verify_checkpoint(folder, root=checkpoint_store.verification_root(version), pin=pin)
    except CheckpointInvalid as error:
        _record(version, reason=str(error), detected_by=detected_by)
        raise
    if pin is None:
        log.warning(
            "%s has no manifest pin (published before pins): checked against its own manifest only; "
            "`manage.py verify_checkpoints --pin-unpinned` pins it",
            version,
        )
    _record(version, reason="", detected_by=detected_by)
    return folder


def version_pin(*, version, detected_by) -> ManifestPin:
    """Pin an unpinned `version` to its manifest as it is now, once its files verify against
    it: trust on first use, by an operator's choice, in the audit log. CheckpointInvalid when
    the folder fails; a pinned version keeps its pin."""
    try:
        folder = checkpoint_store.version_folder(version)
        pin = manifest_pin(folder)
        # Against the pin just taken: the manifest bytes pinned are the ones the files were checked against.
        verify_checkpoint(folder, root=checkpoint_store.verification_root(version), pin=pin)
    except CheckpointInvalid as error:
        _record(version, reason=str(error), detected_by=detected_by)
        raise
    with transaction.atomic():
        pinned = RewardModelVersion.objects.filter(pk=version.pk, manifest_sha256="").update(
            manifest_sha256=pin.sha256, manifest_size=pin.size
        )
        if pinned:
            audit_record(
                actor=None, project=version.project, action="model_version.pin",
                detail={"version": version.version, "manifest_sha256": pin.sha256, "manifest_size": pin.size},
            )  # fmt: skip
    version.refresh_from_db(fields=["manifest_sha256", "manifest_size"])
    _record(version, reason="", detected_by=detected_by)
    return version.manifest_pin


def _record(version, *, reason, detected_by):
    """Keep `reason` ("" once it verifies) on the row; audit it when it differs from the one kept."""
    failed_at = timezone.now() if reason else None
    try:
        with transaction.atomic():
            changed = (
                RewardModelVersion.objects.filter(pk=version.pk)
                .exclude(verification_error=reason)
                .update(verification_error=reason, verification_failed_at=failed_at)
            )
            if changed and reason:
                audit_record(
                    actor=None, project=version.project, action="model_version.refused",
                    detail={"version": version.version, "reason": reason, "detected_by": detected_by},
                )  # fmt: skip
            elif changed:
                audit_record(
                    actor=None, project=version.project, action="model_version.verified",
                    detail={"version": version.version, "detected_by": detected_by},
                )  # fmt: skip
    except DatabaseError as error:
        # The refusal holds whatever happens here (the caller raises it); only its record waits
        # for the next check, e.g. while the database is down and serving falls back.
        log.warning("could not record the verification of %s (%s): %s", version.pk, reason or "ok", error)
        return
    version.verification_error, version.verification_failed_at = reason, failed_at
