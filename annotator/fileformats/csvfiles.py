"""The csv format: the jsonl prompts as a header of prompt, completion_1..completion_9 and an
optional id; any other column is metadata. Named so as not to shadow the csv module."""

import csv

from . import textfile
from .checks import (
    MAX_COMPLETIONS,
    MIN_COMPLETIONS,
    check_completion_count,
    check_distinct,
    check_id,
    check_text,
    unstorable,
)
from .records import LineError, PromptRecord, text_id

CSV_COMPLETION_COLUMNS = [f"completion_{i}" for i in range(1, MAX_COMPLETIONS + 1)]


def csv_rows(lines, errors):
    """(first line number, row) for each CSV record; a quoted field may span lines, but a record
    is no longer than a line may be (csv.Error beyond), as each of its cells is parsed at once.
    Lines that could not be read are passed on to `errors` and left out of the CSV."""
    first, held = [None], [0]

    def texts():
        for item in lines:
            if isinstance(item, LineError):
                errors.append(item)
                continue
            number, text = item
            if first[0] is None:
                first[0], held[0] = number, 0
            held[0] += len(text)
            if held[0] > textfile.MAX_LINE_BYTES:
                limit = f"{textfile.MAX_LINE_BYTES:,} characters (as a line may be)"
                raise csv.Error(f"the record from line {first[0]} is longer than {limit}")
            yield text

    for row in csv.reader(texts()):  # the reader reads no further than the end of its record
        yield first[0], row
        first[0] = None


def parse_csv(lines, limits):
    errors = []  # LineErrors of unreadable lines, handed on between records
    rows = csv_rows(lines, errors)
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
    ok = check_text(errors, number, "prompt", row["prompt"], limits)
    external_id = None
    if row.get("id", "").strip():
        external_id = check_id(errors, number, "id", row["id"], limits)
        ok = ok and external_id is not None
    names, texts = [], []
    for column in CSV_COMPLETION_COLUMNS:
        if row.get(column, "").strip():
            ok = check_text(errors, number, column, row[column], limits) and ok
            names.append(column)
            texts.append(row[column])
    check_completion_count(errors, number, "completions", len(texts))
    if not ok or len(texts) < MIN_COMPLETIONS:
        return None
    check_distinct(errors, number, names, texts)
    known = {"id", "prompt", *CSV_COMPLETION_COLUMNS}
    metadata = {column: value for column, value in row.items() if column not in known and column}
    return PromptRecord(
        number, external_id or text_id(row["prompt"]), row["prompt"],
        [(text, "", {}) for text in texts], metadata, id_given=external_id is not None,
    )  # fmt: skip
