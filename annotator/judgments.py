"""Recording a labeler's judgment (validated, stored once however often it is sent, turned into pairs or labels) and undoing it."""

from dataclasses import dataclass, field
from datetime import timedelta
from itertools import combinations

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, When
from django.utils import timezone

from .audit_log import audit_record
from .models import Assignment, Classification, Comparison, Completion, Judgment, Membership, Project, Prompt
from .queue import PROMPT_LOAD_SQL


class InvalidJudgment(ValueError):
    """The submitted result does not fit the assignment; `errors` maps field to message."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class JudgmentConflict(Exception):
    """The assignment was already judged or skipped under another client id."""

class LeaseExpired(JudgmentConflict):
    """The lease ran out and its place under the prompt's overlap went to another labeler."""


class JudgmentMismatch(Exception):
    """A client_id already stored for this labeler came back with a different judgment."""




@dataclass
class JudgmentResult:
    """What a labeler said about one assignment. Ids are Completion ids."""

    choice: str = ""  # pairwise: a / b / tie / both_bad
    ranking: list = field(default_factory=list)  # ranking: ids best first
    excluded: list = field(default_factory=list)  # ranking: ids too hard / invalid to rank
    strength: str = ""  # slightly / much
    comment: str = ""
    edit_of: int | None = None  # the shown completion that was edited
    edit_text: str = ""
    time_spent_ms: int | None = None
    labels: dict = field(default_factory=dict)  # classify: {completion id: label name}


def pairs_from_result(*, shown, choice="", ranking=(), edited_id=None):
    """The (chosen, rejected) pairs a judgment implies.

    A choice of A or B is one pair; ties and "both bad" are none; a ranking of
    K is K*(K-1)/2 pairs (excluded ones are not in it); an edit beats every
    completion shown, its own original included.
    """
    pairs = []
    if choice == Judgment.Choice.A:
        pairs.append((shown[0], shown[1]))
    elif choice == Judgment.Choice.B:
        pairs.append((shown[1], shown[0]))
    pairs.extend(combinations(ranking, 2))
    if edited_id is not None:
        pairs.extend((edited_id, other) for other in shown)
    return pairs


def _validate_labels(*, project, shown_set, result, errors):
    """Classify mode: every shown completion gets one of the project's labels or is excluded."""
    labelled, excluded = set(result.labels), list(result.excluded)
    if result.choice or result.ranking:
        errors["labels"] = "This project classifies: send labels, not a choice or a ranking."
    elif result.edit_of is not None:
        errors["edit"] = "Editing is not offered in classify mode."
    elif len(set(excluded)) != len(excluded):
        errors["excluded"] = "A completion appears twice."
    elif not labelled <= shown_set or not set(excluded) <= shown_set:
        errors["labels"] = "Only the completions shown can be labelled or excluded."
    elif labelled & set(excluded):
        errors["excluded"] = "A completion cannot be both labelled and excluded."
    elif labelled | set(excluded) != shown_set:
        errors["labels"] = "Label every completion shown or mark it excluded."
    elif not labelled:
        errors["labels"] = "Label at least one completion (or skip the item)."
    else:
        unknown = sorted({str(v) for v in result.labels.values() if v not in project.labels})
        if unknown:
            errors["labels"] = f"Unknown label {', '.join(map(repr, unknown))}; this project's labels are {', '.join(project.labels)}."


# PostgreSQL cannot store a NUL in text; the API's fields refuse one, the plain form's edit did not.
_NUL_REFUSED = "Contains a NUL character, which cannot be stored."


