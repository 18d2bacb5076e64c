"""Importing prompts, completions and labelled pairs from a file.

One service behind the `import_prompts` command, the lead's upload page, the
API and `seed_demo`. Every line is validated before anything is written; a
file with any error changes nothing, and a valid one is written in one
transaction with bulk inserts, so 100k lines take seconds rather than minutes.

Formats (see `FORMATS`):
  jsonl  {"id"?, "prompt", "completions": [text | {"text", "model"?, "metadata"?}], "metadata"?}
  csv    header prompt, completion_1..completion_9, optional id; other columns go to metadata
  pairs  {"prompt", "chosen", "rejected", "prompt_id"?} (what `export_comparisons` writes)
  hh     {"chosen", "rejected"}: whole Anthropic HH dialogues, split into prompt and replies
"""

import csv
import hashlib
import json
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from rewardtrain.data import split_hh_dialogues

from .models import Comparison, Completion, Prompt

FORMATS = ("jsonl", "csv", "pairs", "hh")
MIN_COMPLETIONS, MAX_COMPLETIONS = 2, 9  # a project shows 2..9 completions per item
MAX_ID_CHARS = Prompt._meta.get_field("external_id").max_length
MAX_MODEL_CHARS = Completion._meta.get_field("model_name").max_length
CSV_COMPLETION_COLUMNS = [f"completion_{i}" for i in range(1, MAX_COMPLETIONS + 1)]
BATCH = 1000  # rows per INSERT; also ids per lookup (under SQLite's 32766 variables)


def _s(n):
    return "" if n == 1 else "s"


@dataclass(frozen=True)
class LineError:
    """One problem in an import file. `line` is 1-based (a CSV header is line 1); None for the file."""

    line: int | None
    field: str
    reason: str

    def __str__(self):
        where = "file" if self.line is None else f"line {self.line}"
        return f"{where}, {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class ImportFailed(Exception):
    """The file was not imported; nothing was written."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error{_s(len(self.errors))}; nothing was imported")


@dataclass
class ImportReport:
    format: str
    prompts_created: int = 0
    completions_created: int = 0
    comparisons_created: int = 0
    skipped: int = 0  # prompts (or pairs) already in the project, or repeated in the file

    def summary(self):
        return (
            f"Created {self.prompts_created} prompts ({self.completions_created} completions, "
            f"{self.comparisons_created} comparisons); skipped {self.skipped} already there."
        )


@dataclass
class _PromptRecord:
    line: int
    external_id: str
    text: str
    completions: list  # [(text, model_name, metadata)]
    metadata: dict = field(default_factory=dict)
    id_given: bool = True


@dataclass
class _PairRecord:
    line: int
    external_id: str
    prompt: str
    chosen: str
    rejected: str


# --- entry points ------------------------------------------------------------


def validate_import_size(size):
    """Raise ImportFailed for a file over ARBITER_MAX_IMPORT_BYTES; callers check before reading it."""
    limit = settings.ARBITER_MAX_IMPORT_BYTES
    if size > limit:
        raise ImportFailed([LineError(None, "", f"{size:,} bytes, the limit is {limit:,} (ARBITER_MAX_IMPORT_BYTES)")])


def import_file(*, project, data: bytes, filename: str = "", format: str | None = None) -> ImportReport:
    """Validate the whole file, then write it all in one transaction. Raises ImportFailed."""
    validate_import_size(len(data))
    lines = _decode_lines(data)
    format = format or detect_format(filename, lines)
    if format not in FORMATS:
        raise ImportFailed([LineError(None, "format", f"unknown format {format!r}; use one of {', '.join(FORMATS)}")])
    if format in ("pairs", "hh"):
        report = _import_pairs(project, _parse_pairs(lines, hh=format == "hh"), format)
    else:
        records = _parse_csv(lines) if format == "csv" else _parse_jsonl(lines)
        report = _import_prompts(project, records, format)
    if report.completions_created >= ANALYZE_AFTER_ROWS:
        _refresh_planner_statistics()
    return report


# Right after a bulk load PostgreSQL still plans with the empty tables'
# statistics: the queue's "next" took 87 ms instead of 1 on 10,000 fresh
# prompts until autovacuum caught up. Large imports refresh them at once.
ANALYZE_AFTER_ROWS = 1000


def _refresh_planner_statistics():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE annotator_prompt, annotator_completion, annotator_comparison")


def detect_format(filename, lines):
    """The format from the extension, then from the keys of the first JSON object."""
    if filename.lower().endswith(".csv"):
        return "csv"
    first = next((line for line in lines if line.strip()), "")
    try:
        keys = json.loads(first).keys()
    except (ValueError, RecursionError, AttributeError):
        looks_like_json = filename.lower().endswith((".jsonl", ".json", ".ndjson")) or first.lstrip()[:1] in ("{", "[")
        return "jsonl" if looks_like_json else "csv"
    if "chosen" in keys:
        return "pairs" if "prompt" in keys else "hh"
    return "jsonl"


# --- reading -----------------------------------------------------------------


def _decode_lines(data):
    """Lines as text (a UTF-8 BOM is dropped); every line that is not UTF-8 is an error."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines, errors = [], []
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            reason = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            errors.append(LineError(number, "", reason))
    if errors:
        raise ImportFailed(errors)
    return lines


