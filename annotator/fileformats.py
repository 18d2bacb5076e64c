"""The import file formats: reading them line by line and checking each record.

Django-free, like rewardtrain/data.py: plain functions on plain data. Each
parser takes (line number, text) pairs and yields, in file order, records and
the LineErrors of the lines that are not records, so a caller can stream a file
of any size. Checks that span lines (one id per prompt) are the caller's: only
it knows what it can afford to keep.

Formats:
  jsonl  {"id"?, "prompt", "completions": [text | {"text", "model"?, "metadata"?}], "metadata"?}
  csv    header prompt, completion_1..completion_9, optional id; other columns go to metadata
  pairs  {"prompt", "chosen", "rejected", "prompt_id"?} (what `export_comparisons` writes), or
         TRL's conversational form: prompt a list of {"role", "content"}, chosen/rejected
         one assistant message each; the prompt is stored as HH text (render_hh)
  hh     {"chosen", "rejected"}: whole Anthropic HH dialogues, split into prompt and replies
  rankings  {"prompt", "completions": [best first], "excluded"?, "id"?}: every ranked pair
  parquet   the columns of jsonl, pairs, hh or rankings (which one, from the column names),
            read a row group at a time; a row's number is its "line"
"""

import csv
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from itertools import combinations

import pyarrow as pa
import pyarrow.parquet as pq

from rewardtrain.data import split_hh_dialogues

FORMATS = ("jsonl", "csv", "pairs", "hh", "rankings", "parquet")
PAIR_FORMATS = ("pairs", "hh", "rankings")  # stored as imported comparisons, not queued prompts
PARQUET_MAGIC = b"PAR1"
PARQUET_BATCH_ROWS = 1000  # rows turned into Python objects at a time
MIN_COMPLETIONS, MAX_COMPLETIONS = 2, 9  # a project shows 2..9 completions per item
CSV_COMPLETION_COLUMNS = [f"completion_{i}" for i in range(1, MAX_COMPLETIONS + 1)]
# Ten texts at the default 100,000 characters, JSON-escaped, fit well under this; a longer
# line is refused before it is decoded, so one line never costs more than a few times this.
MAX_LINE_BYTES = 32 * 1024 * 1024
BOM = b"\xef\xbb\xbf"


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


@dataclass(frozen=True)
class Limits:
    max_text_chars: int
    max_id_chars: int
    max_model_chars: int


@dataclass
class PromptRecord:
    line: int
    external_id: str
    text: str
    completions: list  # [(text, model_name, metadata)]
    metadata: dict = field(default_factory=dict)
    id_given: bool = True


@dataclass
class PairRecord:
    line: int
    external_id: str
    prompt: str
    chosen: str
    rejected: str
    id_field: str = ""  # "id" or "prompt_id" when the line named its prompt, else ""


@dataclass
class RankingRecord:
    line: int
    external_id: str
    prompt: str
    ranked: list  # texts, best first
    id_field: str = ""

    def pairs(self):
        """Every pair of the ranking, the better one chosen: K*(K-1)/2 of them."""
        return [
            PairRecord(self.line, self.external_id, self.prompt, better, worse, self.id_field)
            for better, worse in combinations(self.ranked, 2)
        ]


def text_id(text):
    """The external id of a prompt given without one: stable across files and re-imports."""
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


# --- reading -----------------------------------------------------------------


