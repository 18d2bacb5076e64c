"""Labeling reads: who may see what, and the numbers the pages show."""

from django.db.models import Count, F, Q
from django.utils import timezone

from .models import Comparison, Judgment, Membership, Project, Prompt

LEAD_ROLES = (Membership.Role.LEAD, Membership.Role.ADMIN)


def role_for(*, user, project):
    """The user's role in the project, or None for an outsider. Superusers are admins everywhere."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Membership.Role.ADMIN
    return Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()


def is_lead(*, user, project):
    return role_for(user=user, project=project) in LEAD_ROLES


def projects_for(*, user):
    """The projects a user may see: every project for a superuser, else their memberships."""
    if user.is_superuser:
        return Project.objects.order_by("name")
    return Project.objects.filter(memberships__user=user).order_by("name")


def project_progress(*, project, annotator=None):
    """Judged today by this labeler, prompts left to judge, and the totals."""
    prompts = Prompt.objects.filter(project=project, queued=True)
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    done_today = (
        Judgment.objects.filter(prompt__project=project, annotator=annotator, created_at__gte=today).count()
        if annotator
        else None
    )
    return {
        "done_today": done_today,
        "remaining": prompts.filter(judgment_count__lt=project.overlap).count(),
        "prompts": prompts.count(),
        "judgments": Judgment.objects.filter(prompt__project=project).count(),
        "judgments_wanted": prompts.count() * project.overlap,
        "judgments_missing": sum(
            project.overlap - n
            for n in prompts.filter(judgment_count__lt=project.overlap).values_list(F("judgment_count"), flat=True)
        ),
    }


def labeler_activity(*, project):
    """Every member and anyone who judged here: [{username, role, today, total}], busiest first."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    counts = (
        Judgment.objects.filter(prompt__project=project)
        .values("annotator__username")
        .annotate(total=Count("id"), today=Count("id", filter=Q(created_at__gte=today)))
    )
    rows = {
        username: {"username": username, "role": role, "today": 0, "total": 0}
        for username, role in Membership.objects.filter(project=project).values_list("user__username", "role")
    }
    for row in counts:
        username = row["annotator__username"]
        rows.setdefault(username, {"username": username, "role": "", "today": 0, "total": 0})
        rows[username].update(today=row["today"], total=row["total"])
    return sorted(rows.values(), key=lambda r: (-r["total"], r["username"]))


def comparisons_by_source(*, project):
    """[(label, count)] for each comparison source, zeros included."""
    counts = dict(
        Comparison.objects.filter(project=project).values_list("source").annotate(n=Count("id")).order_by()
    )
    return [(label, counts.get(source, 0)) for source, label in Comparison.Source.choices]
