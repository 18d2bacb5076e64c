"""Exporting a project's labels, streamed from the database in constant memory.

One service behind the `export_comparisons` command, the lead's export page and the API:
`export_options_from(params)` checks the same names everywhere (command options, query
parameters, the page's form), `export_count` previews how many rows an export has,
`export_has_rows` is asked before a download, and `export_stream` yields the file piece by
piece. The file formats live in export_formats.py.

Kinds:
  pairs      one row per comparison (human and imported): what training reads, with `margin`
             and `split` computed exactly as training computes them. Forms: explicit
             {"prompt", "chosen", "rejected"}, conversational (message lists, TRL's
             conversational preference form) or hh (whole Anthropic HH dialogues).
  rankings   one row per ranking judgment: completions best first, and the excluded ones.
  judgments  one row per judgment with everything recorded about it.
  labels     classify projects (their default kind): one row per classification, human and
             imported, {"prompt", "completion", "label"} with `split` as training splits them;
             what the labels import format reads back.

Quality filters (annotator.quality, computed once per export from the project's judgments):
  gold prompts' human rows are left out of pairs, rankings and labels unless include_gold (they
  test labelers; training never reads them); the judgments kind keeps them, marked `gold`.
  exclude_flagged leaves out the rows of labelers the quality report flags and of judgments
  faster than the project's min_seconds. min_agreement keeps only prompts whose labelers agree
  at least that much (quality.prompt_agreement over all the project's judgments); a prompt no
  two labelers answered has no figure and is left out, and so is every prompt of a classify
  project (annotator.quality reads pairwise and ranking answers only). Imported rows have no
  judgment: exclude_flagged keeps them, min_agreement goes by their prompt.

Prompts a lead took out of the queue (Prompt.taken_out) are left out of every kind unless
include_taken_out, as training leaves them out.

Review (annotator.review): `review` is not-rejected by default, leaving out the rows of rejected
judgments; accepted keeps only accepted judgments' rows, so imported rows (no judgment, nobody
reviewed them) are left out; any keeps everything.
"""

import hashlib
import hmac
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from itertools import islice

import pyarrow as pa
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import get_current_timezone, is_naive, make_aware

from rewardtrain.config import REVIEW_DEFAULT, REVIEW_FILTERS
from rewardtrain.data import LabelledText, is_heldout, split_labelled
from rewardtrain.selectors import flagged_and_fast, gold_prompt_ids, left_out_of_training, margin_for_strength

from . import export_formats, quality
from .fileformats.hh import hh_prompt_messages
from .models import Classification, Comparison, Completion, Judgment
from .review import review_kept
from .selectors import quality_facts

# What the API, the page and the command say of an export without rows: `datasets` loads no such
# file, not even a CSV header or a Parquet schema.
NOTHING_TO_EXPORT = "Nothing to export: no rows match these options, and a file with no rows does not load in datasets."
EXPORT_CHUNK_ROWS = 2000  # rows per database fetch: bounds memory whatever the project's size
KINDS = ("pairs", "rankings", "judgments", "labels")
FORMS = ("explicit", "conversational", "hh")
SOURCES = tuple(Comparison.Source.values)
SPLITS = ("train", "heldout")