def read_lines(binary):
    """(line number, text) for each line of a binary file, or a LineError for a line that is
    not UTF-8 or longer than MAX_LINE_BYTES. One line is in memory at a time; a UTF-8 BOM is dropped."""
    number = 0
    while raw := binary.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line unread
                raw = binary.readline(1024 * 1024)
            yield LineError(number, "", f"longer than {MAX_LINE_BYTES:,} bytes")
            continue
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield LineError(number, "", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")


def detect_format(filename, first_line):
    """The format from the extension, then from the keys of the first JSON object."""
    if filename.lower().endswith(".csv"):
        return "csv"
    try:
        keys = json.loads(first_line).keys()
    except (ValueError, RecursionError, AttributeError):
        json_name = filename.lower().endswith((".jsonl", ".json", ".ndjson"))
        looks_like_json = json_name or first_line.lstrip()[:1] in ("{", "[")
        return "jsonl" if looks_like_json else "csv"
    return format_from_keys(keys)


def format_from_keys(keys):
    """The JSON form whose keys these are: a ranking is told from prompts by its `excluded`
    key, which the rankings export always writes (otherwise say --format rankings)."""
    if "chosen" in keys:
        return "pairs" if "prompt" in keys else "hh"
    if "excluded" in keys:
        return "rankings"
    return "jsonl"


def is_parquet(filename, head):
    return filename.lower().endswith(".parquet") or head.startswith(PARQUET_MAGIC)


NEEDED_COLUMNS = {
    "jsonl": ("prompt", "completions"),
    "pairs": ("prompt", "chosen", "rejected"),
    "hh": ("chosen", "rejected"),
    "rankings": ("prompt", "completions"),
}


def parquet_format(binary):
    """The JSON form (jsonl, pairs, hh or rankings) the columns of a Parquet file are in.
    Raises ValueError, with the reason, for a file that is not Parquet or has other columns."""
    try:
        names = pq.ParquetFile(binary).schema_arrow.names
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"not a valid Parquet file: {exc}") from None
    format = format_from_keys(names)
    if missing := [name for name in NEEDED_COLUMNS[format] if name not in names]:
        raise ValueError(
            f"the columns are {', '.join(names) or 'none'}: missing {', '.join(missing)} "
            "(a Parquet file has the keys of one JSONL form as its columns)"
        )
    return format


def read_parquet(binary):
    """(row number, dict) for every row of a Parquet file, read a row group at a time, or a
    LineError for a row that cannot be read and one for the file if it breaks off."""
    number = 0
    try:
        for batch in pq.ParquetFile(binary).iter_batches(batch_size=PARQUET_BATCH_ROWS):
            try:
                rows = batch.to_pylist()
            except (pa.ArrowException, ValueError):  # e.g. a string column that is not UTF-8: find the row
                rows = [_row_or_error(batch, i, number + 1 + i) for i in range(batch.num_rows)]
            for row in rows:
                number += 1
                yield row if isinstance(row, LineError) else (number, row)
    except (pa.ArrowException, OSError) as exc:
        yield LineError(None, "", f"not a valid Parquet file (after row {number}): {exc}")


