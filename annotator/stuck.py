"""Stuck prompts: unfinished, yet the queue can give them to no one.

A prompt is stuck when it is in the queue (queued, not taken out), still short of its
judgments (the overlap plus any extra), nobody holds a live lease on it, and no member who may
label can be given it: each has judged or skipped it, or it is reserved for someone else
(reserved for someone who is no longer a member, it is stuck too). It stays so until a lead
acts: lifts the skips or reassigns it (annotator.prompt_actions), or adds a labeler.

The labelers counted are the members with the labeler role, and the leads and admins who have
labeled here (got an item at least once): a lead who never labels is not who the project
waits for, so a prompt every labeler skipped is stuck though the lead could still take it.
"""

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from .models import Assignment, Judgment, Membership, Prompt

# Who may label: every role but the reviewer's (reviewers review judgments; they make none).
LABELING_ROLES = (Membership.Role.LABELER, Membership.Role.LEAD, Membership.Role.ADMIN)


def labelers_of(*, project):
    """The project's members who may label, with their users, by username."""
    return (
        Membership.objects.filter(project=project, role__in=LABELING_ROLES)
        .select_related("user")
        .order_by("user__username")
    )


def stuck_prompts(*, project, now=None):
    """The project's stuck prompts (see the module's docstring), as a queryset."""
    now = now or timezone.now()
    prompt = OuterRef(OuterRef("pk"))
    # Members the queue would still serve the prompt to, by its own rules: not judged, not
    # skipped, no done lease (a swapped repeat's) of it.
    labels_here = Assignment.objects.filter(project=project, annotator=OuterRef("user"))
    labelers = Membership.objects.filter(project=project).filter(
        Q(role=Membership.Role.LABELER) | Q(Exists(labels_here), role__in=(Membership.Role.LEAD, Membership.Role.ADMIN))
    )
    open_to = labelers.filter(
        ~Exists(Judgment.objects.filter(prompt=prompt, annotator=OuterRef("user"))),
        ~Exists(
            Assignment.objects.filter(
                prompt=prompt,
                annotator=OuterRef("user"),
                status__in=(Assignment.Status.DONE, Assignment.Status.SKIPPED),
            )
        ),
    )
    live_lease = Assignment.objects.filter(
        prompt=OuterRef("pk"), status=Assignment.Status.ACTIVE, expires_at__gt=now
    )
    return (
        Prompt.objects.filter(
            project=project,
            queued=True,
            taken_out=False,
            judgment_count__lt=project.overlap + F("extra_judgments"),
        )
        .exclude(Exists(live_lease))
        .filter(
            Q(~Exists(open_to), reserved_for__isnull=True)
            | Q(~Exists(open_to.filter(user=OuterRef("reserved_for"))), reserved_for__isnull=False)
        )
    )


def stuck_prompt_ids(*, project):
    """The ids of the project's stuck prompts (a queryset: use it in a filter, or list it)."""
    return stuck_prompts(project=project).values_list("id", flat=True)


def stuck_count(*, project) -> int:
    """How many of the project's prompts are stuck: one query."""
    return stuck_prompts(project=project).count()