class ExportOptionsError(ValueError):
    """Bad export options; `errors` maps each option name to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ExportOptions:
    format: str = "jsonl"
    kind: str = "pairs"
    form: str = "explicit"
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    labelers: tuple[str, ...] = ()  # usernames; empty for everyone
    source: str = ""  # "human" or "imported"; empty for both
    split: str = ""  # "train" or "heldout"; empty for both
    hash_annotators: bool = False
    min_agreement: float | None = None  # 0..1: only prompts labelers agreed on this much
    exclude_flagged: bool = False  # leave out flagged labelers' rows and too-fast judgments
    include_gold: bool = False  # gold prompts' human rows in pairs, rankings and labels
    include_taken_out: bool = False  # the rows of prompts taken out of the queue
    review: str = REVIEW_DEFAULT  # "accepted", "not-rejected" or "any" (annotator.review)

    def filename(self, slug: str) -> str:
        extension = export_formats.FORMATS[self.format][1]
        form = "" if self.form == "explicit" else f"-{self.form}"
        return f"{slug}-{self.kind}{form}.{extension}"

    @property
    def content_type(self) -> str:
        return export_formats.FORMATS[self.format][0]


def _choice(params, errors, name, choices, default):
    value = params.get(name) or default
    if value not in choices:
        errors[name] = f"Must be one of {', '.join(choices)}."
    return value


_OUT_OF_RANGE = "Out of range: the moment must fall within the years 1 to 9999 in UTC."


def _moment(params, errors, name, strict):
    """An ISO 8601 date and time, or (unless strict) a date, meaning its midnight; a naive time
    is in the server's zone."""
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        day = parse_date(text)
        if day is None:
            moment = parse_datetime(text)
        else:
            moment = None if strict else datetime(day.year, day.month, day.day)
    except ValueError:
        moment = None
    if moment is None:
        example = "2026-11-30T12:00:00Z" if strict else "2026-11-30 or 2026-11-30T12:00:00Z"
        errors[name] = f"Must be an ISO 8601 {'date and time' if strict else 'date or date and time'}, e.g. {example}."
        return None
    try:
        aware = make_aware(moment, get_current_timezone()) if is_naive(moment) else moment
        # In UTC: ISO 8601 allows offsets up to 23:59, PostgreSQL only up to 15:59.
        return aware.astimezone(timezone.utc)
    except OverflowError:  # the calendar's edge with an offset that takes it past year 1 or 9999
        errors[name] = _OUT_OF_RANGE
        return None


def _share(params, errors, name):
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = math.nan
    if not 0.0 <= share <= 1.0:
        errors[name] = "Must be a number from 0 to 1."
        return None
    return share


_FLAGS = ("hash_annotators", "exclude_flagged", "include_gold", "include_taken_out")


def _flag(params, name) -> bool:
    return str(params.get(name) or "").lower() in ("1", "true", "yes", "on")


def default_kind(project) -> str:
    """What an export of `project` holds unless asked otherwise: labels for a classify project."""
    return "labels" if project is not None and project.classifies else "pairs"


def export_options_from(params: Mapping[str, str], *, strict: bool = False, project=None) -> ExportOptions:
    """ExportOptions from text values (query parameters, form fields, command options); a missing
    or empty value takes the default. `strict` (the API) holds a value to what the OpenAPI schema
    says: given means not empty, times are date-times, and the flags (hash_annotators,
    exclude_flagged, include_gold, include_taken_out) are true or false.
    Given the project, the kind defaults to its default_kind. A kind the project's mode has no rows
    of (labels of a pairwise project, pairs of a classify one) is an export without rows (which
    the API and the page answer as nothing to export), not a bad option: the API's schema cannot
    say which kinds a project has. Raises ExportOptionsError."""
    errors = {}
    if strict:
        for name, value in params.items():
            if name != "labelers" and value == "":
                errors[name] = "Must not be empty; leave it out for the default."
        for name in _FLAGS:
            if params.get(name) not in (None, "", "true", "false"):
                errors[name] = "Must be true or false."
    options = ExportOptions(
        format=_choice(params, errors, "format", tuple(export_formats.FORMATS), "jsonl"),
        kind=_choice(params, errors, "kind", KINDS, default_kind(project)),
        form=_choice(params, errors, "form", FORMS, "explicit"),
        since=_moment(params, errors, "since", strict),
        until=_moment(params, errors, "until", strict),
        labelers=tuple(name.strip() for name in (params.get("labelers") or "").split(",") if name.strip()),
        source=_choice(params, errors, "source", ("", *SOURCES), ""),
        split=_choice(params, errors, "split", ("", *SPLITS), ""),
        hash_annotators=_flag(params, "hash_annotators"),
        min_agreement=_share(params, errors, "min_agreement"),
        exclude_flagged=_flag(params, "exclude_flagged"),
        include_gold=_flag(params, "include_gold"),
        include_taken_out=_flag(params, "include_taken_out"),
        review=_choice(params, errors, "review", REVIEW_FILTERS, REVIEW_DEFAULT),
    )
    if errors:
        raise ExportOptionsError(errors)
    # Only pairs have a conversational or HH form; the other kinds ignore it.
    return options if options.kind == "pairs" else replace(options, form="explicit")


