"""Labeling reads: who may see what, and the numbers the pages show."""

from datetime import timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Length
from django.utils import timezone

from . import quality
from .models import Assignment, Classification, Comparison, Completion, Judgment, Membership, Project, Prompt

LEAD_ROLES = (Membership.Role.LEAD, Membership.Role.ADMIN)
# Who may review judgments and read the quality page; reviewers change nothing else.
REVIEW_ROLES = (Membership.Role.REVIEWER, *LEAD_ROLES)


def role_for(*, user, project):
    """The user's role in the project, or None for an outsider. Superusers are admins everywhere."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Membership.Role.ADMIN
    return Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()


def is_lead(*, user, project):
    return role_for(user=user, project=project) in LEAD_ROLES


def may_review(*, user, project):
    return role_for(user=user, project=project) in REVIEW_ROLES


def projects_for(*, user):
    """The projects open for labeling a user may see: every one for a superuser, else their memberships.

    Archived projects are left out (projects_archived_for lists them for leads and admins).
    """
    if user.is_superuser:
        return Project.objects.filter(archived_at=None).order_by("name")
    return Project.objects.filter(memberships__user=user, archived_at=None).order_by("name")


def projects_archived_for(*, user):
    """The archived projects a user leads or administers (every one for a superuser), last archived first."""
    archived = Project.objects.exclude(archived_at=None).order_by("-archived_at")
    if user.is_superuser:
        return archived
    return archived.filter(memberships__user=user, memberships__role__in=LEAD_ROLES)


def project_progress(*, project, annotator=None):
    """The numbers the pages show, in one query over the project's queued prompts.

    For everyone: `prompts`, `remaining` (prompts still short of the overlap),
    judgment totals. For a labeler also `done_today` and where the remaining
    prompts stand for them, counted with the queue's own rules so the labeling
    page never says "N left for you" beside "All done here":
    `left_for_you` (they hold it, or could lease it now), `held_by_others`
    (open to them, but every free place is leased to others right now: it comes
    back if those leases lapse or are skipped), `waiting_for_others` (they
    judged it; it still needs labels from other people) and `skipped_by_you`
    (they skipped it and no lead lifted the skip: never counted as done).
    Prompts taken out of the queue are left out; one reserved for someone else
    is not open to them.
    """
    now = timezone.now()
    overlap = project.overlap
    prompts = Prompt.objects.filter(project=project, queued=True, taken_out=False)
    # A prompt is owed its overlap plus any second judgment a disagreement asked for.
    short = Q(judgment_count__lt=overlap + F("extra_judgments"))
    counts = {"prompts": Count("id"), "remaining": Count("id", filter=short), "extra": Sum("extra_judgments")}
    if annotator:
        live = Assignment.objects.filter(
            prompt=OuterRef("pk"), status=Assignment.Status.ACTIVE, expires_at__gt=now
        )
        others_live = (  # swapped repeats are outside the overlap: they take no place
            live.exclude(annotator=annotator).filter(repeat_of__isnull=True).order_by().values("prompt").annotate(n=Count("id")).values("n")
        )
        prompts = prompts.annotate(
            others_leases=Coalesce(Subquery(others_live), 0),
            held_by_me=Exists(live.filter(annotator=annotator)),
            judged_by_me=Exists(
                Assignment.objects.filter(prompt=OuterRef("pk"), annotator=annotator, status=Assignment.Status.DONE)
            )
            | Exists(Judgment.objects.filter(prompt=OuterRef("pk"), annotator=annotator)),
            skipped_by_me=Exists(
                Assignment.objects.filter(prompt=OuterRef("pk"), annotator=annotator, status=Assignment.Status.SKIPPED)
            ),
        )
        open_to_me = (
            short
            & Q(judged_by_me=False, skipped_by_me=False)
            & (Q(reserved_for__isnull=True) | Q(reserved_for=annotator))
        )
        has_room = Q(held_by_me=True) | Q(judgment_count__lt=overlap + F("extra_judgments") - F("others_leases"))
        counts |= {
            "left_for_you": Count("id", filter=open_to_me & has_room),
            "held_by_others": Count("id", filter=open_to_me & ~has_room),
            "waiting_for_others": Count("id", filter=short & Q(judged_by_me=True)),
            "skipped_by_you": Count("id", filter=Q(skipped_by_me=True, judged_by_me=False)),
        }
    numbers = prompts.aggregate(**counts)
    judgments = Judgment.objects.filter(prompt__project=project)
    numbers["judgments"] = judgments.count()
    numbers["judgments_wanted"] = numbers["prompts"] * overlap + (numbers.pop("extra") or 0)
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


RECENT_JUDGMENTS_SHOWN = 50


def _label_letters(judgment, letters):
    """Classify mode: [(letter, label)] in display order, the label "" for an excluded completion."""
    return [(letters.get(pk, "?"), judgment.labels.get(str(pk), "")) for pk in judgment.shown]


def judgments_with_labels(judgments):
    """Give each judgment its `label_letters` (see _label_letters); for the judgments list's page."""
    for judgment in judgments:
        judgment.label_letters = _label_letters(
            judgment, {pk: chr(ord("A") + i) for i, pk in enumerate(judgment.shown)}
        )
    return judgments


