"""The prompts browser's reads: a project's prompts searched and filtered, and what one page shows of each.

`prompts_browsed` is a queryset (the view pages it); `prompt_rows` reads what a page shows of
its prompts (live leases, skips, agreement) in a fixed number of queries, whatever the page's size.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from . import quality
from .models import Assignment, Judgment, Prompt
from .stuck import labelers_of, stuck_prompt_ids

PROMPTS_PER_PAGE = 50  # the page's and the API's

# The filters, by the name the page's select and the API's `filter` use.
UNFINISHED, HELD, SKIPPED, STUCK, DISAGREEMENT, GOLD, TAKEN_OUT = (
    "unfinished", "held", "skipped", "stuck", "disagreement", "gold", "taken_out",
)  # fmt: skip
FILTERS = {
    UNFINISHED: "Unfinished (queued, short of judgments)",
    HELD: "Held (a live lease)",
    SKIPPED: "Skipped (by anyone)",
    STUCK: "Stuck (no one left to label)",
    DISAGREEMENT: "Labelers disagree",
    GOLD: "Gold",
    TAKEN_OUT: "Taken out of the queue",
}


class UnknownFilter(ValueError):
    pass


def _live_lease(now):
    return Assignment.objects.filter(prompt=OuterRef("pk"), status=Assignment.Status.ACTIVE, expires_at__gt=now)


def _searched(prompts, text):
    """PostgreSQL's full-text search ('simple': no stemming, so any language matches word for
    word) over the text, or the exact external id; elsewhere (SQLite) a case-insensitive substring."""
    if connection.vendor == "postgresql":
        query = SearchQuery(text, config="simple", search_type="websearch")
        return prompts.annotate(found=SearchVector("text", config="simple")).filter(Q(found=query) | Q(external_id=text))
    return prompts.filter(Q(text__icontains=text) | Q(external_id__icontains=text))


def disagreement_prompt_ids(*, project) -> set[int]:
    """Prompts whose labelers gave different answers (annotator.quality.prompt_agreement below 1).

    Only prompts with two or more first judgments can disagree, so only their judgments are read."""
    candidates = (
        Judgment.objects.filter(prompt__project=project, repeat_of__isnull=True)
        .values("prompt_id")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .values("prompt_id")
    )
    agreement = quality.prompt_agreement(_judgment_facts(Judgment.objects.filter(prompt_id__in=candidates)))
    return {prompt_id for prompt_id, share in agreement.items() if share < 1}


def _judgment_facts(judgments):
    """The judgments as annotator.quality reads them for agreement (no timing or lengths needed)."""
    rows = judgments.values_list("id", "annotator__username", "prompt_id", "shown", "choice", "ranking", "repeat_of_id", "labels")
    return [
        quality.JudgmentFacts(
            id=pk, labeler=username, prompt_id=prompt_id, shown=tuple(shown), choice=choice,
            ranking=tuple(ranking or ()), repeat_of=repeat_of,
            labels={int(i): label for i, label in (labels or {}).items()},
        )
        for pk, username, prompt_id, shown, choice, ranking, repeat_of, labels in rows
    ]  # fmt: skip


def prompts_browsed(*, project, search="", filter_by="", now=None):
    """The project's prompts matching `search` and the filter `filter_by` (one of FILTERS, or ""
    for all), oldest first, with the labeler each is reserved for."""
    now = now or timezone.now()
    prompts = Prompt.objects.filter(project=project)
    if search.strip():
        prompts = _searched(prompts, search.strip())
    if filter_by == UNFINISHED:
        prompts = prompts.filter(queued=True, taken_out=False, judgment_count__lt=F("extra_judgments") + project.overlap)
    elif filter_by == HELD:
        prompts = prompts.filter(Exists(_live_lease(now)))
    elif filter_by == SKIPPED:
        prompts = prompts.filter(Exists(Assignment.objects.filter(prompt=OuterRef("pk"), status=Assignment.Status.SKIPPED)))
    elif filter_by == STUCK:
        prompts = prompts.filter(id__in=stuck_prompt_ids(project=project))
    elif filter_by == DISAGREEMENT:
        prompts = prompts.filter(id__in=disagreement_prompt_ids(project=project))
    elif filter_by == GOLD:
        prompts = prompts.filter(gold__isnull=False)
    elif filter_by == TAKEN_OUT:
        prompts = prompts.filter(taken_out=True)
    elif filter_by:
        raise UnknownFilter(f"Unknown filter {filter_by!r}: use one of {', '.join(FILTERS)}.")
    return prompts.select_related("reserved_for").order_by("id")


@dataclass
class Lease:
    labeler: str
    expires_at: datetime


@dataclass
class PromptRow:
    """One prompt as the browser shows it."""

    prompt: Prompt
    wanted: int  # judgments wanted: the overlap plus any extra a disagreement asked for
    leases: list[Lease] = field(default_factory=list)  # live ones
    skipped_by: list[str] = field(default_factory=list)
    agreement: float | None = None  # share agreeing with the majority; None below two labelers

    @property
    def source(self) -> str:
        """Where it came from, as far as is known: prompts keep no link to their import job,
        so a `source` in the imported metadata, else whether it arrived labelled."""
        known = self.prompt.metadata.get("source") if isinstance(self.prompt.metadata, dict) else None
        if isinstance(known, str) and known:
            return known
        return "imported unlabelled" if self.prompt.queued else "imported labelled"


def prompt_rows(*, project, prompts, now=None) -> list[PromptRow]:
    """What the browser shows of these prompts (one page): three queries whatever their number."""
    now = now or timezone.now()
    prompts = list(prompts)
    ids = [p.pk for p in prompts]
    leases, skipped_by = defaultdict(list), defaultdict(list)
    for prompt_id, labeler, expires_at in (
        Assignment.objects.filter(prompt_id__in=ids, status=Assignment.Status.ACTIVE, expires_at__gt=now)
        .order_by("expires_at")
        .values_list("prompt_id", "annotator__username", "expires_at")
    ):
        leases[prompt_id].append(Lease(labeler, expires_at))
    for prompt_id, labeler in (
        Assignment.objects.filter(prompt_id__in=ids, status=Assignment.Status.SKIPPED)
        .order_by("annotator__username")
        .values_list("prompt_id", "annotator__username")
        .distinct()
    ):
        skipped_by[prompt_id].append(labeler)
    agreement = quality.prompt_agreement(_judgment_facts(Judgment.objects.filter(prompt_id__in=ids)))
    return [
        PromptRow(
            prompt=p, wanted=project.overlap + p.extra_judgments, leases=leases[p.pk],
            skipped_by=skipped_by[p.pk], agreement=agreement.get(p.pk),
        )
        for p in prompts
    ]  # fmt: skip


def labeling_members(*, project) -> list[str]:
    """Usernames of the members a prompt may be reassigned to, in order."""
    return list(labelers_of(project=project).values_list("user__username", flat=True))