def annotator_hash(username: str | None) -> str | None:
    """A stable pseudonym: the same labeler gets the same one in every export of this
    deployment, and without SECRET_KEY it cannot be turned back into a name."""
    if username is None:
        return None
    return hmac.new(settings.SECRET_KEY.encode(), username.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class _Kept:
    """What the export needs from the whole project, worked out once per export before any row
    is read (the text formats' timestamp loader would hand quality_facts text): the quality
    filters' sets (see the module's docstring) and the labels' held-out prompts."""

    gold: frozenset[int]  # the gold prompts' ids
    leave_out_gold: bool  # their human rows are left out
    flagged: frozenset[str] = frozenset()  # usernames whose judgments are left out
    fast: frozenset[int] = frozenset()  # judgment ids left out
    agreed: frozenset[int] | None = None  # the only prompt ids kept; None: no agreement filter
    labels_heldout: frozenset[str] = frozenset()  # the labels kind's held-out prompt texts


def _kept(project, options) -> _Kept:
    gold = gold_prompt_ids(project=project)
    flagged, fast, agreed = (), (), None
    if options.exclude_flagged or options.min_agreement is not None:
        facts, gold_answers = quality_facts(project=project)  # one pass over the judgments for both
    if options.exclude_flagged:
        flagged, fast = flagged_and_fast(project=project, facts_and_gold=(facts, gold_answers))
    if options.min_agreement is not None:
        agreed = frozenset(
            prompt for prompt, share in quality.prompt_agreement(facts).items() if share >= options.min_agreement
        )
    return _Kept(
        gold=frozenset(gold),
        leave_out_gold=not options.include_gold and options.kind != "judgments",
        flagged=frozenset(flagged),
        fast=frozenset(fast),
        agreed=agreed,
        labels_heldout=frozenset(_labels_heldout(project, options.review)) if options.kind == "labels" else frozenset(),
    )


def _filtered(rows, options, kept, *, source_field):
    """Rows narrowed by the options' time, labeler, source and quality filters (the split is
    checked per row). `source_field`: comparisons and classifications, which have a source and
    point at their judgment; else the rows are judgments themselves."""
    if options.since:
        rows = rows.filter(created_at__gte=options.since)
    if options.until:
        rows = rows.filter(created_at__lt=options.until)
    if options.labelers:
        rows = rows.filter(annotator__username__in=options.labelers)
    if options.source:
        # Judgments are all human: asking for imported ones is asking for none.
        if source_field:
            rows = rows.filter(source=options.source)
        elif options.source != Comparison.Source.HUMAN:
            rows = rows.none()
    if not options.include_taken_out:
        rows = rows.filter(prompt__taken_out=False)
    if kept.leave_out_gold and kept.gold:
        human = {"source": Comparison.Source.HUMAN} if source_field else {}
        rows = rows.exclude(prompt_id__in=kept.gold, **human)
    # An imported row's judgment is null, which these exclusions keep.
    judgment = "judgment__" if source_field else ""
    if kept.flagged:
        rows = rows.exclude(**{f"{judgment}annotator__username__in": kept.flagged})
    if kept.fast:
        rows = rows.exclude(**{f"{judgment}id__in": kept.fast})
    if kept.agreed is not None:
        rows = rows.filter(prompt_id__in=kept.agreed)
    return rows.filter(review_kept(options.review, of_judgments=not source_field))


def _comparisons(project, options, kept):
    return _filtered(Comparison.objects.filter(project=project), options, kept, source_field=True)


def _judgments(project, options, kept):
    rows = Judgment.objects.filter(prompt__project=project)
    if options.kind == "rankings":
        rows = rows.filter(~Q(ranking=[]) | ~Q(excluded=[]))
    return _filtered(rows, options, kept, source_field=False)


def _classifications(project, options, kept):
    return _filtered(Classification.objects.filter(project=project), options, kept, source_field=True)


def _queryset(project, options, kept):
    if options.kind == "pairs":
        return _comparisons(project, options, kept)
    if options.kind == "labels":
        return _classifications(project, options, kept)
    return _judgments(project, options, kept)


def export_count(*, project, options: ExportOptions) -> int:
    """How many rows `export_stream` would write now (the page's preview)."""
    kept = _kept(project, options)
    rows = _queryset(project, options, kept)
    return sum(_in_split(rows, options, kept)) if options.split else rows.count()


def export_has_rows(*, project, options: ExportOptions) -> bool:
    """Whether `export_stream` would write a row now. `datasets` loads no file without rows, not
    even a CSV header or a Parquet schema, so the API and the page say there is nothing to export
    rather than send one. Stops at the first row, where export_count reads them all."""
    kept = _kept(project, options)
    rows = _queryset(project, options, kept)
    return any(_in_split(rows, options, kept)) if options.split else rows.exists()


def _in_split(rows, options, kept) -> Iterator[bool]:
    """For each of `rows` in turn, whether its prompt falls in the options' split."""
    heldout = options.split == "heldout"
    is_out = kept.labels_heldout.__contains__ if options.kind == "labels" else is_heldout
    prompts = rows.values_list("prompt__text", flat=True).iterator(chunk_size=EXPORT_CHUNK_ROWS)
    return (is_out(prompt) == heldout for prompt in prompts)


def _split_name(prompt: str) -> str:
    # The same stable hash, at the same default fraction, that training holds prompts out by.
    return "heldout" if is_heldout(prompt) else "train"


def _pair_records(project, options, kept) -> Iterator[dict]:
    rows = _comparisons(project, options, kept).order_by("id").values_list(
        "prompt__text", "chosen__text", "rejected__text", "prompt__external_id", "chosen_id", "rejected_id",
        "annotator__username", "source", "created_at", "strength", "judgment_id",
    )
    for prompt, chosen, rejected, prompt_id, chosen_id, rejected_id, annotator, source, created, strength, judgment_id in rows.iterator(
        chunk_size=EXPORT_CHUNK_ROWS
    ):
        if options.form == "conversational":
            # A prompt stored in the HH form (hh imports, conversational imports) is its turns;
            # its replies then start with the space that followed "Assistant:".
            turns = hh_prompt_messages(prompt)
            if turns is not None:
                chosen, rejected = chosen.removeprefix(" "), rejected.removeprefix(" ")
            record = {
                "prompt": turns or [{"role": "user", "content": prompt}],
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}],
            }
        elif options.form == "hh":
            # The importer keeps a reply's leading space, so prompt + reply is the dialogue as it came.
            record = {"chosen": prompt + chosen, "rejected": prompt + rejected}
        else:
            record = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
        record.update(
            prompt_id=prompt_id,
            chosen_id=chosen_id,
            rejected_id=rejected_id,
            annotator=annotator,
            source=source,
            created_at=created,
            margin=margin_for_strength(strength),
            split=_split_name(prompt),
            judgment_id=judgment_id,
        )
        yield record