def judgment_undo_deadline(*, judgment):
    """Until when its labeler may undo or change a judgment."""
    return judgment.created_at + timedelta(minutes=settings.ARBITER_UNDO_MINUTES)


def judgments_recent_for(*, annotator, project, now=None, limit=RECENT_JUDGMENTS_SHOWN):
    """A labeler's latest judgments in a project, newest first, as "My recent judgments" shows them.

    Each judgment carries `completions` ([(letter, text)] in display order, their
    edit last as "E"), `edited_letter` (the one the edit started from, with an
    edit), `letters` (completion id to letter), `pairs` (its
    comparisons as (chosen letter, rejected letter)), `ranking_letters`,
    `excluded_letters`, `label_letters` ([(letter, label)] in classify mode, "" for
    an excluded one), `deadline` and `undoable` (the deadline is still ahead).
    Three queries, whatever the limit.
    """
    now = now or timezone.now()
    judgments = list(
        Judgment.objects.filter(annotator=annotator, prompt__project=project)
        .select_related("prompt", "edited_completion")
        .prefetch_related(Prefetch("comparisons", queryset=Comparison.objects.order_by("id")))
        .order_by("-created_at", "-id")[:limit]
    )
    shown_ids = {pk for judgment in judgments for pk in judgment.shown}
    texts = dict(Completion.objects.filter(pk__in=shown_ids).values_list("id", "text"))
    for judgment in judgments:
        letters = {pk: chr(ord("A") + i) for i, pk in enumerate(judgment.shown)}
        judgment.completions = [(letters[pk], texts.get(pk, "")) for pk in judgment.shown]
        if judgment.edited_completion:
            judgment.edited_letter = letters.get(judgment.edited_completion.parent_id, "?")
            letters[judgment.edited_completion_id] = "E"
            judgment.completions.append(("E", judgment.edited_completion.text))
        judgment.letters = letters
        judgment.pairs = [(letters[c.chosen_id], letters[c.rejected_id]) for c in judgment.comparisons.all()]
        judgment.ranking_letters = [letters[pk] for pk in judgment.ranking]
        judgment.excluded_letters = [letters[pk] for pk in judgment.excluded]
        judgment.label_letters = _label_letters(judgment, letters)
        judgment.deadline = judgment_undo_deadline(judgment=judgment)
        judgment.undoable = now <= judgment.deadline
    return judgments


# --- the console -------------------------------------------------------------------