def _row_or_error(batch, index, number):
    try:
        return batch.slice(index, 1).to_pylist()[0]
    except (pa.ArrowException, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        return LineError(number, "", f"cannot be read: {exc}")


# --- what a database cannot store --------------------------------------------

# PostgreSQL's text and jsonb refuse NUL, UTF-8 has no lone surrogates, and JSON
# (jsonb, SQLite's json_valid) has no NaN or Infinity; Python's json accepts all
# of them ("\u0000", "\ud800", NaN, 1e999), so they are caught here, per field.
_UNSTORABLE_CHAR = re.compile("[\x00\ud800-\udfff]")


def _char_reason(char):
    if char == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored"
    return f"contains a lone surrogate (\\u{ord(char):04x}), which is not valid Unicode"


def _float_name(value):
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def unstorable(value):
    """(field path, reason) for every string with a NUL or a lone surrogate and every NaN or
    infinite number in a parsed JSON value, keys included; iterative, so any depth is fine."""
    stack = [("", value)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if found := _UNSTORABLE_CHAR.search(value):
                yield path, _char_reason(found.group())
        elif isinstance(value, float):
            if not math.isfinite(value):
                yield path, f"{_float_name(value)} is not a number JSON can store"
        elif isinstance(value, dict):
            children = []
            for key, item in value.items():
                if found := _UNSTORABLE_CHAR.search(key):
                    yield path, "a key " + _char_reason(found.group())
                    continue
                shown = key if len(key) <= 40 else key[:40] + "…"
                children.append((f"{path}.{shown}" if path else shown, item))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{path}[{i}]", item) for i, item in enumerate(value)]))
        elif value is not None and not isinstance(value, int):  # bytes, dates, decimals from Parquet
            yield path, f"a {type(value).__name__} value is not JSON: use text, numbers, lists or objects"


# --- field checks --------------------------------------------------------------


def _text_error(value, limits, *, required=True):
    """Why value is not an acceptable text, or None."""
    if not isinstance(value, str):
        return "required" if value is None else "must be a string"
    if required and not value.strip():
        return "empty"
    if len(value) > limits.max_text_chars:
        return f"{len(value):,} characters, the limit is {limits.max_text_chars:,} (ARBITER_MAX_TEXT_CHARS)"
    return None


def _check_text(errors, line, name, value, limits, *, required=True):
    if reason := _text_error(value, limits, required=required):
        errors.append(LineError(line, name, reason))
        return False
    return True


def _check_id(errors, line, name, value, limits):
    """A given id as a string (numbers are accepted), or None after recording an error."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors.append(LineError(line, name, "must be a string or an integer"))
        return None
    value = str(value).strip()
    if not value:
        errors.append(LineError(line, name, "empty"))
        return None
    if len(value) > limits.max_id_chars:
        errors.append(LineError(line, name, f"{len(value)} characters, the limit is {limits.max_id_chars}"))
        return None
    return value


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


# --- parsers -------------------------------------------------------------------


def _json_objects(lines):
    """(line number, dict) for every non-blank line of JSON, else LineErrors."""
    for item in lines:
        if isinstance(item, LineError):
            yield item
            continue
        number, text = item
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield LineError(number, "", f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        except (ValueError, RecursionError) as exc:  # an integer too long, nesting too deep
            yield LineError(number, "", f"invalid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield LineError(number, "", f"must be a JSON object, got {type(obj).__name__}")
            continue
        yield number, obj


def _storable(objects):
    """The (number, dict) items whose every value can be stored, else their LineErrors."""
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        problems = [LineError(number, path, reason) for path, reason in unstorable(obj)]
        if problems:
            yield from problems
            continue
        yield number, obj


def parse_jsonl(objects, limits):
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        errors = []
        record = _jsonl_record(errors, number, obj, limits)
        yield from errors
        if record is not None and not errors:
            yield record


def _jsonl_record(errors, number, obj, limits):
    ok = _check_text(errors, number, "prompt", obj.get("prompt"), limits)
    metadata = obj.get("metadata") or {}  # null is as good as absent
    if not isinstance(metadata, dict):
        errors.append(LineError(number, "metadata", "must be an object"))
        ok = False
    external_id = None
    if obj.get("id") is not None:
        external_id = _check_id(errors, number, "id", obj["id"], limits)
        ok = ok and external_id is not None
    completions_in = obj.get("completions")
    if not isinstance(completions_in, list):
        errors.append(LineError(number, "completions", "required: a list of texts or objects"))
        return None
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
        ok = _check_text(errors, number, name_text, text, limits) and ok
        if not isinstance(model, str) or len(model) > limits.max_model_chars:
            reason = f"must be a string of at most {limits.max_model_chars} characters"
            errors.append(LineError(number, f"{name}.model", reason))
            ok = False
        if not isinstance(meta, dict):
            errors.append(LineError(number, f"{name}.metadata", "must be an object"))
            ok = False
        completions.append((text, model, meta))
    if not ok or not MIN_COMPLETIONS <= len(completions) <= MAX_COMPLETIONS:
        return None
    _check_distinct(errors, number, names, [c[0] for c in completions])
    return PromptRecord(
        number, external_id or text_id(obj["prompt"]), obj["prompt"], completions, metadata,
        id_given=external_id is not None,
    )  # fmt: skip


def _csv_rows(lines, errors):
    """(first line number, row) for each CSV record; a quoted field may span lines.
    Lines that could not be read are passed on to `errors` and left out of the CSV."""
    first = [None]

    def texts():
        for item in lines:
            if isinstance(item, LineError):
                errors.append(item)
                continue
            number, text = item
            if first[0] is None:
                first[0] = number
            yield text

    for row in csv.reader(texts()):  # the reader reads no further than the end of its record
        yield first[0], row
        first[0] = None


def parse_csv(lines, limits):
    errors = []  # LineErrors of unreadable lines, handed on between records
    rows = _csv_rows(lines, errors)
    try:
        _, header = next(rows, (1, []))
        yield from errors
        errors.clear()
        header = [column.strip() for column in header]
        if bad := next(unstorable(header), None):
            yield LineError(1, "header", bad[1])
            return
        if not {"prompt", "completion_1", "completion_2"} <= set(header):
            yield LineError(1, "header", "needs the columns prompt, completion_1 and completion_2 (up to completion_9)")
            return
        for number, row in rows:
            yield from errors
            errors.clear()
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield LineError(number, "", f"{len(row)} cells, the header has {len(header)}")
                continue
            row = dict(zip(header, row))
            problems = [LineError(number, column, reason) for column, reason in unstorable(row)]
            record = None if problems else _csv_record(problems, number, row, limits)
            yield from problems
            if record is not None and not problems:
                yield record
        yield from errors
    except csv.Error as exc:
        yield from errors
        yield LineError(None, "", f"not valid CSV: {exc}")


def _csv_record(errors, number, row, limits):
    ok = _check_text(errors, number, "prompt", row["prompt"], limits)
    external_id = None
    if row.get("id", "").strip():
        external_id = _check_id(errors, number, "id", row["id"], limits)
        ok = ok and external_id is not None
    names, texts = [], []
    for column in CSV_COMPLETION_COLUMNS:
        if row.get(column, "").strip():
            ok = _check_text(errors, number, column, row[column], limits) and ok
            names.append(column)
            texts.append(row[column])
    _check_completion_count(errors, number, "completions", len(texts))
    if not ok or len(texts) < MIN_COMPLETIONS:
        return None
    _check_distinct(errors, number, names, texts)
    known = {"id", "prompt", *CSV_COMPLETION_COLUMNS}
    metadata = {column: value for column, value in row.items() if column not in known and column}
    return PromptRecord(
        number, external_id or text_id(row["prompt"]), row["prompt"],
        [(text, "", {}) for text in texts], metadata, id_given=external_id is not None,
    )  # fmt: skip


def _check_prompt_id(errors, number, obj, limits):
    """(external id or None, the field that named it, ok) for a line that may name its prompt."""
    id_field = "prompt_id" if "prompt_id" in obj else "id"
    if obj.get(id_field) is None:
        return None, "", True
    external_id = _check_id(errors, number, id_field, obj[id_field], limits)
    return external_id, id_field, external_id is not None


HH_NAMES = {"user": "Human", "assistant": "Assistant"}


def render_hh(messages):
    """A conversation as an HH prompt: "\\n\\nHuman: …\\n\\nAssistant: …" per turn, ending with the
    "\\n\\nAssistant:" the reply follows, the same text the hh format's prompts are."""
    return "".join(f"\n\n{HH_NAMES[m['role']]}: {m['content']}" for m in messages) + "\n\nAssistant:"


def render_hh_reply(content):
    """A reply as the hh format stores it: what follows "Assistant:", its space included, so a
    conversational line and the hh line of the same dialogue are the same rows."""
    return f" {content}" if content else ""


_HH_TURN = re.compile(r"\n\n(Human|Assistant):")


def hh_prompt_messages(text):
    """The turns of an HH prompt (what render_hh writes, and what the hh format stores) as
    messages, user first and last and alternating, or None for a prompt not in that form."""
    if not (text.startswith("\n\nHuman:") and text.endswith("\n\nAssistant:")):
        return None
    parts = _HH_TURN.split(text[: -len("\n\nAssistant:")])
    roles = ["user" if name == "Human" else "assistant" for name in parts[1::2]]
    if roles[::2] != ["user"] * len(roles[::2]) or "user" in roles[1::2] or roles[-1] != "user":
        return None
    return [
        {"role": role, "content": content.removeprefix(" ")} for role, content in zip(roles, parts[2::2])
    ]


def _messages_error(messages, *, reply):
    """Why a conversational prompt (user first and last, turns alternating) or reply (one assistant
    message) is not one, as (field suffix, reason), or None."""
    if not isinstance(messages, list) or not messages:
        shape = "one assistant message" if reply else "messages"
        return "", f"must be a list of {shape} ({{\"role\", \"content\"}}), as prompt is"
    if reply and len(messages) != 1:
        return "", f"{len(messages)} messages; a reply is one assistant message"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return f"[{i}]", 'must be {"role", "content"} with content a string'
        role = message.get("role")
        expected = "assistant" if reply or i % 2 else "user"
        if role != expected:
            return f"[{i}].role", f"{role!r}: expected {expected!r} (user and assistant turns alternate, user first)"
    if not reply and len(messages) % 2 == 0:
        return f"[{len(messages) - 1}]", "the last message of a prompt is the user's"
    return None


def _conversational(errors, number, obj, limits):
    """(prompt, chosen, rejected) rendered from TRL's conversational form, or None after errors."""
    texts = []
    for name in ("prompt", "chosen", "rejected"):
        if problem := _messages_error(obj.get(name), reply=name != "prompt"):
            errors.append(LineError(number, name + problem[0], problem[1]))
            continue
        text = render_hh(obj[name]) if name == "prompt" else render_hh_reply(obj[name][0]["content"])
        if _check_text(errors, number, name, text, limits, required=name == "prompt"):
            texts.append(text)
    return texts if len(texts) == 3 else None


def parse_pairs(objects, limits, *, hh):
    """PairRecords; an empty reply is a real completion (the assistant said nothing), so only the
    prompt and HH's whole dialogues must be non-empty. A pair with the same reply on both sides
    is still yielded: whether it counts is the importer's call."""
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        errors = []
        conversation = None
        if not hh and isinstance(obj.get("prompt"), list):
            conversation = _conversational(errors, number, obj, limits)
            ok = conversation is not None
        else:
            ok = _check_text(errors, number, "chosen", obj.get("chosen"), limits, required=hh)
            ok = _check_text(errors, number, "rejected", obj.get("rejected"), limits, required=hh) and ok
            if not hh:
                ok = _check_text(errors, number, "prompt", obj.get("prompt"), limits) and ok
        external_id, id_field, id_ok = _check_prompt_id(errors, number, obj, limits)
        ok = ok and id_ok
        yield from errors
        if not ok:
            continue
        if hh:
            try:
                prompt, chosen, rejected = split_hh_dialogues(obj["chosen"], obj["rejected"])
            except ValueError as exc:
                yield LineError(number, "chosen", str(exc))
                continue
        elif conversation:
            prompt, chosen, rejected = conversation
        else:
            prompt, chosen, rejected = obj["prompt"], obj["chosen"], obj["rejected"]
        yield PairRecord(
            number, external_id or text_id(prompt), prompt, chosen, rejected, id_field if external_id else ""
        )


def parse_rankings(objects, limits):
    """RankingRecords. Replies may be empty, as in pairs; ranked and excluded ones together are
    2..9 distinct texts. Excluded ones are checked but not stored: they rank against nothing."""
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        errors = []
        ok = _check_text(errors, number, "prompt", obj.get("prompt"), limits)
        external_id, id_field, id_ok = _check_prompt_id(errors, number, obj, limits)
        ok = ok and id_ok
        names, texts, lists = [], [], True
        for key in ("completions", "excluded"):
            values = obj.get(key)
            if values is None and key == "excluded":
                continue
            if not isinstance(values, list):
                errors.append(LineError(number, key, "must be a list of texts"))
                lists = False
                continue
            for i, text in enumerate(values):
                ok = _check_text(errors, number, f"{key}[{i}]", text, limits, required=False) and ok
                names.append(f"{key}[{i}]")
                texts.append(text)
        if lists:
            _check_completion_count(errors, number, "completions and excluded", len(texts))
        if ok and not errors:
            _check_distinct(errors, number, names, texts)
        yield from errors
        if ok and not errors:
            ranked = obj["completions"]
            yield RankingRecord(number, external_id or text_id(obj["prompt"]), obj["prompt"], ranked, id_field)


def parse(format, lines, limits):
    """Records and LineErrors of `lines` (from read_lines) in the given format."""
    if format == "csv":
        return parse_csv(lines, limits)
    return parse_objects(format, _json_objects(lines), limits)


def parse_objects(format, objects, limits):
    """Records and LineErrors of (number, dict) items, from JSON lines or Parquet rows."""
    objects = _storable(objects)
    if format in ("pairs", "hh"):
        return parse_pairs(objects, limits, hh=format == "hh")
    if format == "rankings":
        return parse_rankings(objects, limits)
    return parse_jsonl(objects, limits)
