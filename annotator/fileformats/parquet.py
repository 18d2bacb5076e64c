"""Parquet import files: the columns of one JSON form, read a row group at a time; a row's
number is its "line".

A Parquet file can be a decompression bomb: run-length and dictionary encoding let a kilobyte
stand for ten million values or gigabytes of text (the audit's 997 bytes took a worker to
3.1 GB). So a file holds no more than a text file may: its footer is checked before any page
is read (values per column chunk, rows, decompressed page sizes), dictionary-encoded strings stay
dictionaries (each distinct text once), and each batch's decoded size is counted in Arrow before
its rows become Python objects. What remains is Arrow holding a row group's decompressed pages,
at most ARBITER_MAX_IMPORT_BYTES (bench/import_bomb.py measures the peak).
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import textfile
from .records import LineError

PARQUET_MAGIC = b"PAR1"
PARQUET_BATCH_ROWS = 1000  # rows turned into Python objects at a time
# Values (list items included) of one column in one row group. Arrow decodes a whole row, however
# many values it holds, at about 12 bytes a value (index, offset, levels); this keeps one row
# under about 100 MB while a default pyarrow row group (1Mi rows) of eight completions still fits
# (`datasets` writes row groups of 1,000 rows).
MAX_COLUMN_CHUNK_VALUES = 8 * 1024 * 1024
MIN_LINE_BYTES = 16  # the shortest line of a text import ({"prompt":"x"} and a newline, near enough)
NUMBER_BYTES = 8  # what a number, a boolean or a date counts for in a row's decoded size
LIMIT = "ARBITER_MAX_IMPORT_BYTES, as for a text file"


def column_names(binary):
    """The column names of a Parquet file; ValueError, with the reason, for a file that is not Parquet."""
    try:
        return pq.ParquetFile(binary).schema_arrow.names
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"not a valid Parquet file: {exc}") from None


def footer_error(metadata, max_bytes):
    """A LineError for a file whose footer says it holds more than a text file of `max_bytes`
    could, or None. Only the footer is read."""
    if metadata.num_rows > max_bytes // MIN_LINE_BYTES:
        reason = (
            f"{metadata.num_rows:,} rows; the limit is {max_bytes // MIN_LINE_BYTES:,} (one per {MIN_LINE_BYTES} "
            "bytes of ARBITER_MAX_IMPORT_BYTES, the shortest line of a text file)"
        )
        return LineError(None, "", reason)
    decompressed = 0
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        for column in (group.column(i) for i in range(group.num_columns)):
            if column.num_values > MAX_COLUMN_CHUNK_VALUES:
                reason = (
                    f"row group {index + 1} holds {column.num_values:,} values in one column, the limit is "
                    f"{MAX_COLUMN_CHUNK_VALUES:,} (write smaller row groups)"
                )
                return LineError(None, column.path_in_schema.split(".")[0], reason)
            decompressed += column.total_uncompressed_size
    if decompressed > max_bytes:
        reason = f"decompressed, its pages are {decompressed:,} bytes; the limit is {max_bytes:,} ({LIMIT})"
        return LineError(None, "", reason)
    return None


def read_parquet(binary, *, max_bytes):
    """(row number, dict) for every row of a Parquet file, read a batch at a time, or a LineError
    for a row that cannot be read or is longer than a text line may be, and one for the file if
    its footer or its decoded rows hold more than `max_bytes` (the import limit) or it breaks off."""
    number = 0
    try:
        file = pq.ParquetFile(binary)
        if error := footer_error(file.metadata, max_bytes):
            yield error
            return
        file = pq.ParquetFile(binary, read_dictionary=_dictionary_columns(file.metadata))
        decoded = 0
        for batch in file.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            sizes = _row_sizes(batch)
            total = decoded + np.cumsum(sizes)
            if total[-1] > max_bytes:
                last = number + int(np.argmax(total > max_bytes)) + 1
                reason = f"decoded, rows 1 to {last} hold more than {max_bytes:,} bytes; the limit is {max_bytes:,}"
                reason += f" ({LIMIT})"
                yield LineError(None, "", reason)
                return
            decoded = int(total[-1])
            for start, end in _slices(sizes, textfile.MAX_LINE_BYTES):
                if start == end:  # one row too long: left in Arrow
                    reason = (
                        f"{sizes[start]:,} bytes once decoded, the limit is {textfile.MAX_LINE_BYTES:,} "
                        "(as for a line of a text file)"
                    )
                    yield LineError(number + start + 1, "", reason)
                    continue
                yield from _rows(batch.slice(start, end - start), number + start + 1)
            number += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        yield LineError(None, "", f"not a valid Parquet file (after row {number}): {exc}")


def _dictionary_columns(metadata):
    """The paths of the string leaves stored dictionary-encoded, read as dictionaries so a repeated
    text is held once (a plain one would only be copied into a dictionary)."""
    groups = (metadata.row_group(i) for i in range(metadata.num_row_groups))
    return sorted(
        {
            column.path_in_schema
            for group in groups
            for column in (group.column(i) for i in range(group.num_columns))
            if column.physical_type == "BYTE_ARRAY" and column.has_dictionary_page
        }
    )


def _row_sizes(batch):
    """Bytes each row of a batch decodes to: its texts' UTF-8 bytes and NUMBER_BYTES a number,
    counted in Arrow from lengths and offsets, so nothing is expanded."""
    sizes = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        sizes += _sizes(column)
    return sizes


_TEXT_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)


def _numpy(array):
    return array.to_numpy(zero_copy_only=False).astype(np.int64)


def _sizes(array):
    """Bytes per element of an Arrow array, nested types summed over their children."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        if not len(array.dictionary):
            return np.zeros(len(array), np.int64)
        lengths = _sizes(array.dictionary)[_numpy(array.indices.fill_null(0))]
        return np.where(array.is_null().to_numpy(zero_copy_only=False), 0, lengths)
    if any(is_text(kind) for is_text in _TEXT_TYPES):
        return _numpy(pc.binary_length(array).fill_null(0))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind):
        offsets = _numpy(array.offsets)
        running = np.concatenate([[0], np.cumsum(_sizes(array.values))])
        return running[offsets[1:]] - running[offsets[:-1]]
    if pa.types.is_struct(kind):
        sizes = np.zeros(len(array), dtype=np.int64)
        for index in range(kind.num_fields):
            sizes += _sizes(array.field(index))
        return sizes
    return np.full(len(array), NUMBER_BYTES, dtype=np.int64)


def _slices(sizes, most):
    """(start, end) of the runs of rows to turn into Python objects together, each under `most`
    bytes; (i, i) for a row over `most` on its own, which is not to be read."""
    start, held = 0, 0
    for index, size in enumerate(sizes):
        if size > most:
            if index > start:
                yield start, index
            yield index, index
            start, held = index + 1, 0
        elif held + size > most:
            yield start, index
            start, held = index, size
        else:
            held += size
    if len(sizes) > start:
        yield start, len(sizes)


def _rows(batch, first):
    """(row number, dict) for each row of a batch, numbered from `first`."""
    try:
        rows = batch.to_pylist()
    except (pa.ArrowException, ValueError):  # e.g. a string column that is not UTF-8: find the row
        yield from (_row_or_error(batch, i, first + i) for i in range(batch.num_rows))
        return
    yield from enumerate(rows, start=first)


def _row_or_error(batch, index, number):
    try:
        return number, batch.slice(index, 1).to_pylist()[0]
    except (pa.ArrowException, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        return LineError(number, "", f"cannot be read: {exc}")