def judgments_filtered(
    *, project, labeler="", choice="", label="", has_comment="", has_edit="", review=None, since=None, until=None
):
    """The project's judgments, newest first, narrowed by the judgments browser's filters.

    `label` (classify mode) keeps the judgments that gave that label to any completion; `review`
    is a Judgment.Review value, or "" for the judgments not reviewed yet (None: any).
    """
    judgments = Judgment.objects.filter(prompt__project=project).select_related("annotator", "prompt", "reviewed_by")
    if review is not None:
        judgments = judgments.filter(review=review)
    if labeler:
        judgments = judgments.filter(annotator__username=labeler)
    if label:
        # Exists, not a join: a judgment giving the label to two completions is listed once.
        judgments = judgments.filter(Exists(Classification.objects.filter(judgment=OuterRef("pk"), label=label)))
    if choice == "ranking":
        judgments = judgments.exclude(ranking=[])
    elif choice:
        judgments = judgments.filter(choice=choice)
    if has_comment:
        judgments = judgments.exclude(comment="") if has_comment == "yes" else judgments.filter(comment="")
    if has_edit:
        judgments = judgments.filter(edited_completion__isnull=has_edit != "yes")
    if since:
        judgments = judgments.filter(created_at__date__gte=since)
    if until:
        judgments = judgments.filter(created_at__date__lte=until)
    return judgments.order_by("-created_at", "-id")


def imported_pairs_filtered(*, project, labeler="", since=None, until=None):
    """The project's imported pairs (already labelled, no judgment behind them), newest first,
    narrowed by the judgments browser's filters that apply to them."""
    pairs = Comparison.objects.filter(project=project, source=Comparison.Source.IMPORTED).select_related(
        "annotator", "prompt", "chosen", "rejected"
    )
    if labeler:
        pairs = pairs.filter(annotator__username=labeler)
    if since:
        pairs = pairs.filter(created_at__date__gte=since)
    if until:
        pairs = pairs.filter(created_at__date__lte=until)
    return pairs.order_by("-created_at", "-id")


def imported_pair(*, project, pk):
    """One imported pair of the project, with its prompt and both completions; None otherwise."""
    return (
        Comparison.objects.filter(project=project, source=Comparison.Source.IMPORTED, pk=pk)
        .select_related("annotator", "prompt", "chosen", "rejected")
        .first()
    )


def imported_labels_filtered(*, project, labeler="", label="", since=None, until=None):
    """The project's imported labelled completions (classify mode, no judgment behind them),
    newest first, narrowed by the judgments browser's filters that apply to them."""
    rows = Classification.objects.filter(project=project, source=Comparison.Source.IMPORTED).select_related(
        "annotator", "prompt", "completion"
    )
    if labeler:
        rows = rows.filter(annotator__username=labeler)
    if label:
        rows = rows.filter(label=label)
    if since:
        rows = rows.filter(created_at__date__gte=since)
    if until:
        rows = rows.filter(created_at__date__lte=until)
    return rows.order_by("-created_at", "-id")


def imported_label(*, project, pk):
    """One imported labelled completion of the project, with its prompt; None otherwise."""
    return (
        Classification.objects.filter(project=project, source=Comparison.Source.IMPORTED, pk=pk)
        .select_related("annotator", "prompt", "completion")
        .first()
    )


def judging_usernames(*, project):
    """Usernames of the members and of anyone who judged in the project, sorted."""
    members = Membership.objects.filter(project=project).values_list("user__username", flat=True)
    judged = Judgment.objects.filter(prompt__project=project).values_list("annotator__username", flat=True)
    return sorted(set(members) | set(judged.distinct()))


