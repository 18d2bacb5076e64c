"""The export file formats: JSON lines, CSV and Parquet, written from plain dicts as they stream.

Django-free, like fileformats/ (the import side): each writer takes an iterator of records
(dicts with the same keys, in column order) and yields text or bytes to send on at once, so an
export of any size needs memory for one chunk only.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = {  # name: (content type, file extension)
    "jsonl": ("application/x-ndjson", "jsonl"),  # JSON is UTF-8 by definition (RFC 8259)
    "csv": ("text/csv; charset=utf-8", "csv"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
}
BATCH_ROWS = 500  # JSONL and CSV rows per yielded piece: few writes (a write per row halves the speed), still small
# Rows per Parquet row group. Each is built in memory: at ~1 KB a row, 10,000 rows cost 125 MB
# of peak RSS over Django's own and 5,000 rows 92 MB (pyarrow's code and pool are ~75 MB of
# that whatever the size), at the same speed (bench/export_bench.py).
PARQUET_ROW_GROUP_ROWS = 5_000
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP ASVS 1.2.10).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _json_default(value):
    if isinstance(value, datetime):
        # Always six fraction digits: datasets types "12:00:00+00:00" a timestamp but
        # "12:00:00.1234+00:00" text, and two files typed apart do not load together.
        return value.isoformat(timespec="microseconds")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def jsonl_lines(records: Iterable[dict]) -> Iterator[str]:
    """One JSON object a line, text kept raw (ensure_ascii=False), datetimes in ISO 8601;
    BATCH_ROWS lines a piece."""
    encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    lines = []
    for record in records:
        lines.append(encode(record))
        if len(lines) == BATCH_ROWS:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def csv_cell(value) -> str:
    """A cell as text: lists and dicts as JSON, None as empty, and a leading formula
    character (after any leading quotes) neutralised with a quote so a spreadsheet shows the text
    instead of running it."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, datetime):
        text = value.isoformat(timespec="microseconds")  # as in JSONL
    else:
        text = str(value)
    # Text that starts with quotes and then a formula gets one more, so that the import, which
    # takes one quote off such a cell (fileformats.objects.unquote_formula), gives it back exactly.
    return "'" + text if text.lstrip("'").startswith(FORMULA_STARTS) else text


def csv_lines(records: Iterable[dict], columns: list[str]) -> Iterator[str]:
    """A header, then the records BATCH_ROWS a piece."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for number, record in enumerate(records, 1):
        writer.writerow([csv_cell(record[name]) for name in columns])
        if number % BATCH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


class _Pieces(io.RawIOBase):
    """A write-only file that keeps what was written until `take` hands it on."""

    def __init__(self):
        self._parts = []

    def writable(self):
        return True

    def write(self, data):
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def parquet_chunks(records: Iterable[dict], schema: pa.Schema) -> Iterator[bytes]:
    """A Parquet file with the fixed `schema`, one row group per PARQUET_ROW_GROUP_ROWS records,
    each sent on as soon as it is written. An empty export is still a valid file with the schema."""
    sink = _Pieces()
    with pq.ParquetWriter(sink, schema) as writer:
        columns = {name: [] for name in schema.names}
        count = 0
        for record in records:
            for name, values in columns.items():
                values.append(record[name])
            count += 1
            if count == PARQUET_ROW_GROUP_ROWS:
                writer.write_table(pa.table(columns, schema=schema))
                columns = {name: [] for name in schema.names}
                count = 0
                yield sink.take()
        if count:
            writer.write_table(pa.table(columns, schema=schema))
    yield sink.take()
