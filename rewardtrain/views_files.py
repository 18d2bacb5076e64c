"""A version's page: its model card, arbiter.json and files, and its checkpoint as a `.tar` or file by file.

Who sees it is who sees the models page (leads and admins; a labeler 403, an outsider 404).
Downloads verify the version first (verification.version_verify, which records a refusal on
the row and in the audit log) and are refused with the reason when it fails; what may be read
is only what the pinned manifest lists (rewardtrain/checkpoint_files.py).
"""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from annotator.permissions import project_for_lead

from . import checkpoint_files, checkpoint_store
from .checkpoints import METADATA_FILE, CheckpointInvalid
from .models import RewardModelVersion
from .verification import version_verify

CARD_FILE = "README.md"
DETECTED_BY = "download"


def _version_for(request, slug, version):
    project, _role = project_for_lead(user=request.user, slug=slug)
    return get_object_or_404(RewardModelVersion.objects.select_related("project"), project=project, version=version)


def _archive_name(version):
    return f"{version.project.slug}-v{version.version}"


@login_required
@require_GET
def project_model_version(request, slug, version):
    target = _version_for(request, slug, version)
    context = {"project": target.project, "version": target, "files": [], "card": None, "arbiter_json": None, "problem": ""}
    try:
        folder = checkpoint_store.version_folder(target)
        listed = checkpoint_files.listed_files(folder, pin=target.manifest_pin)
        context["files"] = [listed[name] for name in sorted(listed)]
        # Shown through the `model_card` filter: the sanitising renderer every other text goes through, with tables.
        context["card"] = checkpoint_files.read_listed(folder, CARD_FILE, listed).decode("utf-8", "replace")
        context["arbiter_json"] = _pretty_json(checkpoint_files.read_listed(folder, METADATA_FILE, listed))
    except checkpoint_files.NotListed as error:  # a checkpoint published without one of them
        context["problem"] = f"{error.args[0]} is not in this checkpoint."
    except (CheckpointInvalid, OSError) as error:
        context["problem"] = str(error) if isinstance(error, CheckpointInvalid) else "the checkpoint folder is missing or unreadable"
    return render(request, "rewardtrain/version_detail.html", context)


def _pretty_json(data: bytes) -> str:
    """Indented for reading (the template escapes it); the text as stored when it is not JSON."""
    text = data.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _verified_files(target):
    """(folder, the pinned manifest's files) of a version that verifies now: this host's copy when
    the store is remote. CheckpointInvalid (recorded on the row) when it does not."""
    folder = version_verify(version=target, detected_by=DETECTED_BY)
    return folder, checkpoint_files.listed_files(folder, pin=target.manifest_pin)


def _refused(request, target, error):
    context = {"project": target.project, "version": target, "refused": str(error)}
    return render(request, "rewardtrain/version_refused.html", context, status=409)


@login_required
@require_GET
def project_model_version_tar(request, slug, version):
    target = _version_for(request, slug, version)
    try:
        folder, listed = _verified_files(target)
        headers = checkpoint_files.tar_headers(folder, listed, prefix=_archive_name(target))
    except CheckpointInvalid as error:
        return _refused(request, target, error)
    response = StreamingHttpResponse(
        checkpoint_files.tar_chunks(folder, listed, headers), content_type="application/x-tar"
    )
    response["Content-Length"] = checkpoint_files.tar_length(headers)
    response["Content-Disposition"] = f'attachment; filename="{_archive_name(target)}.tar"'
    return response


@login_required
@require_GET
def project_model_version_file(request, slug, version, name):
    target = _version_for(request, slug, version)
    try:
        folder, listed = _verified_files(target)
        redirect_to = _presigned(target, name, listed)
        if redirect_to:
            return redirect(redirect_to)
        handle = checkpoint_files.open_listed(folder, name, listed)
    except checkpoint_files.NotListed:
        raise Http404("No such file in this checkpoint.") from None
    except CheckpointInvalid as error:
        return _refused(request, target, error)
    except OSError:  # removed or swapped for a link since it verified
        return _refused(request, target, f"{name} changed since it was verified")
    # Always an attachment of no particular type: the card or a tokenizer file is never rendered as a page here.
    return FileResponse(
        handle, as_attachment=True, filename=name.rsplit("/", 1)[-1], content_type="application/octet-stream"
    )


def _presigned(target, name, listed):
    """A short-lived URL of the bucket's copy of file `name` (verified first, as every download
    is), so the bytes go from the store to the client; None with a local store, a legacy folder,
    or ARBITER_S3_PRESIGN_SECONDS = 0 (streamed through this host)."""
    seconds = settings.ARBITER_S3_PRESIGN_SECONDS
    if name not in listed or not seconds or not checkpoint_store.is_remote() or target.path.startswith("/"):
        return None
    return checkpoint_store.store().presigned_url(target.path, name, seconds=seconds)