def _validate(*, project, shown, result):
    errors = {}
    shown_set = set(shown)
    if project.classifies:
        _validate_labels(project=project, shown_set=shown_set, result=result, errors=errors)
    elif result.labels:
        errors["labels"] = "Only a classify project takes labels."
    elif project.mode == Project.Mode.PAIRWISE:
        if result.ranking or result.excluded:
            errors["ranking"] = "This project is pairwise: send a choice, not a ranking."
        if result.choice and result.choice not in Judgment.Choice.values:
            errors["choice"] = f"Must be one of {', '.join(Judgment.Choice.values)}."
        elif result.choice == Judgment.Choice.TIE and not project.allow_tie:
            errors["choice"] = "Ties are not allowed in this project."
        elif not result.choice and result.edit_of is None:
            errors["choice"] = "A choice is required."
    else:
        ranked, excluded = list(result.ranking), list(result.excluded)
        if result.choice:
            errors["choice"] = "This project ranks: send a ranking, not a choice."
        elif not ranked and not excluded and result.edit_of is not None:
            pass  # an edit alone: it beats every completion shown, and nothing is said about the others
        elif len(set(ranked)) != len(ranked) or len(set(excluded)) != len(excluded):
            errors["ranking"] = "A completion appears twice."
        elif not set(ranked) <= shown_set or not set(excluded) <= shown_set:
            errors["ranking"] = "Only the completions shown can be ranked or excluded."
        elif set(ranked) & set(excluded):
            errors["excluded"] = "A completion cannot be both ranked and excluded."
        elif set(ranked) | set(excluded) != shown_set:
            errors["ranking"] = "Rank every completion shown or mark it excluded."
    if result.strength and result.strength not in Judgment.Strength.values:
        errors["strength"] = f"Must be one of {', '.join(Judgment.Strength.values)}."
    limit = settings.ARBITER_MAX_TEXT_CHARS
    if len(result.comment) > limit:
        errors["comment"] = f"The comment has {len(result.comment)} characters; at most {limit} are allowed."
    elif "\x00" in result.comment:
        errors["comment"] = _NUL_REFUSED
    if result.edit_of is not None:
        if not project.allow_edit:
            errors["edit"] = "Editing is not allowed in this project."
        elif result.edit_of not in shown_set:
            errors["edit"] = "Only a completion shown can be edited."
        elif not result.edit_text.strip():
            errors["edit"] = "The edited text is empty."
        elif len(result.edit_text) > limit:
            errors["edit"] = f"The edited text has {len(result.edit_text)} characters; at most {limit} are allowed."
        elif "\x00" in result.edit_text:
            errors["edit"] = _NUL_REFUSED
    if errors:
        raise InvalidJudgment(errors)


def _refuse_unchanged_edit(*, result):
    """InvalidJudgment when the edited text is the original's: it would store a copy of a
    completion as better than itself. One statement, only when an edit is sent (the submit
    path otherwise never reads a completion's text)."""
    original = Completion.objects.filter(pk=result.edit_of).values_list("text", flat=True).first()
    if result.edit_text == original:
        raise InvalidJudgment({"edit": "The edited text is the same as the original."})


# Claim the lease with a conditional UPDATE: of two submits of one assignment
# the second waits on the row lock, then matches nothing. It also matches
# nothing when the prompt has no room left for this judgment: the judgments
# (this one included: the caller counted it first, under the prompt's row lock)
# plus the other labelers' live leases must stay within the overlap. A live
# lease always has room; an expired one may have lost its place to a labeler
# who was given the prompt meanwhile.
_CLAIM_SQL = f"""
UPDATE annotator_assignment SET status = 'done'
WHERE id = %s AND status = 'active' AND {PROMPT_LOAD_SQL} <= %s
"""