def _check_text(errors, line, name, value, *, required=True):
    """Append an error unless value is a non-empty string within ARBITER_MAX_TEXT_CHARS."""
    if not isinstance(value, str):
        errors.append(LineError(line, name, "required" if value is None else "must be a string"))
        return False
    if required and not value.strip():
        errors.append(LineError(line, name, "empty"))
        return False
    limit = settings.ARBITER_MAX_TEXT_CHARS
    if len(value) > limit:
        reason = f"{len(value):,} characters, the limit is {limit:,} (ARBITER_MAX_TEXT_CHARS)"
        errors.append(LineError(line, name, reason))
        return False
    return True


def _check_id(errors, line, name, value):
    """A given id as a string (numbers are accepted), or None after recording an error."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors.append(LineError(line, name, "must be a string or an integer"))
        return None
    value = str(value).strip()
    if not value:
        errors.append(LineError(line, name, "empty"))
        return None
    if len(value) > MAX_ID_CHARS:
        errors.append(LineError(line, name, f"{len(value)} characters, the limit is {MAX_ID_CHARS}"))
        return None
    return value


def text_id(text):
    """The external id of a prompt given without one: stable across files and re-imports."""
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _json_objects(lines, errors):
    """(line number, dict) for every non-blank line, recording lines that are not JSON objects."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, "", f"invalid JSON: {exc.msg} at column {exc.colno}"))
            continue
        except (ValueError, RecursionError) as exc:  # an integer too long, nesting too deep
            errors.append(LineError(number, "", f"invalid JSON: {exc}"))
            continue
        if not isinstance(obj, dict):
            errors.append(LineError(number, "", f"must be a JSON object, got {type(obj).__name__}"))
            continue
        yield number, obj


def _check_completion_count(errors, line, name, n):
    if not MIN_COMPLETIONS <= n <= MAX_COMPLETIONS:
        errors.append(
            LineError(
                line,
                name,
                f"{n} completion{_s(n)}; each prompt needs {MIN_COMPLETIONS} to {MAX_COMPLETIONS} "
                f"(a project shows {MIN_COMPLETIONS} to {MAX_COMPLETIONS} per item)",
            )
        )


def _check_distinct(errors, line, names, texts):
    first_seen = {}
    for name, text in zip(names, texts):
        if text in first_seen:
            errors.append(LineError(line, name, f"same text as {first_seen[text]}"))
        first_seen.setdefault(text, name)


def _parse_jsonl(lines):
    errors, records = [], []
    for number, obj in _json_objects(lines, errors):
        ok = _check_text(errors, number, "prompt", obj.get("prompt"))
        metadata = obj.get("metadata") or {}  # null is as good as absent
        if not isinstance(metadata, dict):
            errors.append(LineError(number, "metadata", "must be an object"))
            ok = False
        external_id = None
        if obj.get("id") is not None:
            external_id = _check_id(errors, number, "id", obj["id"])
            ok = ok and external_id is not None
        completions_in = obj.get("completions")
        if not isinstance(completions_in, list):
            errors.append(LineError(number, "completions", "required: a list of texts or objects"))
            continue
        _check_completion_count(errors, number, "completions", len(completions_in))
        completions, names = [], []
        for i, item in enumerate(completions_in):
            name = f"completions[{i}]"
            names.append(name)
            if isinstance(item, dict):
                text, model, meta = item.get("text"), item.get("model") or "", item.get("metadata") or {}
                name_text = f"{name}.text"
            else:
                text, model, meta, name_text = item, "", {}, name
            ok = _check_text(errors, number, name_text, text) and ok
            if not isinstance(model, str) or len(model) > MAX_MODEL_CHARS:
                reason = f"must be a string of at most {MAX_MODEL_CHARS} characters"
                errors.append(LineError(number, f"{name}.model", reason))
                ok = False
            if not isinstance(meta, dict):
                errors.append(LineError(number, f"{name}.metadata", "must be an object"))
                ok = False
            completions.append((text, model, meta))
        if ok and MIN_COMPLETIONS <= len(completions) <= MAX_COMPLETIONS:
            _check_distinct(errors, number, names, [c[0] for c in completions])
            records.append(
                _PromptRecord(
                    number, external_id or text_id(obj["prompt"]), obj["prompt"], completions, metadata,
                    id_given=external_id is not None,
                )
            )
    _check_unique_ids(errors, records)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.line or 0))
    return records


