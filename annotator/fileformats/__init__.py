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
  labels    {"prompt", "completion", "label", "id"?, "metadata"?}: one labelled completion
            (classify projects), or a CSV whose header names prompt, completion and label
  judgments what the judgments export writes: its pairs, or in a classify project its labels
  parquet   the columns of jsonl, pairs, hh, rankings, labels or judgments (which one, from the
            column names), read a row group at a time; a row's number is its "line"
Every form but csv is read from JSON lines, from CSV with the keys as its header (what the CSV
export writes) or from Parquet; each reads only its own keys, so an export's other columns
(times, ids, split, labeler) are ignored whatever their type.

This module tells the formats apart and hands each to its parser; the modules:
  records   what the parsers yield (PromptRecord, PairRecord, RankingRecord, LabelRecord, LineError)
  checks    the checks every format shares: storable values, texts, ids, completion counts
  textfile  reading a text file a line at a time, and the JSON object on each line
  objects   a form's lines as dicts from JSON or CSV, and the keys each form reads
  parquet   reading a Parquet file a row group at a time
  jsonl, csvfiles, pairs (pairs and hh), rankings, labels, judgments: one parser per form
  hh        HH dialogue text to and from conversational messages, shared with the exports
"""

import csv
import json

from .checks import Limits, storable
from .csvfiles import parse_csv
from .jsonl import parse_jsonl
from .judgments import parse_judgments
from .labels import LABEL_COLUMNS, parse_labels
from .objects import READ_KEYS, read_keys, text_objects
from .pairs import parse_pairs
from .parquet import PARQUET_MAGIC, column_names, read_parquet
from .rankings import parse_rankings
from .records import LabelRecord, LineError, PairRecord, RankingRecord, text_id
from .textfile import json_objects, read_lines

__all__ = [
    "FORMATS",
    "LABEL_FORMATS",
    "PAIR_FORMATS",
    "PARQUET_MAGIC",
    "LabelRecord",
    "LineError",
    "Limits",
    "PairRecord",
    "RankingRecord",
    "detect_format",
    "is_parquet",
    "parquet_format",
    "parse",
    "parse_objects",
    "read_lines",
    "read_parquet",
    "text_id",
]

FORMATS = ("jsonl", "csv", "pairs", "hh", "rankings", "labels", "judgments", "parquet")
PAIR_FORMATS = ("pairs", "hh", "rankings")  # stored as imported comparisons, not queued prompts
LABEL_FORMATS = ("labels",)  # stored as imported classifications: classify projects only
# judgments: stored as imported comparisons, or in a classify project as imported classifications


def detect_format(filename, first_line):
    """The format from the extension, then from the keys of the first JSON object or the
    columns of a CSV header: a header naming completion and label is a labels file."""
    if filename.lower().endswith(".csv"):
        return _csv_format(first_line)
    try:
        keys = json.loads(first_line).keys()
    except (ValueError, RecursionError, AttributeError):
        json_name = filename.lower().endswith((".jsonl", ".json", ".ndjson"))
        looks_like_json = json_name or first_line.lstrip()[:1] in ("{", "[")
        return "jsonl" if looks_like_json else _csv_format(first_line)
    return format_from_keys(keys)


def _csv_format(header_line):
    """A CSV header's form: the prompts' csv when it names completion_1 (its other columns are
    metadata, whatever their names), else the JSON form its columns name (an export's CSV)."""
    try:
        columns = {column.strip() for column in next(csv.reader([header_line]), [])}
    except csv.Error:
        return "csv"  # its parser reports the header
    form = "jsonl" if "completion_1" in columns else format_from_keys(columns)
    return "csv" if form == "jsonl" else form


def format_from_keys(keys):
    """The JSON form whose keys these are: a ranking is told from prompts by its `excluded`
    key, which the rankings export always writes (otherwise say --format rankings), and a
    judgment by its `shown_texts`."""
    if "shown_texts" in keys:
        return "judgments"
    if "chosen" in keys:
        return "pairs" if "prompt" in keys else "hh"
    if "excluded" in keys:
        return "rankings"
    if "completion" in keys and "label" in keys:
        return "labels"
    return "jsonl"


def is_parquet(filename, head):
    return filename.lower().endswith(".parquet") or head.startswith(PARQUET_MAGIC)


NEEDED_COLUMNS = {
    "jsonl": ("prompt", "completions"),
    "pairs": ("prompt", "chosen", "rejected"),
    "hh": ("chosen", "rejected"),
    "rankings": ("prompt", "completions"),
    "labels": LABEL_COLUMNS,
    "judgments": ("prompt", "shown", "shown_texts"),
}


def parquet_format(binary):
    """The JSON form (jsonl, pairs, hh, rankings or labels) the columns of a Parquet file are in.
    Raises ValueError, with the reason, for a file that is not Parquet or has other columns."""
    names = column_names(binary)
    format = format_from_keys(names)
    if missing := [name for name in NEEDED_COLUMNS[format] if name not in names]:
        raise ValueError(
            f"the columns are {', '.join(names) or 'none'}: missing {', '.join(missing)} "
            "(a Parquet file has the keys of one JSONL form as its columns)"
        )
    return format


def parse(format, lines, limits, *, labels=()):
    """Records and LineErrors of `lines` (from read_lines) in the given format; `labels` is the
    project's label set, which a labels file's labels must be in."""
    if format == "csv":
        return parse_csv(lines, limits)
    if format == "jsonl":
        return parse_objects(format, json_objects(lines), limits)
    # The other JSON forms: JSON lines, or CSV with their keys as its header (told apart by the first line).
    return parse_objects(format, text_objects(lines, format), limits, labels=labels)


def parse_objects(format, objects, limits, *, labels=()):
    """Records and LineErrors of (number, dict) items, from JSON lines, CSV rows or Parquet rows.
    `labels`: a classify project's label set (labels files, and judgments read as labels)."""
    if format == "labels":  # reads its keys only: other keys are not even checked (as ever)
        return parse_labels(storable(read_keys(format, objects)), limits, labels)
    objects = read_keys(format, storable(objects, READ_KEYS[format]))
    if format == "judgments":
        return parse_judgments(objects, limits, labels)
    if format in ("pairs", "hh"):
        return parse_pairs(objects, limits, hh=format == "hh")
    if format == "rankings":
        return parse_rankings(objects, limits)
    return parse_jsonl(objects, limits)