def judgment_record(*, assignment, result, client_id, now=None):
    """Store one judgment and its comparisons exactly once.

    Returns (judgment, created). A retry with a client_id already stored for
    this labeler returns the stored judgment and created=False when it carries
    the same judgment, and raises JudgmentMismatch when it carries another one,
    so a double-submitted judgment is never stored twice nor silently changed.
    A submit whose lease expired is accepted while the prompt still has room
    under its overlap, else it raises LeaseExpired and writes nothing.
    """
    annotator = assignment.annotator
    if not client_id:
        raise InvalidJudgment({"client_id": "Required: a unique id the client generates per judgment."})
    project = assignment.project
    _validate(project=project, shown=assignment.shown, result=result)
    if result.edit_of is not None:
        _refuse_unchanged_edit(result=result)
    now = now or timezone.now()

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if assignment.repeat_of_id is not None:
                # A swapped repeat: outside the overlap and the prompt's count, so only the claim.
                claimed = Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.ACTIVE).update(
                    status=Assignment.Status.DONE
                )
            else:
                # Count this judgment first: the UPDATE takes the prompt's row lock,
                # which every new lease of the prompt is created under, so the claim
                # below (a later statement) sees every lease that exists.
                # A prompt a lead reserved for this labeler is open to everyone again once they judged it.
                Prompt.objects.filter(pk=assignment.prompt_id).update(
                    judgment_count=F("judgment_count") + 1,
                    reserved_for=Case(When(reserved_for=annotator.pk, then=None), default=F("reserved_for")),
                )
                db_now = connection.ops.adapt_datetimefield_value(now)
                cursor.execute(
                    _CLAIM_SQL, [assignment.pk, db_now, assignment.pk, assignment.prompt_id, project.overlap]
                )
                claimed = cursor.rowcount
            if claimed != 1:
                raise _NotClaimed
            judgment = _judgment_store(assignment=assignment, project=project, result=result, client_id=client_id)
    except (_NotClaimed, IntegrityError) as error:
        # A retry that raced its first attempt finds that attempt's judgment.
        stored = (
            Judgment.objects.select_related("edited_completion")
            .filter(annotator=annotator, client_id=client_id)
            .first()
        )
        if stored:
            if not _same_judgment(stored, assignment=assignment, result=result):
                raise JudgmentMismatch(
                    "This client_id was already used for a different judgment; send a new one for a new judgment."
                ) from None
            return stored, False
        try:
            assignment.refresh_from_db(fields=["status"])
        except Assignment.DoesNotExist:
            # judgment_undo replaced the lease this late retry names with a new one.
            raise JudgmentConflict("That judgment was undone; the item is back in your queue.") from None
        if assignment.status != Assignment.Status.ACTIVE:
            if not Membership.objects.filter(project=project, user=annotator).exists():
                raise JudgmentConflict("Your lease ended: you are no longer a member of this project.") from None
            raise JudgmentConflict(f"This item was already {assignment.get_status_display().lower()}.") from None
        if isinstance(error, _NotClaimed):
            # Still active, so the claim found no room: another labeler was
            # given the prompt after this lease ran out (by their clock).
            raise LeaseExpired("lease expired and the prompt is full") from None
        raise JudgmentConflict("You have already judged this prompt.") from None
    return judgment, True


class _NotClaimed(Exception):
    pass


def _same_judgment(stored, *, assignment, result):
    """Whether a stored judgment says what `result` says about `assignment` (time spent aside)."""
    edited = stored.edited_completion
    return (
        stored.assignment_id == assignment.pk
        and stored.choice == result.choice
        and stored.ranking == list(result.ranking)
        and stored.excluded == list(result.excluded)
        and stored.strength == result.strength
        and stored.comment == result.comment
        and stored.labels == _stored_labels(result.labels)
        and (edited.parent_id if edited else None) == result.edit_of
        and (edited.text if edited else "") == result.edit_text
    )


def _stored_labels(labels: dict) -> dict:
    """{completion id: label} as a JSON column keeps it: ids as strings, in id order."""
    return {str(k): labels[k] for k in sorted(labels)}


def judgment_pairs(judgment):
    """The (chosen, rejected) pairs stored for a judgment, computed as judgment_record computed them."""
    return pairs_from_result(
        shown=judgment.shown,
        choice=judgment.choice,
        ranking=judgment.ranking,
        edited_id=judgment.edited_completion_id,
    )


def _judgment_store(*, assignment, project, result, client_id):
    """The judgment, its edited completion and comparisons; inside the caller's transaction."""
    annotator = assignment.annotator
    edited = None
    if result.edit_of is not None:
        edited = Completion.objects.create(
            prompt_id=assignment.prompt_id,
            text=result.edit_text,
            origin=Completion.Origin.EDITED,
            parent_id=result.edit_of,
            author=annotator,
        )
    # An edit alone says only that the edited text beats every completion
    # shown; a choice or a ranking is stored only when the labeler made one.
    judgment = Judgment.objects.create(
        annotator=annotator,
        prompt_id=assignment.prompt_id,
        assignment=assignment,
        shown=assignment.shown,
        choice=result.choice,
        ranking=list(result.ranking),
        excluded=list(result.excluded),
        labels=_stored_labels(result.labels),
        edited_completion=edited,
        strength=result.strength,
        comment=result.comment,
        time_spent_ms=result.time_spent_ms,
        client_id=client_id,
        repeat_of_id=assignment.repeat_of_id,
    )
    if judgment.repeat_of_id is not None:
        return judgment  # a repeat measures the labeler; its pairs were stored the first time
    Comparison.objects.bulk_create(
        Comparison(
            project_id=project.pk,
            prompt_id=assignment.prompt_id,
            chosen_id=chosen,
            rejected_id=rejected,
            judgment=judgment,
            annotator=annotator,
            source=Comparison.Source.HUMAN,
            strength=result.strength,
        )
        for chosen, rejected in judgment_pairs(judgment)
    )
    Classification.objects.bulk_create(
        Classification(
            project_id=project.pk,
            prompt_id=assignment.prompt_id,
            completion_id=completion_id,
            label=label,
            judgment=judgment,
            annotator=annotator,
            source=Comparison.Source.HUMAN,
        )
        for completion_id, label in sorted(result.labels.items())
    )
    return judgment




