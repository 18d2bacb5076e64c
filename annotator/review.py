"""Reviewing judgments: a reviewer, lead or admin accepts or rejects a labeler's judgment.

A rejected judgment no longer counts towards its prompt's overlap, so the prompt goes back in
the queue for another labeler; its labeler never gets it again (the queue skips prompts they
judged, and one judgment per labeler per prompt is a constraint). Its pairs and labels leave
training and exports unless asked for: `review_kept` is the filter both apply.

A swapped repeat (quality control) never counted towards the overlap and stores no pairs, so
reviewing one changes nothing but its mark. A gold prompt's judgment counts like any other:
rejecting it sends the gold prompt to another labeler, who is scored against it too.
"""

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

# Which judgments' rows an export or a training run reads, kept beside TrainConfig, which checks
# its own review option without Django.
from rewardtrain.config import REVIEW_FILTERS

from .audit_log import audit_record
from .models import Judgment, Prompt

ACCEPTED, REJECTED = Judgment.Review.ACCEPTED, Judgment.Review.REJECTED
REASON_MAX_CHARS = 500  # a sentence or two for the labeler, shown on their recent judgments


class ReviewRefused(ValueError):
    """The review cannot be made: no reason for a rejection, one's own judgment, or it was undone."""


def review_kept(review: str, *, of_judgments: bool = False) -> Q:
    """The rows kept under a REVIEW_FILTERS value: comparisons or classifications (their
    judgment's review; an imported row has no judgment, so it is never rejected and never
    accepted), or with of_judgments the judgments themselves."""
    field = "review" if of_judgments else "judgment__review"
    if review == "any":
        return Q()
    if review == "accepted":
        return Q(**{field: ACCEPTED})
    if review == "not-rejected":
        # An imported row's judgment is null: ~Q(judgment__review=...) keeps it.
        return ~Q(**{field: REJECTED})
    raise ValueError(f"review must be one of {', '.join(REVIEW_FILTERS)}, not {review!r}")


def judgment_review_accept(*, judgment, actor, now=None):
    """Mark the judgment accepted (judgment.accept); a rejected one counts towards its overlap again."""
    return _review_set(judgment=judgment, actor=actor, review=ACCEPTED, reason="", now=now)


def judgment_review_reject(*, judgment, actor, reason, now=None):
    """Mark the judgment rejected with a reason its labeler reads (judgment.reject); its prompt
    goes back in the queue for another labeler. Raises ReviewRefused without a reason."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ReviewRefused("Say why it is rejected: the labeler reads the reason.")
    if len(reason) > REASON_MAX_CHARS:
        raise ReviewRefused(f"Keep the reason under {REASON_MAX_CHARS} characters (it has {len(reason)}).")
    return _review_set(judgment=judgment, actor=actor, review=REJECTED, reason=reason, now=now)


def _review_set(*, judgment, actor, review, reason, now):
    if judgment.annotator_id == actor.pk:
        raise ReviewRefused("You cannot review your own judgment.")
    with transaction.atomic():
        # The prompt's row lock first, as judgment_record and judgment_undo take it, so the
        # recount below sees every judgment of the prompt committed before it.
        prompt = Prompt.objects.select_for_update(of=("self",)).select_related("project").get(pk=judgment.prompt_id)
        stored = Judgment.objects.select_for_update().filter(pk=judgment.pk).first()
        if stored is None:
            raise ReviewRefused("This judgment was undone by its labeler.")
        old = stored.review
        if old == review and stored.review_reason == reason:
            return stored  # a second click of the same button changes nothing
        stored.review, stored.review_reason = review, reason
        stored.reviewed_by, stored.reviewed_at = actor, now or timezone.now()
        stored.save(update_fields=["review", "review_reason", "reviewed_by", "reviewed_at"])
        if REJECTED in (old, review) and stored.repeat_of_id is None:
            # Recounted, not stepped: accepting a rejected judgment after another labeler filled
            # its place gives the true count (above the overlap, which the queue reads as full).
            counted = Judgment.objects.filter(prompt=prompt, repeat_of__isnull=True).exclude(review=REJECTED).count()
            Prompt.objects.filter(pk=prompt.pk).update(judgment_count=counted)
        audit_record(
            actor=actor,
            project=prompt.project,
            action="judgment.accept" if review == ACCEPTED else "judgment.reject",
            detail={
                "judgment": stored.pk,
                "labeler": stored.annotator.get_username(),
                "prompt": prompt.external_id,
                "was": old,
                "reason": reason,
            },
        )
    judgment.review, judgment.review_reason = stored.review, stored.review_reason
    judgment.reviewed_by_id, judgment.reviewed_at = (
        stored.reviewed_by_id,
        stored.reviewed_at,
    )
    return stored


# --- the review queue ------------------------------------------------------------------


def judgments_to_review(*, project, reviewer):
    """The project's judgments nobody reviewed yet that `reviewer` may review (not their own),
    oldest first: the review page shows them one at a time."""
    return Judgment.objects.filter(prompt__project=project, review="").exclude(annotator=reviewer).order_by("id")


def review_progress(*, project, reviewer) -> dict:
    """`reviewed` and `total` judgments of the project, and `left` for this reviewer to review."""
    judgments = Judgment.objects.filter(prompt__project=project)
    return {
        "reviewed": judgments.exclude(review="").count(),
        "total": judgments.count(),
        "left": judgments_to_review(project=project, reviewer=reviewer).count(),
    }


def acceptance_by_labeler(*, project) -> list[dict]:
    """Per labeler with a reviewed judgment: `username`, `accepted`, `rejected`, `reviewed` and
    `rate` (accepted / reviewed), lowest rate first, for the quality page."""
    rows = (
        Judgment.objects.filter(prompt__project=project)
        .exclude(review="")
        .values("annotator__username")
        .annotate(
            accepted=Count("id", filter=Q(review=ACCEPTED)),
            rejected=Count("id", filter=Q(review=REJECTED)),
        )
        .order_by()
    )
    result = [
        {
            "username": row["annotator__username"],
            "accepted": row["accepted"],
            "rejected": row["rejected"],
            "reviewed": row["accepted"] + row["rejected"],
            "rate": row["accepted"] / (row["accepted"] + row["rejected"]),
        }
        for row in rows
    ]
    return sorted(result, key=lambda row: (row["rate"], row["username"]))