def _labels_heldout(project, review) -> set[str]:
    """The prompts training holds out of a classify project: rewardtrain's stratified
    split_labelled at its default fraction over what selectors.training_items reads (each
    labeler's label of a completion once, labels in the label set, less left_out_of_training and
    what the export's `review` leaves out, as a run with that review option) of the whole project,
    whatever the export's other filters. Unlike a pair's, a prompt's side depends on
    the other prompts too."""
    index = {label: i for i, label in enumerate(project.labels)}
    rows = (
        Classification.objects.filter(project=project, label__in=list(index))
        .filter(review_kept(review))
        .exclude(left_out_of_training(project=project))
        .values_list("annotator_id", "completion_id", "label", "prompt__text")
        .distinct()
        .iterator(chunk_size=EXPORT_CHUNK_ROWS)
    )
    prompts = {}  # one copy of each prompt text, however many labels it has
    items = [LabelledText(prompts.setdefault(prompt, prompt), "", index[label]) for _, _, label, prompt in rows]
    return {item.prompt for item in split_labelled(items)[1]}


def _label_records(project, options, kept) -> Iterator[dict]:
    heldout = kept.labels_heldout
    rows = _classifications(project, options, kept).order_by("id").values_list(
        "prompt__text", "completion__text", "label", "prompt__external_id", "completion_id", "annotator__username",
        "source", "created_at", "judgment_id",
    )
    for prompt, completion, label, prompt_id, completion_id, annotator, source, created, judgment_id in rows.iterator(
        chunk_size=EXPORT_CHUNK_ROWS
    ):
        yield {
            "prompt": prompt,
            "completion": completion,
            "label": label,
            "prompt_id": prompt_id,
            "completion_id": completion_id,
            "annotator": annotator,
            "source": source,
            "created_at": created,
            "split": "heldout" if prompt in heldout else "train",
            "judgment_id": judgment_id,
        }


def _in_chunks(rows):
    """Rows in lists of EXPORT_CHUNK_ROWS, so the completion texts a chunk names take one query."""
    iterator = rows.iterator(chunk_size=EXPORT_CHUNK_ROWS)
    while chunk := list(islice(iterator, EXPORT_CHUNK_ROWS)):
        yield chunk


