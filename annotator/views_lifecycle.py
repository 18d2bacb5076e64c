"""Archive, restore and delete a project from its settings page; the log of deleted projects.

Archive and restore are for its leads and admins, delete for its admins (after typing the
slug); the logic is in project_lifecycle. Deleted projects' audit entries have no project
left to be read under, so staff read them on one page of their own.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from .audit_sentences import audit_sentence
from .models import AuditEntry, Membership
from .permissions import project_for_lead
from .project_lifecycle import (
    DeleteRefused,
    project_archive,
    project_delete,
    project_restore,
)

DELETED_PER_PAGE = 50


@login_required
@require_POST
def project_archive_page(request, slug):
    project, _role = project_for_lead(user=request.user, slug=slug)
    if project_archive(project=project, actor=request.user):
        messages.success(request, f"{project.name} is archived: read-only and hidden from its labelers.")
    return redirect("project_settings", project.slug)


@login_required
@require_POST
def project_restore_page(request, slug):
    project, _role = project_for_lead(user=request.user, slug=slug)
    if project_restore(project=project, actor=request.user):
        messages.success(request, f"{project.name} is restored: its labelers see it again.")
    return redirect("project_settings", project.slug)


@login_required
@require_POST
def project_delete_page(request, slug):
    project, role = project_for_lead(user=request.user, slug=slug)
    if role != Membership.Role.ADMIN:
        raise PermissionDenied("Only the project's admins may delete it.")
    name = project.name
    try:
        project_delete(project=project, actor=request.user, typed_slug=request.POST.get("confirm_slug", ""))
    except DeleteRefused as refused:
        messages.error(request, str(refused))
        return redirect("project_settings", project.slug)
    messages.success(request, f"{name} ({slug}) and its checkpoints are deleted; its audit entries are kept.")
    return redirect("project_list")


@login_required
@require_GET
def deleted_projects_audit(request):
    """Audit entries of deleted projects (their slug kept on each), newest first; staff only."""
    if not (request.user.is_staff or request.user.is_superuser):
        raise PermissionDenied("Only staff read the audit log of deleted projects.")
    entries = AuditEntry.objects.filter(project=None).exclude(project_slug="")
    page = Paginator(entries, DELETED_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(entry, audit_sentence(entry)) for entry in page]
    return render(request, "annotator/console/deleted_projects_audit.html", {"page": page, "rows": rows, "query": ""})