def _csv_rows(lines):
    """(first line number, row) for each CSV record; a quoted field may span lines."""
    reader = csv.reader(line + "\n" for line in lines)
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _parse_csv(lines):
    errors, records = [], []
    rows = _csv_rows(lines)
    try:
        _, header = next(rows, (1, []))
        header = [column.strip() for column in header]
        if not {"prompt", "completion_1", "completion_2"} <= set(header):
            raise ImportFailed(
                [LineError(1, "header", "needs the columns prompt, completion_1 and completion_2 (up to completion_9)")]
            )
        for number, row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                errors.append(LineError(number, "", f"{len(row)} cells, the header has {len(header)}"))
                continue
            _parse_csv_row(errors, records, number, dict(zip(header, row)))
    except csv.Error as exc:
        errors.append(LineError(None, "", f"not valid CSV: {exc}"))
    _check_unique_ids(errors, records)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.line or 0))
    return records


def _parse_csv_row(errors, records, number, row):
    ok = _check_text(errors, number, "prompt", row["prompt"])
    external_id = None
    if row.get("id", "").strip():
        external_id = _check_id(errors, number, "id", row["id"])
        ok = ok and external_id is not None
    names, texts = [], []
    for column in CSV_COMPLETION_COLUMNS:
        if row.get(column, "").strip():
            ok = _check_text(errors, number, column, row[column]) and ok
            names.append(column)
            texts.append(row[column])
    _check_completion_count(errors, number, "completions", len(texts))
    if ok and len(texts) >= MIN_COMPLETIONS:
        _check_distinct(errors, number, names, texts)
        known = {"id", "prompt", *CSV_COMPLETION_COLUMNS}
        metadata = {column: value for column, value in row.items() if column not in known and column}
        records.append(
            _PromptRecord(
                number, external_id or text_id(row["prompt"]), row["prompt"],
                [(text, "", {}) for text in texts], metadata, id_given=external_id is not None,
            )
        )


def _check_unique_ids(errors, records):
    first_line = {}
    for record in records:
        if record.external_id in first_line:
            if record.id_given:
                reason = f"id {record.external_id!r} is also on line {first_line[record.external_id]}"
            else:
                reason = f"same prompt as line {first_line[record.external_id]}; give each an id to keep both"
            errors.append(LineError(record.line, "id" if record.id_given else "prompt", reason))
        first_line.setdefault(record.external_id, record.line)


def _parse_pairs(lines, *, hh):
    errors, records = [], []
    prompt_of_id = {}  # external id -> (prompt text, first line): one id must mean one prompt
    for number, obj in _json_objects(lines, errors):
        ok = _check_text(errors, number, "chosen", obj.get("chosen"))
        ok = _check_text(errors, number, "rejected", obj.get("rejected")) and ok
        if not hh:
            ok = _check_text(errors, number, "prompt", obj.get("prompt")) and ok
        external_id = None
        id_field = "prompt_id" if "prompt_id" in obj else "id"
        if obj.get(id_field) is not None:
            external_id = _check_id(errors, number, id_field, obj[id_field])
            ok = ok and external_id is not None
        if not ok:
            continue
        if obj["chosen"] == obj["rejected"]:
            errors.append(LineError(number, "rejected", "the same text as chosen"))
            continue
        if hh:
            try:
                prompt, chosen, rejected = split_hh_dialogues(obj["chosen"], obj["rejected"])
            except ValueError as exc:
                errors.append(LineError(number, "chosen", str(exc)))
                continue
            if not chosen.strip() or not rejected.strip() or chosen == rejected:
                which = "rejected" if chosen.strip() else "chosen"
                reason = "no reply after the shared prompt, or the same reply on both sides"
                errors.append(LineError(number, which, reason))
                continue
        else:
            prompt, chosen, rejected = obj["prompt"], obj["chosen"], obj["rejected"]
        external_id = external_id or text_id(prompt)
        seen_text, seen_line = prompt_of_id.setdefault(external_id, (prompt, number))
        if seen_text != prompt:
            errors.append(LineError(number, id_field, f"{external_id!r} names a different prompt on line {seen_line}"))
            continue
        records.append(_PairRecord(number, external_id, prompt, chosen, rejected))
    if errors:
        raise ImportFailed(errors)
    return records


