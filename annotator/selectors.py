"""Labeling reads: who may see what, and the numbers the pages show."""

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Assignment, Comparison, Judgment, Membership, Project, Prompt

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
    """The numbers the pages show, in one query over the project's queued prompts.

    For everyone: `prompts`, `remaining` (prompts still short of the overlap),
    judgment totals. For a labeler also `done_today` and where the remaining
    prompts stand for them, counted with the queue's own rules so the labeling
    page never says "N left for you" beside "All done here":
    `left_for_you` (they hold it, or could lease it now), `held_by_others`
    (open to them, but every free place is leased to others right now: it comes
    back if those leases lapse or are skipped) and `waiting_for_others` (they
    judged or skipped it; it still needs labels from other people).
    """
    now = timezone.now()
    overlap = project.overlap
    prompts = Prompt.objects.filter(project=project, queued=True)
    short = Q(judgment_count__lt=overlap)
    counts = {"prompts": Count("id"), "remaining": Count("id", filter=short)}
    if annotator:
        live = Assignment.objects.filter(
            prompt=OuterRef("pk"), status=Assignment.Status.ACTIVE, expires_at__gt=now
        )
        others_live = (
            live.exclude(annotator=annotator).order_by().values("prompt").annotate(n=Count("id")).values("n")
        )
        prompts = prompts.annotate(
            others_leases=Coalesce(Subquery(others_live), 0),
            held_by_me=Exists(live.filter(annotator=annotator)),
            closed_for_me=Exists(
                Assignment.objects.filter(
                    prompt=OuterRef("pk"),
                    annotator=annotator,
                    status__in=(Assignment.Status.DONE, Assignment.Status.SKIPPED),
                )
            )
            | Exists(Judgment.objects.filter(prompt=OuterRef("pk"), annotator=annotator)),
        )
        open_to_me = short & Q(closed_for_me=False)
        has_room = Q(held_by_me=True) | Q(judgment_count__lt=overlap - F("others_leases"))
        counts |= {
            "left_for_you": Count("id", filter=open_to_me & has_room),
            "held_by_others": Count("id", filter=open_to_me & ~has_room),
            "waiting_for_others": Count("id", filter=short & Q(closed_for_me=True)),
        }
    numbers = prompts.aggregate(**counts)
    judgments = Judgment.objects.filter(prompt__project=project)
    numbers["judgments"] = judgments.count()
    numbers["judgments_wanted"] = numbers["prompts"] * overlap
    if annotator:
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        numbers["done_today"] = judgments.filter(annotator=annotator, created_at__gte=today).count()
    else:
        numbers["done_today"] = None
    return numbers


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