def judgment_as_seen(*, project, pk):
    """A judgment with what its labeler saw: `completions` [(letter, completion)] in display
    order (the edit last, as "E"), `pairs` [(chosen letter, rejected letter)], the ranking and
    exclusions as letters, and `label_letters` [(letter, label)] in classify mode, each
    completion's label also as its `given_label` ("" for an excluded one). None when it is
    not the project's."""
    judgment = (
        Judgment.objects.filter(prompt__project=project, pk=pk)
        .select_related("annotator", "prompt", "edited_completion__parent")
        .first()
    )
    if judgment is None:
        return None
    by_id = Completion.objects.in_bulk(judgment.shown)
    letters = {pk: chr(ord("A") + i) for i, pk in enumerate(judgment.shown)}
    judgment.completions = [(letters[pk], by_id[pk]) for pk in judgment.shown if pk in by_id]
    if judgment.edited_completion:
        letters[judgment.edited_completion_id] = "E"
        judgment.completions.append(("E", judgment.edited_completion))
        judgment.edit_of_letter = letters.get(judgment.edited_completion.parent_id, "?")
    judgment.pairs = [
        (letters.get(chosen, "?"), letters.get(rejected, "?"))
        for chosen, rejected in judgment.comparisons.order_by("id").values_list("chosen_id", "rejected_id")
    ]
    judgment.ranking_letters = [letters.get(pk, "?") for pk in judgment.ranking]
    judgment.excluded_letters = [letters.get(pk, "?") for pk in judgment.excluded]
    judgment.label_letters = _label_letters(judgment, letters)
    for completion in by_id.values():
        completion.given_label = judgment.labels.get(str(completion.pk), "")
    # The model's rewards for its pairs, where a version scored them as fresh labels (leads only).
    judgment.model_scores = [
        {"version": version, "chosen": letters.get(chosen, "?"), "rejected": letters.get(rejected, "?"),
         "chosen_reward": r_chosen, "rejected_reward": r_rejected, "agrees": r_chosen > r_rejected}
        for version, chosen, rejected, r_chosen, r_rejected in judgment.comparisons.filter(fresh_scores__isnull=False)
        .order_by("id", "fresh_scores__version__version")
        .values_list("fresh_scores__version__version", "chosen_id", "rejected_id",
                     "fresh_scores__chosen_reward", "fresh_scores__rejected_reward")
    ]  # fmt: skip
    return judgment


# --- quality control -----------------------------------------------------------


def quality_settings_for(project) -> quality.QualitySettings:
    return quality.QualitySettings(gold_min_accuracy=project.gold_min_accuracy, min_seconds=project.min_seconds)


def quality_facts(*, project) -> tuple[list[quality.JudgmentFacts], dict[int, tuple[int, ...]]]:
    """Every human judgment of the project as annotator.quality reads it, and the gold answers
    by prompt id. One pass over the judgments and one over the shown completions' lengths."""
    rows = list(
        Judgment.objects.filter(prompt__project=project)
        .order_by("id")
        .values_list("id", "annotator__username", "prompt_id", "shown", "choice", "ranking", "time_spent_ms",
                     "created_at", "repeat_of_id", "labels")  # fmt: skip
    )
    shown_ids = {i for row in rows for i in row[3]}
    lengths = dict(
        Completion.objects.filter(id__in=shown_ids).annotate(n=Length("text")).values_list("id", "n")
    )
    facts = [
        quality.JudgmentFacts(
            id=pk,
            labeler=username,
            prompt_id=prompt_id,
            shown=tuple(shown),
            choice=choice,
            ranking=tuple(ranking or ()),
            seconds=None if ms is None else ms / 1000,
            day=created.astimezone(dt_timezone.utc).date(),
            repeat_of=repeat_of,
            lengths={i: lengths.get(i, 0) for i in shown},
            labels={int(i): label for i, label in (labels or {}).items()},
        )
        for pk, username, prompt_id, shown, choice, ranking, ms, created, repeat_of, labels in rows
    ]
    gold = {
        pk: tuple(answer)
        for pk, answer in Prompt.objects.filter(project=project, gold__isnull=False).values_list("id", "gold")
        if answer
    }
    return facts, gold


def quality_report_for(*, project) -> dict:
    """The project's quality figures (annotator.quality.quality_report) from its judgments."""
    facts, gold = quality_facts(project=project)
    return quality.quality_report(facts, gold, quality_settings_for(project))


def flagged_labelers(*, project, report=None) -> set[str]:
    """Usernames the quality report flags (gold accuracy or speed)."""
    report = report or quality_report_for(project=project)
    return {row["username"] for row in report["labelers"] if row["flagged"]}


def too_fast_judgment_ids(*, project) -> set[int]:
    facts, _gold = quality_facts(project=project)
    return quality.fast_judgment_ids(facts, quality_settings_for(project))