def _texts(ids) -> dict[int, str]:
    return dict(Completion.objects.filter(id__in=set(ids)).values_list("id", "text"))


def _ranking_records(project, options, kept) -> Iterator[dict]:
    rows = _judgments(project, options, kept).order_by("id").values_list(
        "id", "prompt__external_id", "prompt__text", "ranking", "excluded", "annotator__username", "created_at"
    )
    for chunk in _in_chunks(rows):
        texts = _texts(i for row in chunk for i in (*row[3], *row[4]))
        for judgment_id, prompt_id, prompt, ranking, excluded, annotator, created in chunk:
            yield {
                "prompt": prompt,
                "completions": [texts[i] for i in ranking],
                "excluded": [texts[i] for i in excluded],
                "annotator": annotator,
                "prompt_id": prompt_id,
                "judgment_id": judgment_id,
                "completion_ids": ranking,
                "excluded_ids": excluded,
                "created_at": created,
                "split": _split_name(prompt),
            }


def _judgment_records(project, options, kept) -> Iterator[dict]:
    gold = kept.gold
    rows = _judgments(project, options, kept).order_by("id").values_list(
        "id", "prompt__external_id", "prompt__text", "annotator__username", "shown", "choice", "ranking", "excluded",
        "labels", "strength", "comment", "edited_completion_id", "edited_completion__text", "edited_completion__parent_id",
        "edited_completion__parent__text", "time_spent_ms", "created_at", "assignment__created_at",
        "assignment__expires_at", "prompt_id", "repeat_of_id",
    )
    for chunk in _in_chunks(rows):
        texts = _texts(i for row in chunk for i in row[4])
        for (
            judgment_id, prompt_id, prompt, annotator, shown, choice, ranking, excluded, labels, strength, comment,
            edited_id, edited_text, original_id, original_text, time_spent_ms, created, leased, expires, prompt_pk,
            repeat_of,
        ) in chunk:
            yield {
                "judgment_id": judgment_id,
                "prompt_id": prompt_id,
                "prompt": prompt,
                "annotator": annotator,
                "shown": shown,  # completion ids in display order (A, B, ...)
                "shown_texts": [texts[i] for i in shown],
                "choice": choice,
                "ranking": ranking,
                "excluded": excluded,
                # classify mode: each shown completion's label, in display order (None: excluded)
                "labels": [labels.get(str(i)) for i in shown] if labels else [],
                "strength": strength,
                "comment": comment,
                "edited_completion_id": edited_id,
                "edited_text": edited_text,
                "edit_original_id": original_id,
                "edit_original_text": original_text,
                "time_spent_ms": time_spent_ms,
                "created_at": created,
                "lease_started_at": leased,
                "lease_expires_at": expires,
                "split": _split_name(prompt),
                "gold": prompt_pk in gold,  # a gold item: scored against its known answer, never trained on
                "repeat_of": repeat_of,  # the judgment this one repeats with sides swapped (self-consistency)
            }


