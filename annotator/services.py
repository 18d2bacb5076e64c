"""Labeling writes: leasing the next item, recording judgments, project set-up.

Views, API views and commands validate their input and call one of these.
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import combinations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import Assignment, Comparison, Completion, Judgment, Membership, Project, Prompt


class InvalidJudgment(ValueError):
    """The submitted result does not fit the assignment; `errors` maps field to message."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class JudgmentConflict(Exception):
    """The assignment was already judged or skipped under another client id."""


# --- the queue -------------------------------------------------------------


# The queue's hot statement, in SQL because it runs on every "next" and the ORM
# spent ten times longer building it than PostgreSQL spent running it. It picks
# a prompt this labeler has not judged or skipped whose judgments plus live
# leases are below the overlap; prompts already started come first (they finish
# sooner), which the descending prompt_queue_idx serves without a sort.
_CANDIDATE_SQL = """
SELECT p.id FROM annotator_prompt p
WHERE p.project_id = %s AND p.queued AND p.judgment_count < %s {exclude}
  AND p.judgment_count + (
    SELECT COUNT(*) FROM annotator_assignment a
    WHERE a.prompt_id = p.id AND a.status = 'active' AND a.expires_at > %s
  ) < %s
  AND NOT EXISTS (
    SELECT 1 FROM annotator_assignment a
    WHERE a.prompt_id = p.id AND a.annotator_id = %s AND a.status IN ('done', 'skipped')
  )
  AND NOT EXISTS (SELECT 1 FROM annotator_judgment j WHERE j.prompt_id = p.id AND j.annotator_id = %s)
ORDER BY p.judgment_count DESC, p.id
LIMIT 1 {lock}
"""

# Judgments plus live leases of one prompt, read after its row is locked.
_LOAD_SQL = """
SELECT p.judgment_count + (
  SELECT COUNT(*) FROM annotator_assignment a
  WHERE a.prompt_id = p.id AND a.status = 'active' AND a.expires_at > %s
) FROM annotator_prompt p WHERE p.id = %s
"""


def _next_candidate(cursor, *, project, annotator, now, passed_over):
    exclude = f"AND p.id NOT IN ({', '.join(['%s'] * len(passed_over))})" if passed_over else ""
    # SKIP LOCKED: labelers asking at once each take a different prompt instead of queueing on one.
    lock = "FOR UPDATE OF p SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    cursor.execute(
        _CANDIDATE_SQL.format(exclude=exclude, lock=lock),
        [project.pk, project.overlap, *passed_over, now, project.overlap, annotator.pk, annotator.pk],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _completions_to_show(*, project, prompt):
    """Pick the completions for one item and shuffle their display order.

    With more candidates than the project shows, take those compared least so
    far, so every pair gets labels before any pair gets many.
    """
    candidates = list(
        prompt.completions.filter(origin=Completion.Origin.IMPORTED).order_by("id").values_list("id", flat=True)
    )
    wanted = 2 if project.mode == Project.Mode.PAIRWISE else project.completions_shown
    if len(candidates) > wanted:
        pair_counts = {}
        for chosen, rejected in Comparison.objects.filter(prompt=prompt).values_list("chosen_id", "rejected_id"):
            key = frozenset((chosen, rejected))
            pair_counts[key] = pair_counts.get(key, 0) + 1
        if wanted == 2:
            pairs = list(combinations(candidates, 2))
            random.shuffle(pairs)
            chosen_ids = list(min(pairs, key=lambda p: pair_counts.get(frozenset(p), 0)))
        else:
            per_completion = {c: 0 for c in candidates}
            for key, n in pair_counts.items():
                for c in key:
                    if c in per_completion:
                        per_completion[c] += n
            random.shuffle(candidates)
            chosen_ids = sorted(candidates, key=per_completion.__getitem__)[:wanted]
    else:
        chosen_ids = candidates
    random.shuffle(chosen_ids)
    return chosen_ids


def assignment_next_for(*, annotator, project, now=None):
    """Lease the next item for this labeler, or return None when nothing is left.

    It writes (a lease), so it lives here rather than in selectors.py. A labeler
    who already holds a live lease in the project gets it back, so a reload
    never loses an item. On PostgreSQL the candidate prompt is locked with
    SKIP LOCKED; every lease of a prompt is created under that lock, so the
    load counted after it is exact.
    """
    now = now or timezone.now()
    with transaction.atomic():
        held = (
            Assignment.objects.filter(
                annotator=annotator, project=project, status=Assignment.Status.ACTIVE, expires_at__gt=now
            )
            .order_by("id")
            .first()
        )
        if held:
            return held

        db_now = connection.ops.adapt_datetimefield_value(now)
        passed_over = []
        with connection.cursor() as cursor:
            for _attempt in range(20):
                prompt_id = _next_candidate(
                    cursor, project=project, annotator=annotator, now=db_now, passed_over=passed_over
                )
                if prompt_id is None:
                    return None
                # The candidate query's snapshot may predate a lease another
                # labeler committed just before we got the lock: count again.
                cursor.execute(_LOAD_SQL, [db_now, prompt_id])
                if cursor.fetchone()[0] >= project.overlap:
                    passed_over.append(prompt_id)
                    continue
                prompt = Prompt(pk=prompt_id, project=project)
                shown = _completions_to_show(project=project, prompt=prompt)
                if len(shown) < 2:
                    passed_over.append(prompt_id)
                    continue
                return Assignment.objects.create(
                    project=project,
                    prompt_id=prompt_id,
                    annotator=annotator,
                    shown=shown,
                    expires_at=now + timedelta(seconds=project.lease_seconds),
                )
        return None


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


