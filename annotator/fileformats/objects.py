"""The JSON forms' lines as (number, dict) items, from JSON lines or from CSV, and the keys each
form reads.

Every export kind imports back in every format it is written in (JSONL, CSV, Parquet), so an
export's CSV is read as its JSON lines are: the header's columns are the keys, a list column
(what the CSV export writes as JSON text in its cell) is decoded, and the leading `'` the CSV
export puts before a cell a spreadsheet would run as a formula (export_formats.csv_cell) is
taken off again. Columns a form does not read (an export's times, ids, split, labeler) are
dropped before any check, so they are never an error whatever their type."""

import csv
import json
from itertools import chain

from .checks import unstorable
from .csvfiles import csv_rows
from .records import LineError
from .textfile import json_objects

# The keys each form reads; any other key or column is ignored (never checked, never stored).
READ_KEYS = {
    "jsonl": ("id", "prompt", "completions", "metadata", "gold"),
    "pairs": ("id", "prompt_id", "prompt", "chosen", "rejected"),
    "hh": ("id", "prompt_id", "chosen", "rejected"),
    "rankings": ("id", "prompt_id", "prompt", "completions", "excluded"),
    "labels": ("id", "prompt_id", "prompt", "completion", "label", "metadata"),
    "judgments": ("id", "prompt_id", "prompt", "shown", "shown_texts", "choice", "ranking", "excluded", "labels",
                  "edited_text"),
}  # fmt: skip
# The columns a CSV file of each form must have.
CSV_NEEDED = {
    "pairs": ("prompt", "chosen", "rejected"),
    "hh": ("chosen", "rejected"),
    "rankings": ("prompt", "completions"),
    "labels": ("prompt", "completion", "label"),
    "judgments": ("prompt", "shown", "shown_texts"),
}
# Columns whose CSV cell is a JSON list, as the CSV export writes lists.
_CSV_LISTS = {"rankings": ("completions", "excluded"), "judgments": ("shown", "shown_texts", "ranking", "excluded", "labels")}
_CSV_MESSAGES = ("prompt", "chosen", "rejected")  # pairs: TRL's conversational form, as JSON text
_CSV_IDS = ("id", "prompt_id")  # an empty id cell is no id
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # as export_formats.FORMULA_STARTS


def read_keys(form, objects):
    """The items with only the keys `form` reads."""
    keys = READ_KEYS[form]
    for item in objects:
        if isinstance(item, LineError):
            yield item
        else:
            number, obj = item
            yield number, {key: value for key, value in obj.items() if key in keys}


def text_objects(lines, form):
    """(number, dict) items of a file's lines in `form`, JSON or CSV: a first non-blank line that
    opens a JSON object means JSON lines, anything else a CSV header."""
    lines = iter(lines)
    ahead = []
    for item in lines:
        ahead.append(item)
        if not isinstance(item, LineError) and item[1].strip():
            break
    first = next((item for item in reversed(ahead) if not isinstance(item, LineError)), None)
    lines = chain(ahead, lines)
    if first is None or not first[1].strip() or first[1].lstrip().startswith("{"):
        return json_objects(lines)  # a file of blank lines is an empty one, as in jsonl
    return _csv_objects(lines, form)


def unquote_formula(cell):
    """A cell without the `'` the CSV export put before text a spreadsheet would run: the export
    quotes every text that, less its leading quotes, starts a formula, so this gives it back exactly."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def _cell_value(form, column, cell):
    cell = unquote_formula(cell)
    if column in _CSV_LISTS.get(form, ()):
        if not cell.strip():
            return None
        try:
            return json.loads(cell)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to decode
            return cell  # the parser says it must be a list
    if form == "pairs" and column in _CSV_MESSAGES and cell.startswith("[{"):
        try:
            messages = json.loads(cell)
        except (ValueError, RecursionError):
            return cell
        return messages if isinstance(messages, list) and all(isinstance(m, dict) for m in messages) else cell
    return cell


def _csv_objects(lines, form):
    """(number, dict) per CSV record, the header's columns as keys (only those the form reads; a
    CSV has no metadata column); an empty id cell is no id."""
    errors = []  # LineErrors of unreadable lines, handed on between records
    kept = [key for key in READ_KEYS[form] if key != "metadata"]
    rows = csv_rows(lines, errors)
    try:
        header_line, header = next(rows, (1, []))
        header, header_line = [column.strip() for column in header], header_line or 1
        yield from errors
        errors.clear()
        if bad := next(unstorable(header), None):
            yield LineError(header_line, "header", bad[1])
            return
        needed = CSV_NEEDED[form]
        if missing := [column for column in needed if column not in header]:
            reason = f"needs the columns {', '.join(needed[:-1])} and {needed[-1]}; missing {', '.join(missing)}"
            yield LineError(header_line, "header", reason)
            return
        for number, row in rows:
            yield from errors
            errors.clear()
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield LineError(number, "", f"{len(row)} cells, the header has {len(header)}")
                continue
            yield number, {
                column: _cell_value(form, column, cell)
                for column, cell in zip(header, row)
                if column in kept and (column not in _CSV_IDS or cell.strip())
            }
        yield from errors
    except csv.Error as exc:
        yield from errors
        yield LineError(None, "", f"not valid CSV: {exc}")
