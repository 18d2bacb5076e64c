"""Who may reach a project: the checks every API view (and any other view) starts with.

Outsiders get 404, not 403, so a project's existence is not leaked to people
outside it. A member whose role is too low gets 403: they know the project.
The Django exceptions are used so plain views and DRF views share these.
An archived project is hidden from its labelers: they know it, so they get 403 saying it is
archived; its leads and admins still reach it (read-only: project_lifecycle).
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Project
from .project_lifecycle import ProjectHidden
from .selectors import LEAD_ROLES, REVIEW_ROLES, role_for


def project_for_member(*, user, slug, archived_hidden=True):
    """(project, role) for a member of the project; 404 for everyone else.

    One query for a member (the membership with its project): this runs on
    every labeling request. Superusers are admins everywhere, as in role_for.
    `archived_hidden=False` lets labelers reach an archived project: the scoring
    endpoints, whose RL callers may hold a labeler's token, keep serving its model.
    """
    if user.is_superuser:
        project = Project.objects.filter(slug=slug).first()
        role = role_for(user=user, project=project) if project else None
    else:
        membership = Membership.objects.select_related("project").filter(user=user, project__slug=slug).first()
        project, role = (membership.project, membership.role) if membership else (None, None)
    if role is None:
        raise Http404("No such project.")
    if archived_hidden and project.archived_at is not None and role not in LEAD_ROLES:
        raise ProjectHidden()
    return project, role


def project_for_labeler(*, user, slug):
    """(project, role) for a member who labels (everyone but a reviewer, who reviews others'
    judgments and never takes from the queue); 403 for a reviewer, 404 for an outsider."""
    project, role = project_for_member(user=user, slug=slug)
    if role == Membership.Role.REVIEWER:
        raise PermissionDenied("Reviewers review judgments; they do not label. Ask a lead for the labeler role to label.")
    return project, role


def project_for_lead(*, user, slug):
    """(project, role) for a lead or admin; 403 for a labeler, 404 for an outsider."""
    project, role = project_for_member(user=user, slug=slug)
    if role not in LEAD_ROLES:
        raise PermissionDenied("Only the project's leads and admins may do this.")
    return project, role


def project_for_reviewer(*, user, slug):
    """(project, role) for a reviewer, lead or admin; 403 for a labeler, 404 for an outsider."""
    project, role = project_for_member(user=user, slug=slug)
    if role not in REVIEW_ROLES:
        raise PermissionDenied("Only the project's reviewers, leads and admins may do this.")
    return project, role
