"""The labeling queue: leasing a labeler the next prompt (its completions chosen and ordered), repeats for quality control, and skips."""

import random
from collections import Counter
from datetime import timedelta
from itertools import combinations

from django.db import connection, transaction
from django.utils import timezone

from .models import Assignment, Classification, Comparison, Completion, Judgment, Project, Prompt

# The queue's hot statement, in SQL because it runs on every "next" and the ORM
# spent ten times longer building it than PostgreSQL spent running it. It picks
# a prompt open to this labeler (_OPEN_TO_LABELER): in the queue and not taken
# out, not judged or skipped by them (a skip a lead lifted no longer counts),
# its judgments plus live leases below the overlap. A prompt a lead reserved for
# this labeler comes before all others (the first branch, found through the
# reserved_for index; its LIMIT stops the UNION ALL before the second branch
# runs, so that branch locks nothing); then the unreserved prompts in the
# project's queue order (prompts already started first under fewest_labels,
# which the descending prompt_queue_idx serves without a sort); a prompt
# reserved for someone else is never picked. It returns that prompt's text and
# its imported completions with it (a row per completion; one with a NULL
# completion for a prompt that has none), and no row at all while the labeler
# already holds a live lease here, so the common "next" is one read and one
# insert.
_OPEN_TO_LABELER = """
    p.project_id = %s AND p.queued AND NOT p.taken_out AND p.judgment_count - p.extra_judgments < %s {exclude}
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
    )"""

_CANDIDATE_SQL = f"""
SELECT picked.id, picked.text, c.id, c.text FROM (
  SELECT * FROM (
    SELECT p.id, p.text FROM annotator_prompt p
    WHERE p.reserved_for_id = %s AND {_OPEN_TO_LABELER}
    ORDER BY p.id
    LIMIT 1 {{lock}}
  ) reserved
  UNION ALL
  SELECT * FROM (
    SELECT p.id, p.text FROM annotator_prompt p
    WHERE p.reserved_for_id IS NULL AND {_OPEN_TO_LABELER}
    ORDER BY {{order}}
    LIMIT 1 {{lock}}
  ) unreserved
  LIMIT 1
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
PROMPT_LOAD_SQL = """(
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
SELECT %s, %s, %s, %s, 'active', %s, %s WHERE {PROMPT_LOAD_SQL} < %s
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
    open_to_labeler = [
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
    ]
    cursor.execute(
        _CANDIDATE_SQL.format(exclude=exclude, lock=lock, order=order),
        [annotator.pk, *open_to_labeler, *open_to_labeler],
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
    not fresh in mind; never of a prompt taken out of the queue. Classify projects get no repeats.
    """
    held = _held_lease(annotator=annotator, project=project, now=now)
    if held is not None or project.classifies:
        return held
    firsts = Judgment.objects.filter(annotator=annotator, prompt__project=project, repeat_of__isnull=True)
    recent = list(firsts.order_by("-id").values_list("id", flat=True)[: project.repeat_gap])
    if len(recent) < project.repeat_gap:
        return None
    due = firsts.filter(repeat_assignments__isnull=True, prompt__taken_out=False)
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
    """Release the lease; the labeler will not be offered this prompt again (until a lead lifts
    the skip). A prompt reserved for them is open to everyone again."""
    with transaction.atomic():
        skipped = Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.ACTIVE).update(
            status=Assignment.Status.SKIPPED
        )
        if skipped:
            Prompt.objects.filter(pk=assignment.prompt_id, reserved_for=assignment.annotator_id).update(
                reserved_for=None
            )