# --- writing -----------------------------------------------------------------


def _chunks(items, size=BATCH):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _existing_prompts(project, external_ids):
    """{external id: (pk, text)} for the ids already in the project, looked up in chunks."""
    found = {}
    for chunk in _chunks(external_ids):
        for pk, external_id, text in Prompt.objects.filter(project=project, external_id__in=chunk).values_list(
            "pk", "external_id", "text"
        ):
            found[external_id] = (pk, text)
    return found


def _race_lost():
    return ImportFailed([LineError(None, "", "another import added some of these rows at the same time; try again")])


def _import_prompts(project, records, format):
    report = ImportReport(format=format)
    existing = _existing_prompts(project, [r.external_id for r in records])
    new = [r for r in records if r.external_id not in existing]
    report.skipped = len(records) - len(new)
    try:
        with transaction.atomic():
            for chunk in _chunks(new):
                prompts = [
                    Prompt(project=project, external_id=r.external_id, text=r.text, metadata=r.metadata) for r in chunk
                ]
                Prompt.objects.bulk_create(prompts)
                completions = [
                    Completion(prompt_id=prompt.pk, text=text, model_name=model, metadata=meta)
                    for prompt, record in zip(prompts, chunk)
                    for text, model, meta in record.completions
                ]
                Completion.objects.bulk_create(completions, batch_size=BATCH)
                report.prompts_created += len(prompts)
                report.completions_created += len(completions)
    except IntegrityError:
        raise _race_lost() from None
    return report


def _import_pairs(project, records, format):
    """Labelled pairs: prompts stored unqueued, completions deduplicated by text, imported comparisons."""
    report = ImportReport(format=format)
    existing = _existing_prompts(project, list(dict.fromkeys(r.external_id for r in records)))
    errors = [
        LineError(r.line, "prompt", f"prompt id {r.external_id!r} is already in the project with a different text")
        for r in records
        if r.external_id in existing and existing[r.external_id][1] != r.prompt
    ]
    if errors:
        raise ImportFailed(errors)
    prompt_pk = {external_id: pk for external_id, (pk, _) in existing.items()}
    completion_pk = {}  # (prompt pk, text) -> completion pk
    known_pairs = set()  # (prompt pk, chosen pk, rejected pk)
    for chunk in _chunks(list(prompt_pk.values())):
        completion_pk.update(
            ((prompt_id, text), pk)
            for pk, prompt_id, text in Completion.objects.filter(prompt_id__in=chunk).values_list(
                "pk", "prompt_id", "text"
            )
        )
        known_pairs.update(
            Comparison.objects.filter(prompt_id__in=chunk).values_list("prompt_id", "chosen_id", "rejected_id")
        )
    try:
        with transaction.atomic():
            new_prompts = {}
            for r in records:
                if r.external_id not in prompt_pk and r.external_id not in new_prompts:
                    new_prompts[r.external_id] = Prompt(
                        project=project, external_id=r.external_id, text=r.prompt, queued=False
                    )
            for chunk in _chunks(list(new_prompts.values())):
                Prompt.objects.bulk_create(chunk)
            prompt_pk.update((external_id, prompt.pk) for external_id, prompt in new_prompts.items())
            report.prompts_created = len(new_prompts)

            new_completions = {}
            for r in records:
                for text in (r.chosen, r.rejected):
                    key = (prompt_pk[r.external_id], text)
                    if key not in completion_pk and key not in new_completions:
                        new_completions[key] = Completion(prompt_id=key[0], text=text)
            for chunk in _chunks(list(new_completions.values())):
                Completion.objects.bulk_create(chunk)
            completion_pk.update((key, completion.pk) for key, completion in new_completions.items())
            report.completions_created = len(new_completions)

            comparisons = []
            for r in records:
                prompt_id = prompt_pk[r.external_id]
                key = (prompt_id, completion_pk[(prompt_id, r.chosen)], completion_pk[(prompt_id, r.rejected)])
                if key in known_pairs:
                    report.skipped += 1
                    continue
                known_pairs.add(key)
                comparisons.append(
                    Comparison(
                        project=project, prompt_id=key[0], chosen_id=key[1], rejected_id=key[2],
                        source=Comparison.Source.IMPORTED,
                    )
                )
            Comparison.objects.bulk_create(comparisons, batch_size=BATCH)
            report.comparisons_created = len(comparisons)
    except IntegrityError:
        raise _race_lost() from None
    return report
