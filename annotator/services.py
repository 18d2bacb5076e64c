"""Labeling writes: leasing the next item, recording judgments, project set-up.

Views, API views and commands validate their input and call one of these.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import combinations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import Assignment, AuditEntry, Classification, Comparison, Completion, Judgment, Membership, Project, Prompt


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


# --- the queue -------------------------------------------------------------


# The queue's hot statement, in SQL because it runs on every "next" and the ORM
# spent ten times longer building it than PostgreSQL spent running it. It picks
# a prompt this labeler has not judged or skipped whose judgments plus live
# leases are below the overlap; prompts already started come first (they finish
# sooner), which the descending prompt_queue_idx serves without a sort. It
# returns that prompt's text and its imported completions with it (a row per
# completion; one with a NULL completion for a prompt that has none), and no
# row at all while the labeler already holds a live lease here, so the common
# "next" is one read and one insert.
_CANDIDATE_SQL = """
SELECT picked.id, picked.text, c.id, c.text FROM (
  SELECT p.id, p.text FROM annotator_prompt p
  WHERE p.project_id = %s AND p.queued AND p.judgment_count - p.extra_judgments < %s {exclude}
    AND p.judgment_count - p.extra_judgments + (
      SELECT COUNT(*) FROM annotator_assignment a
      WHERE a.prompt_id = p.id AND a.status = 'active' AND a.expires_at > %s AND a.repeat_of_id IS NULL
    ) < %s
    AND NOT EXISTS (
      SELECT 1 FROM annotator_assignment a
      WHERE a.prompt_id = p.id AND a.annotator_id = %s AND a.status IN ('done', 'skipped')
    )
    AND NOT EXISTS (SELECT 1 FROM annotator_judgment j WHERE j.prompt_id = p.id AND j.annotator_id = %s)
    AND NOT EXISTS (
      SELECT 1 FROM annotator_assignment held
      WHERE held.annotator_id = %s AND held.project_id = %s AND held.status = 'active' AND held.expires_at > %s
    )
  ORDER BY {order}
  LIMIT 1 {lock}
) picked
LEFT JOIN annotator_completion c ON c.prompt_id = picked.id AND c.origin = 'imported'
ORDER BY c.id
"""

# Judgments plus live leases of one prompt, less the judgments it is owed beyond
# the overlap (queue_order disagreement), against the overlap (a swapped repeat is outside the
# overlap: it re-asks a labeler who already counted). Only a statement that starts after
# the prompt's row lock was taken sees every lease committed by the lock's
# previous holder, so it is counted again there, not trusted from the
# candidate statement.
_LOAD_SQL = """(
  SELECT p.judgment_count - p.extra_judgments + (
    SELECT COUNT(*) FROM annotator_assignment a
    WHERE a.prompt_id = p.id AND a.status = 'active' AND a.expires_at > %s AND a.id <> %s
      AND a.repeat_of_id IS NULL
  ) FROM annotator_prompt p WHERE p.id = %s
)"""

# The lease, created only if the prompt (locked by the candidate statement)
# still has room: the recount and the insert in one statement.
_LEASE_SQL = f"""
INSERT INTO annotator_assignment (project_id, prompt_id, annotator_id, shown, status, created_at, expires_at)
SELECT %s, %s, %s, %s, 'active', %s, %s WHERE {_LOAD_SQL} < %s
RETURNING id
"""


# The candidate statement's ORDER BY per Project.queue_order. fewest_labels: prompts already
# started first (they finish sooner; prompt_queue_idx serves it without a sort). uncertain_first:
# the prompt whose closest pair the current model is least sure of (prompt_uncertain_queue_idx),
# unscored ones last. disagreement: the prompts a confident model says their labeler got wrong,
# owed a second judgment, first.
_QUEUE_ORDERS = {
    Project.QueueOrder.FEWEST_LABELS: "p.judgment_count DESC, p.id",
    Project.QueueOrder.UNCERTAIN_FIRST: "p.uncertainty ASC NULLS LAST, p.judgment_count DESC, p.id",
    Project.QueueOrder.DISAGREEMENT: "p.extra_judgments DESC, p.judgment_count DESC, p.id",
}


def _next_candidate(cursor, *, project, annotator, now, passed_over):
    """(prompt id, prompt text, [(completion id, text), ...]) of the next prompt, or None."""
    exclude = f"AND p.id NOT IN ({', '.join(['%s'] * len(passed_over))})" if passed_over else ""
    order = _QUEUE_ORDERS[project.queue_order]
    # SKIP LOCKED: labelers asking at once each take a different prompt instead of queueing on one.
    lock = "FOR UPDATE OF p SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    cursor.execute(
        _CANDIDATE_SQL.format(exclude=exclude, lock=lock, order=order),
        [
            project.pk,
            project.overlap,
            *passed_over,
            now,
            project.overlap,
            annotator.pk,
            annotator.pk,
            annotator.pk,
            project.pk,
            now,
        ],
    )
    rows = cursor.fetchall()
    if not rows:
        return None
    return rows[0][0], rows[0][1], [(row[2], row[3]) for row in rows if row[2] is not None]


def _completions_to_show(*, project, prompt_id, candidates):
    """Pick the completions for one item (ids, from `candidates`) and shuffle their display order.

    With more candidates than the project shows, take those compared least so
    far, so every pair gets labels before any pair gets many.
    """
    wanted = 2 if project.mode == Project.Mode.PAIRWISE else project.completions_shown
    if project.classifies:
        # Labels, not pairs: show the completions labelled least so far.
        labelled = Counter(
            Classification.objects.filter(prompt_id=prompt_id, source=Comparison.Source.HUMAN).values_list(
                "completion_id", flat=True
            )
        )
        candidates = list(candidates)
        random.shuffle(candidates)
        chosen_ids = sorted(candidates, key=lambda c: labelled[c])[:wanted]
        random.shuffle(chosen_ids)
        return chosen_ids
    if len(candidates) > wanted:
        pair_counts = {}
        for chosen, rejected in Comparison.objects.filter(prompt_id=prompt_id).values_list("chosen_id", "rejected_id"):
            key = frozenset((chosen, rejected))
            pair_counts[key] = pair_counts.get(key, 0) + 1
        if wanted == 2:
            pairs = list(combinations(candidates, 2))
            random.shuffle(pairs)
            if project.queue_order == Project.QueueOrder.UNCERTAIN_FIRST:
                chosen_ids = list(min(pairs, key=_uncertainty_key(candidates, pair_counts)))
            else:
                chosen_ids = list(min(pairs, key=lambda p: pair_counts.get(frozenset(p), 0)))
        else:
            per_completion = {c: 0 for c in candidates}
            for key, n in pair_counts.items():
                for c in key:
                    if c in per_completion:
                        per_completion[c] += n
            candidates = list(candidates)
            random.shuffle(candidates)
            chosen_ids = sorted(candidates, key=per_completion.__getitem__)[:wanted]
    else:
        chosen_ids = list(candidates)
    random.shuffle(chosen_ids)
    return chosen_ids


def _uncertainty_key(candidates, pair_counts):
    """Sort key of a pair under uncertain_first: the current model's reward gap (stored by
    refresh_queue_scores; an unscored pair after every scored one), then the least compared."""
    rewards = dict(Completion.objects.filter(id__in=candidates).values_list("id", "model_reward"))

    def key(pair):
        a, b = (rewards.get(c) for c in pair)
        gap = abs(a - b) if a is not None and b is not None else float("inf")
        return gap, pair_counts.get(frozenset(pair), 0)

    return key


def _lease(*, pk, project, annotator, prompt_id, shown, created_at, expires_at, prompt_text, texts):
    """The Assignment row just read or written, with its prompt and shown completions attached.

    Only the fields the item needs are loaded (from_db defers the others, so
    they load on access): the prompt's text and each shown completion's text.
    """
    db = connection.alias
    assignment = Assignment.from_db(
        db,
        ["id", "project_id", "prompt_id", "annotator_id", "shown", "status", "created_at", "expires_at"],
        [pk, project.pk, prompt_id, annotator.pk, shown, Assignment.Status.ACTIVE, created_at, expires_at],
    )
    assignment.project, assignment.annotator = project, annotator
    assignment.prompt = Prompt.from_db(db, ["id", "project_id", "text"], [prompt_id, project.pk, prompt_text])
    assignment.shown_completions = [
        Completion.from_db(db, ["id", "prompt_id", "text"], [completion_id, prompt_id, texts[completion_id]])
        for completion_id in shown
    ]
    return assignment


def _held_lease(*, annotator, project, now):
    """The live lease this labeler holds in the project, with its texts (one statement), or None."""
    rows = list(
        Completion.objects.filter(
            prompt__assignments__annotator=annotator,
            prompt__assignments__project=project,
            prompt__assignments__status=Assignment.Status.ACTIVE,
            prompt__assignments__expires_at__gt=now,
        )
        # Newest first: a labeler holds two leases only after an undo, whose item comes back first.
        .order_by("-prompt__assignments__id", "id")
        .values_list(
            "prompt__assignments__id",
            "prompt__assignments__shown",
            "prompt__assignments__created_at",
            "prompt__assignments__expires_at",
            "prompt_id",
            "prompt__text",
            "id",
            "text",
        )
    )
    if not rows:
        return None
    lease_id, shown, created_at, expires_at, prompt_id, prompt_text = rows[0][:6]
    return _lease(
        pk=lease_id,
        project=project,
        annotator=annotator,
        prompt_id=prompt_id,
        shown=shown,
        created_at=created_at,
        expires_at=expires_at,
        prompt_text=prompt_text,
        texts={row[6]: row[7] for row in rows if row[0] == lease_id},
    )


def assignment_next_for(*, annotator, project, now=None):
    """Lease the next item for this labeler, or return None when nothing is left.

    It writes (a lease), so it lives here rather than in selectors.py. A labeler
    who already holds a live lease in the project gets it back, so a reload
    never loses an item. On PostgreSQL the candidate prompt is locked with
    SKIP LOCKED; every lease of a prompt is created under that lock, so the
    load counted after it is exact.

    The returned assignment carries what the item shows: `prompt` (its text
    loaded) and `shown_completions`, the shown Completion rows in display order
    (id and text loaded). A new lease costs two statements besides the
    transaction; one more for a prompt with more completions than are shown.
    """
    now = now or timezone.now()
    db_now = connection.ops.adapt_datetimefield_value(now)
    passed_over = []
    with transaction.atomic(), connection.cursor() as cursor:
        if project.repeat_share and random.random() < project.repeat_share:
            repeat = _repeat_lease(annotator=annotator, project=project, now=now)
            if repeat is not None:
                return repeat
        for _attempt in range(20):
            candidate = _next_candidate(
                cursor, project=project, annotator=annotator, now=db_now, passed_over=passed_over
            )
            if candidate is None:
                # Nothing left, or the labeler holds a lease, which the candidate statement leaves alone.
                return _held_lease(annotator=annotator, project=project, now=now)
            prompt_id, prompt_text, completions = candidate
            candidates = [pk for pk, _text in completions]
            shown = _completions_to_show(project=project, prompt_id=prompt_id, candidates=candidates)
            if len(shown) < project.min_shown:
                passed_over.append(prompt_id)
                continue
            expires_at = now + timedelta(seconds=project.lease_seconds)
            if connection.vendor == "postgresql":
                # A lease is soft state: lost in a database crash, its labeler just
                # gets a new item. So its commit need not wait for the WAL flush, which
                # on a busy disk was the tail of "next" (bench/README.md). Judgments
                # keep synchronous commits: an acknowledged judgment is never lost.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(
                _LEASE_SQL,
                [
                    project.pk,
                    prompt_id,
                    annotator.pk,
                    connection.ops.adapt_json_value(shown, None),
                    db_now,
                    connection.ops.adapt_datetimefield_value(expires_at),
                    db_now,
                    0,  # no lease of this prompt is left out of the count
                    prompt_id,
                    project.overlap,
                ],
            )
            row = cursor.fetchone()
            if row is None:
                # The candidate statement's snapshot predates a lease another
                # labeler committed just before we got the lock: it is full.
                passed_over.append(prompt_id)
                continue
            return _lease(
                pk=row[0],
                project=project,
                annotator=annotator,
                prompt_id=prompt_id,
                shown=shown,
                created_at=now,
                expires_at=expires_at,
                prompt_text=prompt_text,
                texts=dict(completions),
            )
    return None


def _repeat_lease(*, annotator, project, now):
    """A lease re-showing one of this labeler's earlier judgments with the sides swapped (quality
    control: self-consistency), or None when none is due; the held lease when they hold one.

    Due: a first judgment (not itself a repeat, never re-served before) with a choice or a
    ranking, followed by at least `repeat_gap` of the labeler's first judgments, so that it is
    not fresh in mind. Classify projects get no repeats.
    """
    held = _held_lease(annotator=annotator, project=project, now=now)
    if held is not None or project.classifies:
        return held
    firsts = Judgment.objects.filter(annotator=annotator, prompt__project=project, repeat_of__isnull=True)
    recent = list(firsts.order_by("-id").values_list("id", flat=True)[: project.repeat_gap])
    if len(recent) < project.repeat_gap:
        return None
    due = firsts.filter(repeat_assignments__isnull=True)
    if recent:
        due = due.filter(id__lt=min(recent))
    due = due.exclude(ranking=[]) if project.mode == Project.Mode.RANKING else due.exclude(choice="")
    original = due.order_by("?").only("id", "prompt_id", "shown").first()
    if original is None:
        return None
    shown = list(reversed(original.shown))
    expires_at = now + timedelta(seconds=project.lease_seconds)
    lease = Assignment.objects.create(
        project=project, prompt_id=original.prompt_id, annotator=annotator, shown=shown,
        repeat_of=original, created_at=now, expires_at=expires_at,
    )  # fmt: skip
    prompt_text = Prompt.objects.filter(pk=original.prompt_id).values_list("text", flat=True).get()
    texts = dict(Completion.objects.filter(id__in=shown).values_list("id", "text"))
    return _lease(pk=lease.pk, project=project, annotator=annotator, prompt_id=original.prompt_id, shown=shown,
                  created_at=lease.created_at, expires_at=expires_at, prompt_text=prompt_text, texts=texts)  # fmt: skip


def assignment_skip(*, assignment):
    """Release the lease; the labeler will not be offered this prompt again."""
    Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.ACTIVE).update(
        status=Assignment.Status.SKIPPED
    )


# --- judgments -------------------------------------------------------------


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
WHERE id = %s AND status = 'active' AND {_LOAD_SQL} <= %s
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
                Prompt.objects.filter(pk=assignment.prompt_id).update(judgment_count=F("judgment_count") + 1)
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


# --- set-up ----------------------------------------------------------------


def audit_record(*, actor, project, action, detail=None):
    """One audit log line; call it inside the transaction that makes the change."""
    return AuditEntry.objects.create(
        project=project,
        project_slug=project.slug if project else "",
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_username=actor.get_username() if actor is not None and actor.is_authenticated else "",
        action=action,
        detail=detail or {},
    )


def project_create(*, slug, name="", mode=Project.Mode.PAIRWISE, completions_shown=2, overlap=1, **fields):
    project = Project(
        slug=slug, name=name or slug, mode=mode, completions_shown=completions_shown, overlap=overlap, **fields
    )
    project.full_clean()
    project.save()
    return project


def membership_add(*, project, user, role):
    membership, _ = Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
    return membership


def user_get_or_create(*, username, password=None, is_staff=False):
    """A user for scripts and the demo; the password is set only when given."""
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": is_staff})
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, created




# --- undo ------------------------------------------------------------------


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
        if stored.repeat_of_id is None:  # a swapped repeat was never counted
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


# --- gold items ----------------------------------------------------------------------


class GoldRefused(ValueError):
    """A judgment whose answer cannot be a gold answer (it prefers no completion)."""


def gold_answer_of(judgment) -> list[int]:
    """The ranking a judgment gives, completion ids best first: what marking it as gold stores."""
    if judgment.ranking:
        return list(judgment.ranking)
    if judgment.choice in (Judgment.Choice.A, Judgment.Choice.B) and len(judgment.shown) == 2:
        first, second = judgment.shown
        return [first, second] if judgment.choice == Judgment.Choice.A else [second, first]
    raise GoldRefused("Only a judgment that prefers one completion (A or B, or a ranking) can be a gold answer.")


def prompt_gold_set(*, prompt, actor, gold):
    """Make `prompt` a gold item with the expected ranking `gold` (completion ids best first), or
    an ordinary prompt again with None; audited as prompt.gold."""
    with transaction.atomic():
        old = Prompt.objects.select_for_update().values_list("gold", flat=True).get(pk=prompt.pk)
        Prompt.objects.filter(pk=prompt.pk).update(gold=gold)
        audit_record(
            actor=actor, project=prompt.project, action="prompt.gold",
            detail={"prompt": prompt.external_id, "old": old, "new": gold},
        )  # fmt: skip
    prompt.gold = gold


# --- the console: project settings and members --------------------------------


class MembershipRefused(ValueError):
    """A member change the rules do not allow; the message says which rule."""


def project_set_up(*, actor, fields):
    """A new project with `fields` (slug, name, mode, ...), audited as project.create.

    A creator who is not a superuser becomes its admin: otherwise the staff member
    who made it could not open it.
    """
    with transaction.atomic():
        project = project_create(**fields)
        if not actor.is_superuser:
            membership_add(project=project, user=actor, role=Membership.Role.ADMIN)
        audit_record(actor=actor, project=project, action="project.create", detail={"settings": fields})  # str, int and bool: JSON as is
    return project


def _newlines_normalised(value):
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def project_update(*, project, actor, fields):
    """Change a project's settings; audited as project.update with {field: [old, new]} for each change.

    Returns the changes ({} when nothing changed, and then nothing is written or logged).
    Text is compared with Windows and old Mac line endings read as newlines: a browser sends a
    textarea back with CRLF, and text stored with them before is the same text.
    """
    changes = {
        name: [getattr(project, name), value]
        for name, value in fields.items()
        if _newlines_normalised(getattr(project, name)) != _newlines_normalised(value)
    }
    if not changes:
        return {}
    for name, (_, value) in changes.items():
        setattr(project, name, value)
    try:
        project.full_clean()
    except ValidationError:
        project.refresh_from_db(fields=list(changes))  # the caller's instance keeps the stored values
        raise
    with transaction.atomic():
        project.save(update_fields=list(changes))
        audit_record(actor=actor, project=project, action="project.update", detail={"changes": changes})
    return changes


def _check_membership_rules(*, project, actor_role, old_role, new_role):
    """The rules, kept simple: only an admin grants, changes or removes the admin role, and a
    project that has admins always keeps at least one (so it never loses the people who may
    promote models and read its audit log). Superusers are admins everywhere."""
    admin = Membership.Role.ADMIN
    if admin in (old_role, new_role) and actor_role != admin:
        raise MembershipRefused("Only an admin can grant, change or remove the admin role.")
    if old_role == admin and new_role != admin:
        if Membership.objects.filter(project=project, role=admin).count() <= 1:
            raise MembershipRefused("This is the project's last admin: make someone else admin first.")


def membership_grant(*, project, actor, actor_role, user, role, created_user=False):
    """Add a user to the project with a role (member.add); an existing member is refused."""
    if Membership.objects.filter(project=project, user=user).exists():
        raise MembershipRefused(f"{user.get_username()} is already a member: change their role below.")
    _check_membership_rules(project=project, actor_role=actor_role, old_role=None, new_role=role)
    with transaction.atomic():
        membership = Membership.objects.create(project=project, user=user, role=role)
        audit_record(
            actor=actor,
            project=project,
            action="member.add",
            detail={"username": user.get_username(), "role": role, "created_user": created_user},
        )
    return membership


def membership_user_create_and_grant(*, project, actor, actor_role, username, password, role):
    """A new user account, made a member with `role`, in one transaction (nothing if refused)."""
    _check_membership_rules(project=project, actor_role=actor_role, old_role=None, new_role=role)
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, password=password)
        return membership_grant(
            project=project, actor=actor, actor_role=actor_role, user=user, role=role, created_user=True
        )


def membership_change(*, membership, actor, actor_role, role):
    """Give a member another role (member.role, old and new); the same role is a no-op."""
    old = membership.role
    if old == role:
        return membership
    _check_membership_rules(project=membership.project, actor_role=actor_role, old_role=old, new_role=role)
    with transaction.atomic():
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            actor=actor,
            project=membership.project,
            action="member.role",
            detail={"username": membership.user.get_username(), "role": [old, role]},
        )
    return membership


def membership_remove(*, membership, actor, actor_role):
    """Take a member out of the project (member.remove). Their judgments stay.

    The items they hold go back at once (their leases end as skipped): a late submit from them
    finds no active lease to claim, and the next labeler need not wait for the lease to expire.
    """
    _check_membership_rules(project=membership.project, actor_role=actor_role, old_role=membership.role, new_role=None)
    with transaction.atomic():
        membership.delete()
        Assignment.objects.filter(
            project=membership.project, annotator=membership.user, status=Assignment.Status.ACTIVE
        ).update(status=Assignment.Status.SKIPPED)
        audit_record(
            actor=actor,
            project=membership.project,
            action="member.remove",
            detail={"username": membership.user.get_username(), "role": membership.role},
        )
