"""Exporting a project's labels, streamed from the database in constant memory.

One service behind the `export_comparisons` command, the lead's export page and the API:
`export_options_from(params)` checks the same names everywhere (command options, query
parameters, the page's form), `export_count` previews how many rows an export has, and
`export_stream` yields the file piece by piece. The file formats live in export_formats.py.

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
"""

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice

import pyarrow as pa
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import get_current_timezone, is_naive, make_aware

from rewardtrain.data import LabelledText, is_heldout, split_labelled
from rewardtrain.selectors import margin_for_strength

from . import export_formats
from .fileformats.hh import hh_prompt_messages
from .models import Classification, Comparison, Completion, Judgment

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
    return make_aware(moment, get_current_timezone()) if is_naive(moment) else moment


def default_kind(project) -> str:
    """What an export of `project` holds unless asked otherwise: labels for a classify project."""
    return "labels" if project is not None and project.classifies else "pairs"


def export_options_from(params: Mapping[str, str], *, strict: bool = False, project=None) -> ExportOptions:
    """ExportOptions from text values (query parameters, form fields, command options); a missing
    or empty value takes the default. `strict` (the API) holds a value to what the OpenAPI schema
    says: given means not empty, times are date-times, and hash_annotators is true or false.
    Given the project, the kind defaults to its default_kind. A kind the project's mode has no rows
    of (labels of a pairwise project, pairs of a classify one) is an empty export, not an error:
    the API's schema cannot say which kinds a project has. Raises ExportOptionsError."""
    errors = {}
    if strict:
        for name, value in params.items():
            if name != "labelers" and value == "":
                errors[name] = "Must not be empty; leave it out for the default."
        if params.get("hash_annotators") not in (None, "", "true", "false"):
            errors["hash_annotators"] = "Must be true or false."
    options = ExportOptions(
        format=_choice(params, errors, "format", tuple(export_formats.FORMATS), "jsonl"),
        kind=_choice(params, errors, "kind", KINDS, default_kind(project)),
        form=_choice(params, errors, "form", FORMS, "explicit"),
        since=_moment(params, errors, "since", strict),
        until=_moment(params, errors, "until", strict),
        labelers=tuple(name.strip() for name in (params.get("labelers") or "").split(",") if name.strip()),
        source=_choice(params, errors, "source", ("", *SOURCES), ""),
        split=_choice(params, errors, "split", ("", *SPLITS), ""),
        hash_annotators=str(params.get("hash_annotators") or "").lower() in ("1", "true", "yes", "on"),
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


def _filtered(rows, options, *, source_field):
    """Rows narrowed by the options' time, labeler and source filters (the split is checked per row)."""
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
    return rows


def _comparisons(project, options):
    return _filtered(Comparison.objects.filter(project=project), options, source_field=True)


def _judgments(project, options):
    rows = Judgment.objects.filter(prompt__project=project)
    if options.kind == "rankings":
        rows = rows.filter(~Q(ranking=[]) | ~Q(excluded=[]))
    return _filtered(rows, options, source_field=False)


def _classifications(project, options):
    return _filtered(Classification.objects.filter(project=project), options, source_field=True)


def _queryset(project, options):
    if options.kind == "pairs":
        return _comparisons(project, options)
    if options.kind == "labels":
        return _classifications(project, options)
    return _judgments(project, options)


def export_count(*, project, options: ExportOptions) -> int:
    """How many rows `export_stream` would write now (the page's preview)."""
    rows = _queryset(project, options)
    if not options.split:
        return rows.count()
    heldout = options.split == "heldout"
    is_out = _labels_heldout(project).__contains__ if options.kind == "labels" else is_heldout
    prompts = rows.values_list("prompt__text", flat=True).iterator(chunk_size=EXPORT_CHUNK_ROWS)
    return sum(1 for prompt in prompts if is_out(prompt) == heldout)


def _split_name(prompt: str) -> str:
    # The same stable hash, at the same default fraction, that training holds prompts out by.
    return "heldout" if is_heldout(prompt) else "train"


def _pair_records(project, options) -> Iterator[dict]:
    rows = _comparisons(project, options).order_by("id").values_list(
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


def _labels_heldout(project) -> set[str]:
    """The prompts training holds out of a classify project: rewardtrain's stratified
    split_labelled at its default fraction over what selectors.training_items reads (each
    labeler's label of a completion once, labels in the label set) of the whole project, whatever
    the export's filters. Unlike a pair's, a prompt's side depends on the other prompts too."""
    index = {label: i for i, label in enumerate(project.labels)}
    rows = (
        Classification.objects.filter(project=project, label__in=list(index))
        .values_list("annotator_id", "completion_id", "label", "prompt__text")
        .distinct()
        .iterator(chunk_size=EXPORT_CHUNK_ROWS)
    )
    prompts = {}  # one copy of each prompt text, however many labels it has
    items = [LabelledText(prompts.setdefault(prompt, prompt), "", index[label]) for _, _, label, prompt in rows]
    return {item.prompt for item in split_labelled(items)[1]}


def _label_records(project, options) -> Iterator[dict]:
    heldout = _labels_heldout(project)
    rows = _classifications(project, options).order_by("id").values_list(
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


def _ranking_records(project, options) -> Iterator[dict]:
    rows = _judgments(project, options).order_by("id").values_list(
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


def _judgment_records(project, options) -> Iterator[dict]:
    rows = _judgments(project, options).order_by("id").values_list(
        "id", "prompt__external_id", "prompt__text", "annotator__username", "shown", "choice", "ranking", "excluded",
        "labels", "strength", "comment", "edited_completion_id", "edited_completion__text", "edited_completion__parent_id",
        "edited_completion__parent__text", "time_spent_ms", "created_at", "assignment__created_at",
        "assignment__expires_at",
    )
    for chunk in _in_chunks(rows):
        texts = _texts(i for row in chunk for i in row[4])
        for (
            judgment_id, prompt_id, prompt, annotator, shown, choice, ranking, excluded, labels, strength, comment,
            edited_id, edited_text, original_id, original_text, time_spent_ms, created, leased, expires,
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
            }


_STRING, _ID, _TIME = pa.string(), pa.int64(), pa.timestamp("us", tz="UTC")
_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
_PAIR_TAIL = [
    ("prompt_id", _STRING), ("chosen_id", _ID), ("rejected_id", _ID), ("annotator", _STRING), ("source", _STRING),
    ("created_at", _TIME), ("margin", pa.float64()), ("split", _STRING), ("judgment_id", _ID),
]
SCHEMAS = {  # (kind, form): the fixed Parquet schema, whose names are also the CSV header
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
        ("lease_started_at", _TIME), ("lease_expires_at", _TIME), ("split", _STRING),
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


def _records(project, options) -> Iterator[dict]:
    heldout = options.split == "heldout"
    for record in _RECORDS[options.kind](project, options):
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
        if options.format == "parquet":
            yield from export_formats.parquet_chunks(_records(project, options), SCHEMAS[options.kind, options.form])
        elif connection.vendor == "postgresql":
            yield from _text_pieces_with_iso_times(project, options)
        else:
            yield from _text_pieces(project, options)


def _text_pieces(project, options):
    """JSONL or CSV pieces."""
    records = _records(project, options)
    if options.format == "jsonl":
        return export_formats.jsonl_lines(records)
    return export_formats.csv_lines(records, SCHEMAS[options.kind, options.form].names)


def _text_pieces_with_iso_times(project, options):
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
            # as datetime.isoformat() writes it: "2026-12-01T21:47:35.120000+00:00" (a fraction
            # of six digits, or none when it is zero).
            text = bytes(data).decode()
            date, clock, offset = text[:10], text[11:19], text[-3:]
            fraction = text[20:-3]
            return f"{date}T{clock}.{fraction:0<6}{offset}:00" if fraction else f"{date}T{clock}{offset}:00"

    adapters.register_loader(oid, IsoTimestampLoader)
    try:
        yield from _text_pieces(project, options)
    finally:
        adapters.register_loader(oid, previous)
