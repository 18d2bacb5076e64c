"""The labels format (classify projects): one labelled completion per line, as JSON lines
{"prompt", "completion", "label", "id"?/"prompt_id"?, "metadata"?}, as CSV with a header naming
prompt, completion and label (and optionally id or prompt_id), or as Parquet with those columns.
Other keys and columns are ignored, so what the labels export writes imports back; a CSV has
no metadata column."""

import csv
from itertools import chain

from .checks import check_prompt_id, check_text, unstorable
from .records import LabelRecord, LineError, text_id
from .textfile import json_objects

LABEL_COLUMNS = ("prompt", "completion", "label")
READ_KEYS = (*LABEL_COLUMNS, "id", "prompt_id", "metadata")
CSV_KEPT_COLUMNS = (*LABEL_COLUMNS, "id", "prompt_id")


def read_keys(objects):
    """The items with only the keys this format reads, so an ignored column (an export's
    created_at, a Parquet timestamp) is not checked for whether it could be stored."""
    for item in objects:
        if isinstance(item, LineError):
            yield item
        else:
            number, obj = item
            yield number, {key: value for key, value in obj.items() if key in READ_KEYS}


def parse_labels(objects, limits, labels):
    """LabelRecords of (number, dict) items; `labels` is the project's label set, which every
    line's label must be in. A line with several problems reports them all."""
    allowed = ", ".join(repr(label) for label in labels)
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        errors = []
        ok = check_text(errors, number, "prompt", obj.get("prompt"), limits)
        # Unlike a pair's reply, an empty completion is refused: a label of nothing says nothing.
        ok = check_text(errors, number, "completion", obj.get("completion"), limits) and ok
        label = obj.get("label")
        if not isinstance(label, str) or not label:
            reason = "required" if label is None else ("empty" if label == "" else "must be a string")
            errors.append(LineError(number, "label", f"{reason}; the project's labels are {allowed}"))
            ok = False
        elif label not in labels:
            errors.append(LineError(number, "label", f"{label!r} is not one of the project's labels ({allowed})"))
            ok = False
        metadata = obj.get("metadata") or {}  # null is as good as absent
        if not isinstance(metadata, dict):
            errors.append(LineError(number, "metadata", "must be an object"))
            ok = False
        external_id, id_field, id_ok = check_prompt_id(errors, number, obj, limits)
        yield from errors
        if ok and id_ok:
            yield LabelRecord(
                number, external_id or text_id(obj["prompt"]), obj["prompt"], obj["completion"], label, metadata,
                id_field if external_id else "",
            )  # fmt: skip


def label_objects(lines):
    """(number, dict) items of a labels file's lines, JSON or CSV: a first non-blank line that
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
    return _csv_objects(lines)


def _csv_objects(lines):
    """(number, dict) per CSV record, the header's columns as keys (only those the format reads);
    an empty id cell is no id."""
    errors = []  # LineErrors of unreadable lines, handed on between records
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

    reader = csv.reader(texts())  # reads no further than the end of its record
    try:
        header = [column.strip() for column in next(reader, [])]
        header_line, first[0] = first[0] or 1, None
        yield from errors
        errors.clear()
        if bad := next(unstorable(header), None):
            yield LineError(header_line, "header", bad[1])
            return
        if missing := [column for column in LABEL_COLUMNS if column not in header]:
            reason = f"needs the columns prompt, completion and label; missing {', '.join(missing)}"
            yield LineError(header_line, "header", reason)
            return
        for row in reader:
            number, first[0] = first[0], None
            yield from errors
            errors.clear()
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield LineError(number, "", f"{len(row)} cells, the header has {len(header)}")
                continue
            obj = {
                column: cell
                for column, cell in zip(header, row)
                if column in CSV_KEPT_COLUMNS and (column in LABEL_COLUMNS or cell.strip())
            }
            yield number, obj
        yield from errors
    except csv.Error as exc:
        yield from errors
        yield LineError(None, "", f"not valid CSV: {exc}")
