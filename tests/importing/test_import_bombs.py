"""Decompression bombs: a small upload that would decode to gigabytes is refused from what the
file says of itself (the Parquet footer) or while it is read, never after it was all in memory.

How much memory a bomb costs is measured by bench/import_bench.py --bombs, not asserted here.
"""

import gzip
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotator.fileformats import parquet as parquet_module
from annotator.fileformats import textfile
from annotator.imports import ImportFailed, import_file
from annotator.models import Prompt

pytestmark = pytest.mark.django_db


def write(table, **options):
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", **options)
    return sink.getvalue()


def repeated(text, n):
    """n copies of text as a dictionary array: one dictionary entry, the rest run-length encoded."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([text]))


def one_row_with_a_list_of(n):
    completions = pa.ListArray.from_arrays(pa.array([0, n], type=pa.int32()), repeated("a" * 10, n))
    return write(pa.table({"prompt": ["p"], "completions": completions}))


def errors_of(project, data, **options):
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=data, filename="bomb.parquet", **options)
    assert Prompt.objects.count() == 0
    return [str(e) for e in failed.value.errors]


@pytest.fixture
def pages_never_read(monkeypatch):
    """Fails the test if any data page of the file is read."""

    def read(*args, **kwargs):
        raise AssertionError("a data page was read")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", read)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", read)
    monkeypatch.setattr(pq.ParquetFile, "read", read)


def test_a_kilobyte_row_holding_ten_million_values_is_refused_from_the_footer(project, pages_never_read):
    data = one_row_with_a_list_of(10_000_000)
    assert len(data) < 2000  # the audit's bomb was 997 bytes
    assert errors_of(project, data) == [
        "file, completions: row group 1 holds 10,000,000 values in one column, the limit is "
        f"{parquet_module.MAX_COLUMN_CHUNK_VALUES:,} (write smaller row groups)"
    ]


def test_pages_that_decompress_past_the_import_limit_are_refused_from_the_footer(project, settings, pages_never_read):
    settings.ARBITER_MAX_IMPORT_BYTES = 1_000_000
    data = write(
        pa.table({"prompt": ["x" * 5_000_000], "completions": [["a", "b"]]}),
        use_dictionary=False,
    )
    assert len(data) < 10_000
    [error] = errors_of(project, data)
    assert error.startswith("file: decompressed, its pages are 5,000,")
    assert error.endswith("bytes; the limit is 1,000,000 (ARBITER_MAX_IMPORT_BYTES, as for a text file)")


def test_more_rows_than_a_text_file_of_the_limit_could_hold_are_refused_from_the_footer(
    project, settings, pages_never_read
):
    settings.ARBITER_MAX_IMPORT_BYTES = 16_000
    data = write(
        pa.table(
            {
                "prompt": repeated("p", 1001),
                "completions": pa.array([["a", "b"]] * 1001),
            }
        )
    )
    assert errors_of(project, data) == [
        "file: 1,001 rows; the limit is 1,000 (one per 16 bytes of ARBITER_MAX_IMPORT_BYTES, the shortest line of a text file)"
    ]


def test_rows_that_decode_past_the_import_limit_stop_the_read_where_they_pass_it(project, settings, monkeypatch):
    settings.ARBITER_MAX_IMPORT_BYTES = 1_000_000
    monkeypatch.setattr(parquet_module, "PARQUET_BATCH_ROWS", 100)
    batches = []
    real = pq.ParquetFile.iter_batches

    def counted(self, *args, **kwargs):
        for batch in real(self, *args, **kwargs):
            batches.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counted)
    n = 50_000  # 1,000 characters each: 50 MB once decoded, a few kilobytes on disk
    data = write(
        pa.table(
            {
                "prompt": repeated("p" * 1000, n),
                "completions": pa.array([["a", "b"]] * n),
            }
        )
    )
    assert len(data) < 50_000
    errors = errors_of(project, data)
    assert errors[-1] == (
        "file: decoded, rows 1 to 999 hold more than 1,000,000 bytes; the limit is 1,000,000 "
        "(ARBITER_MAX_IMPORT_BYTES, as for a text file)"
    )
    assert len(batches) == 10  # it stopped there: 500 batches were never read


def test_a_row_longer_than_a_text_line_may_be_is_a_row_error_and_the_others_are_read(project, monkeypatch):
    monkeypatch.setattr(textfile, "MAX_LINE_BYTES", 1000)
    rows = pa.table({"prompt": ["fine", "p" * 2000, "also fine"], "completions": [["a", "b"]] * 3})
    errors = errors_of(project, write(rows))
    assert errors == ["line 2: 2,002 bytes once decoded, the limit is 1,000 (as for a line of a text file)"]
    report = import_file(project=project, data=write(rows), filename="b.parquet", skip_invalid=True)
    assert report.prompts_created == 2


def test_a_csv_record_of_quoted_cells_spanning_lines_stops_at_the_line_limit(project, monkeypatch):
    monkeypatch.setattr(textfile, "MAX_LINE_BYTES", 1000)
    cells = ",".join(['"a\nb"'] * 400)  # each line is short; the record is 2,400 bytes
    data = f"prompt,completion_1,completion_2\nok,a,b\n{cells}\n".encode()
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=data, filename="bomb.csv")
    assert [str(e) for e in failed.value.errors] == [
        "file: not valid CSV: the record from line 3 is longer than 1,000 characters (as a line may be)"
    ]


def test_a_gzip_compressed_upload_is_not_decompressed_but_refused_as_not_utf8(project):
    data = gzip.compress(b'{"prompt": "p", "completions": ["a", "b"]}\n' * 1_000_000)
    assert len(data) < 200_000
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=data, filename="prompts.jsonl.gz")
    assert "not valid UTF-8" in str(failed.value.errors[0]) and Prompt.objects.count() == 0
