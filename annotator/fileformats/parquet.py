"""Parquet import files: the columns of one JSON form, read a row group at a time; a row's
number is its "line"."""

import pyarrow as pa
import pyarrow.parquet as pq

from .records import LineError

PARQUET_MAGIC = b"PAR1"
PARQUET_BATCH_ROWS = 1000  # rows turned into Python objects at a time


def column_names(binary):
    """The column names of a Parquet file; ValueError, with the reason, for a file that is not Parquet."""
    try:
        return pq.ParquetFile(binary).schema_arrow.names
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"not a valid Parquet file: {exc}") from None


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