def _validate(*, project, shown, result):
    errors = {}
    shown_set = set(shown)
    if project.mode == Project.Mode.PAIRWISE:
        if result.ranking or result.excluded:
            errors["ranking"] = "This project is pairwise: send a choice, not a ranking."
        if result.choice and result.choice not in Judgment.Choice.values:
            errors["choice"] = f"Must be one of {', '.join(Judgment.Choice.values)}."
        elif result.choice == Judgment.Choice.TIE and not project.allow_tie:
            errors["choice"] = "Ties are not allowed in this project."
        elif not result.choice and result.edit_of is None:
            errors["choice"] = "A choice is required."
    else:
        if result.choice:
            errors["choice"] = "This project ranks: send a ranking, not a choice."
        ranked, excluded = list(result.ranking), list(result.excluded)
        if len(set(ranked)) != len(ranked) or len(set(excluded)) != len(excluded):
            errors["ranking"] = "A completion appears twice."
        elif not set(ranked) <= shown_set or not set(excluded) <= shown_set:
            errors["ranking"] = "Only the completions shown can be ranked or excluded."
        elif set(ranked) & set(excluded):
            errors["excluded"] = "A completion cannot be both ranked and excluded."
        elif set(ranked) | set(excluded) != shown_set:
            errors["ranking"] = "Rank every completion shown or mark it excluded."
    if result.strength and result.strength not in Judgment.Strength.values:
        errors["strength"] = f"Must be one of {', '.join(Judgment.Strength.values)}."
    if result.edit_of is not None:
        if not project.allow_edit:
            errors["edit"] = "Editing is not allowed in this project."
        elif result.edit_of not in shown_set:
            errors["edit"] = "Only a completion shown can be edited."
        elif not result.edit_text.strip():
            errors["edit"] = "The edited text is empty."
    if errors:
        raise InvalidJudgment(errors)


def judgment_record(*, assignment, result, client_id):
    """Store one judgment and its comparisons exactly once.

    Returns (judgment, created). A retry with a client_id already stored for
    this labeler returns the stored judgment and created=False, whatever the
    retry carried, so a double-submitted judgment is never stored twice.
    """
    annotator = assignment.annotator
    if not client_id:
        raise InvalidJudgment({"client_id": "Required: a unique id the client generates per judgment."})
    project = assignment.project
    _validate(project=project, shown=assignment.shown, result=result)

    try:
        with transaction.atomic():
            # Claim the lease with a conditional UPDATE: of two submits of one
            # assignment the second waits on the row lock, then matches nothing.
            claimed = Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.ACTIVE).update(
                status=Assignment.Status.DONE
            )
            if not claimed:
                raise _AlreadyClosed
            judgment = _judgment_store(assignment=assignment, project=project, result=result, client_id=client_id)
    except (_AlreadyClosed, IntegrityError):
        # A retry that raced its first attempt finds that attempt's judgment.
        stored = Judgment.objects.filter(annotator=annotator, client_id=client_id).first()
        if stored:
            return stored, False
        assignment.refresh_from_db(fields=["status"])
        if assignment.status == Assignment.Status.ACTIVE:
            raise JudgmentConflict("You have already judged this prompt.") from None
        raise JudgmentConflict(f"This item was already {assignment.get_status_display().lower()}.") from None
    return judgment, True


class _AlreadyClosed(Exception):
    pass


def _judgment_store(*, assignment, project, result, client_id):
    """The judgment, its edited completion and comparisons, and the prompt's count; inside the caller's transaction."""
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
    choice = result.choice
    if project.mode == Project.Mode.PAIRWISE and not choice and edited is not None:
        # An edit alone says the edited one was the better of the two.
        choice = Judgment.Choice.A if result.edit_of == assignment.shown[0] else Judgment.Choice.B
    judgment = Judgment.objects.create(
        annotator=annotator,
        prompt_id=assignment.prompt_id,
        assignment=assignment,
        shown=assignment.shown,
        choice=choice,
        ranking=list(result.ranking),
        excluded=list(result.excluded),
        edited_completion=edited,
        strength=result.strength,
        comment=result.comment,
        time_spent_ms=result.time_spent_ms,
        client_id=client_id,
    )
    pairs = pairs_from_result(
        shown=assignment.shown, choice=choice, ranking=result.ranking, edited_id=edited.pk if edited else None
    )
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
        for chosen, rejected in pairs
    )
    Prompt.objects.filter(pk=assignment.prompt_id).update(judgment_count=F("judgment_count") + 1)
    return judgment


# --- set-up ----------------------------------------------------------------


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