_STRING, _ID, _TIME = pa.string(), pa.int64(), pa.timestamp("us", tz="UTC")
_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
_PAIR_TAIL = [
    ("prompt_id", _STRING), ("chosen_id", _ID), ("rejected_id", _ID), ("annotator", _STRING), ("source", _STRING),
    ("created_at", _TIME), ("margin", pa.float64()), ("split", _STRING), ("judgment_id", _ID),
]
# (kind, form): each export's columns and types, defined here once. The Parquet writer writes
# this schema, the CSV header is its names, the JSONL records have its names in its order, and
# arbiter_reward.export_features (Django-free, so written out there) gives it to `datasets` for
# JSONL, which cannot type a column null in every row; tests/exporting/test_export_schemas.py
# holds all four equal.
SCHEMAS = {
    ("pairs", "explicit"): pa.schema([("prompt", _STRING), ("chosen", _STRING), ("rejected", _STRING), *_PAIR_TAIL]),
    ("pairs", "conversational"): pa.schema(
        [("prompt", _MESSAGES), ("chosen", _MESSAGES), ("rejected", _MESSAGES), *_PAIR_TAIL]
    ),
    ("pairs", "hh"): pa.schema([("chosen", _STRING), ("rejected", _STRING), *_PAIR_TAIL]),
    ("rankings", "explicit"): pa.schema([
        ("prompt", _STRING), ("completions", pa.list_(_STRING)), ("excluded", pa.list_(_STRING)),
        ("annotator", _STRING), ("prompt_id", _STRING), ("judgment_id", _ID), ("completion_ids", pa.list_(_ID)),
        ("excluded_ids", pa.list_(_ID)), ("created_at", _TIME), ("split", _STRING),
    ]),
    ("judgments", "explicit"): pa.schema([
        ("judgment_id", _ID), ("prompt_id", _STRING), ("prompt", _STRING), ("annotator", _STRING),
        ("shown", pa.list_(_ID)), ("shown_texts", pa.list_(_STRING)), ("choice", _STRING),
        ("ranking", pa.list_(_ID)), ("excluded", pa.list_(_ID)), ("labels", pa.list_(_STRING)), ("strength", _STRING),
        ("comment", _STRING),
        ("edited_completion_id", _ID), ("edited_text", _STRING), ("edit_original_id", _ID),
        ("edit_original_text", _STRING), ("time_spent_ms", _ID), ("created_at", _TIME),
        ("lease_started_at", _TIME), ("lease_expires_at", _TIME), ("split", _STRING), ("gold", pa.bool_()),
        ("repeat_of", _ID),
    ]),
    ("labels", "explicit"): pa.schema([
        ("prompt", _STRING), ("completion", _STRING), ("label", _STRING), ("prompt_id", _STRING),
        ("completion_id", _ID), ("annotator", _STRING), ("source", _STRING), ("created_at", _TIME),
        ("split", _STRING), ("judgment_id", _ID),
    ]),
}
_RECORDS = {
    "pairs": _pair_records, "rankings": _ranking_records, "judgments": _judgment_records, "labels": _label_records,
}  # fmt: skip


def _records(project, options, kept) -> Iterator[dict]:
    heldout = options.split == "heldout"
    for record in _RECORDS[options.kind](project, options, kept):
        if options.split and (record["split"] == "heldout") != heldout:
            continue
        if options.hash_annotators:
            record["annotator"] = annotator_hash(record["annotator"])
        yield record


def export_stream(*, project, options: ExportOptions = ExportOptions()) -> Iterator[str | bytes]:
    """The export file in pieces (text for JSONL and CSV, bytes for Parquet), read through
    server-side cursors inside one transaction: the file is one consistent snapshot however
    long the download takes, and the first piece goes out after the first chunk of rows."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # One snapshot for every query of the export (the judgment kinds look completion
            # texts up chunk by chunk), not one per statement.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        kept = _kept(project, options)  # in the snapshot, so the filters agree with the rows
        if options.format == "parquet":
            yield from export_formats.parquet_chunks(
                _records(project, options, kept), SCHEMAS[options.kind, options.form]
            )
        elif connection.vendor == "postgresql":
            yield from _text_pieces_with_iso_times(project, options, kept)
        else:
            yield from _text_pieces(project, options, kept)


def _text_pieces(project, options, kept):
    """JSONL or CSV pieces."""
    records = _records(project, options, kept)
    if options.format == "jsonl":
        return export_formats.jsonl_lines(records)
    return export_formats.csv_lines(records, SCHEMAS[options.kind, options.form].names)


def _text_pieces_with_iso_times(project, options, kept):
    """JSONL or CSV with PostgreSQL's timestamps read as ISO text, not datetimes: parsing them
    and formatting them back was a fifth of a JSONL export's time (bench/export_bench.py). The
    text loader is this connection's only while the export runs."""
    from psycopg.postgres import types

    adapters = connection.connection.adapters
    oid = types["timestamptz"].oid
    previous = adapters.get_loader(oid, 0)  # Django's, which carries the session's time zone

    class IsoTimestampLoader(previous):
        def load(self, data):
            # PostgreSQL's ISO output in the UTC session Django sets, e.g. "2026-12-01 21:47:35.12+00",
            # as datetime.isoformat(timespec="microseconds") writes it (export_formats):
            # "2026-12-01T21:47:35.120000+00:00", six fraction digits even when they are zero.
            text = bytes(data).decode()
            date, clock, offset = text[:10], text[11:19], text[-3:]
            fraction = text[20:-3]
            return f"{date}T{clock}.{fraction:0<6}{offset}:00"

    adapters.register_loader(oid, IsoTimestampLoader)
    try:
        yield from _text_pieces(project, options, kept)
    finally:
        adapters.register_loader(oid, previous)