class UndoRefused(Exception):
    """The judgment cannot be undone: its window closed, or it was undone already."""


def judgment_undo(*, judgment, actor, now=None):
    """Take back one of the actor's judgments, within ARBITER_UNDO_MINUTES of making it.

    Removes the judgment, its comparisons or classifications and its edited completion (if any),
    and gives the item back to its labeler as their held item: the judgment's
    assignment is replaced by a fresh lease showing the same completions in the
    same order, which the labeling page gives back before any other lease they
    hold. So "change" is this and then the labeling page. The prompt's load
    (judgments plus live leases) stays what it was, one judgment less and one
    lease more, so the overlap still holds; it is done under the
    prompt's row lock, which judgment_record and every new lease take too.
    Comparisons a training run already used stay in that run's checkpoint.
    Raises UndoRefused.
    """
    from .selectors import judgment_undo_deadline

    if judgment.annotator_id != actor.pk:
        raise UndoRefused("Only the labeler who made a judgment can undo it.")
    now = now or timezone.now()
    if now > judgment_undo_deadline(judgment=judgment):
        minutes = settings.ARBITER_UNDO_MINUTES
        raise UndoRefused(
            "This judgment can no longer be changed: "
            f"a judgment can be undone for {minutes:g} minutes after it is made."
        )
    with transaction.atomic():
        prompt = Prompt.objects.select_for_update(of=("self",)).select_related("project").get(pk=judgment.prompt_id)
        # Read again under the lock: of two undos at once, the second finds it gone.
        stored = Judgment.objects.filter(pk=judgment.pk).first()
        if stored is None:
            raise UndoRefused("This judgment was already undone.")
        comparisons, _ = Comparison.objects.filter(judgment=stored).delete()
        # Deleted here, not left to the cascade, so the audit entry can count them.
        classifications, _ = Classification.objects.filter(judgment=stored).delete()
        stored.delete()
        if stored.edited_completion_id is not None:
            Completion.objects.filter(pk=stored.edited_completion_id).delete()
        # A swapped repeat was never counted, and a rejected judgment stopped counting when it was rejected.
        if stored.repeat_of_id is None and stored.review != Judgment.Review.REJECTED:
            Prompt.objects.filter(pk=prompt.pk).update(judgment_count=F("judgment_count") - 1)
        # The judgment spent its lease. A late retry of the undone submit names that lease, so
        # it goes: the retry then finds no such item instead of storing the judgment again, and
        # the item comes back under a new lease (judgment_record made every judgment from an
        # assignment, which only goes with its prompt).
        Assignment.objects.filter(pk=stored.assignment_id).delete()
        Assignment.objects.create(
            project=prompt.project,
            prompt=prompt,
            annotator=actor,
            shown=stored.shown,
            repeat_of_id=stored.repeat_of_id,
            expires_at=now + timedelta(seconds=prompt.project.lease_seconds),
        )
        audit_record(
            actor=actor,
            project=prompt.project,
            action="judgment.undo",
            detail={
                "judgment": judgment.pk,  # stored.pk is None once deleted
                "prompt": prompt.external_id,
                "judged_at": stored.created_at.isoformat(),
                "choice": stored.choice,
                "ranking": stored.ranking,
                "excluded": stored.excluded,
                "edited_completion": stored.edited_completion_id,
                "comparisons_removed": comparisons,
                "labels": stored.labels,  # classify: {completion id: label}, {} otherwise
                "classifications_removed": classifications,
            },
        )
