"""Parquet import: the columns of the JSON forms (what `datasets` writes), the same checks, row numbers."""

import io
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotator.fileformats import parquet as parquet_format_module
from annotator.imports import ImportFailed, import_file, import_job_run, text_id
from annotator.models import Comparison, ImportJob, Prompt

pytestmark = pytest.mark.django_db


def parquet(rows, *, schema=None, row_group_size=None):
    """A Parquet file of `rows` (dicts), written as `Dataset.to_parquet` does: pyarrow from Python rows."""
    table = pa.Table.from_pylist(rows, schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def errors_of(project, data, **options):
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=data, **options)
    return [str(e) for e in failed.value.errors]


def test_parquet_prompts_are_detected_by_extension_and_queued_with_completions_and_metadata(project):
    data = parquet(
        [
            {"id": "q1", "prompt": "Why?", "completions": ["Because.", "No idea."], "metadata": {"topic": "x"}},
            {"id": "q2", "prompt": "How?", "completions": ["Slowly.", "Fast.", "Not at all."], "metadata": None},
        ]
    )
    report = import_file(project=project, data=data, filename="prompts.parquet")
    assert report.format == "parquet"
    assert (report.prompts_created, report.completions_created, report.comparisons_created) == (2, 5, 0)
    q1 = Prompt.objects.get(external_id="q1")
    assert q1.queued and q1.text == "Why?" and q1.metadata == {"topic": "x"}
    assert sorted(q1.completions.values_list("text", flat=True)) == ["Because.", "No idea."]
    assert Prompt.objects.get(external_id="q2").metadata == {}


def test_parquet_pairs_are_detected_by_the_magic_bytes_and_stored_as_imported_comparisons(project):
    data = parquet(
        [
            {"prompt": "2+2?", "chosen": "4", "rejected": "5", "prompt_id": "math-1"},
            {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon.", "prompt_id": None},
        ]
    )
    assert data.startswith(b"PAR1")
    report = import_file(project=project, data=data, filename="upload.bin")
    assert (report.prompts_created, report.completions_created, report.comparisons_created) == (2, 4, 2)
    math = Comparison.objects.get(prompt__external_id="math-1")
    assert (math.chosen.text, math.rejected.text, math.source) == ("4", "5", "imported")
    assert Prompt.objects.filter(external_id=text_id("Capital of France?"), queued=False).exists()


def test_parquet_is_read_in_batches_and_errors_name_one_based_row_numbers(project, monkeypatch):
    monkeypatch.setattr(parquet_format_module, "PARQUET_BATCH_ROWS", 2)  # rows 1-2, 3-4, 5 in three batches
    rows = [{"prompt": f"p{i}", "chosen": "a", "rejected": "b"} for i in range(1, 6)]
    rows[3]["prompt"] = ""
    data = parquet(rows, row_group_size=2)
    assert pq.ParquetFile(io.BytesIO(data)).num_row_groups == 3
    assert errors_of(project, data, filename="p.parquet") == ["line 4, prompt: empty"]
    assert Prompt.objects.count() == 0


def test_a_hostile_value_inside_parquet_is_a_row_error(project):
    data = parquet(
        [
            {"prompt": "fine", "completions": ["a", "b"], "metadata": {"score": 1.0}},
            {"prompt": "a\x00b", "completions": ["a", "b"], "metadata": {"score": 1.0}},
            {"prompt": "nan", "completions": ["a", "b"], "metadata": {"score": float("nan")}},
        ]
    )
    assert errors_of(project, data, filename="p.parquet") == [
        "line 2, prompt: contains a NUL character (\\u0000), which cannot be stored",
        "line 3, metadata.score: NaN is not a number JSON can store",
    ]


def test_a_string_column_that_is_not_utf8_is_a_row_error(project):
    # Arrow trusts a file's string columns; bytes cast without validation make an invalid one.
    prompts = pa.array([b"good", b"bad \xff"], pa.binary()).view(pa.string())
    completions = pa.array([["a", "b"], ["a", "b"]])
    sink = io.BytesIO()
    pq.write_table(pa.table({"prompt": prompts, "completions": completions}), sink)
    errors = errors_of(project, sink.getvalue(), filename="p.parquet")
    assert len(errors) == 1 and errors[0].startswith("line 2: cannot be read:")


def test_a_binary_or_date_value_is_not_json_and_is_a_row_error(project):
    data = parquet([{"prompt": b"bytes", "completions": ["a", "b"], "metadata": {"day": date(2026, 1, 1)}}])
    assert errors_of(project, data, filename="p.parquet") == [
        "line 1, prompt: a bytes value is not JSON: use text, numbers, lists or objects",
        "line 1, metadata.day: a date value is not JSON: use text, numbers, lists or objects",
    ]


def test_skip_invalid_on_parquet_imports_the_valid_rows_and_lists_the_others(project):
    data = parquet(
        [
            {"id": "1", "prompt": "p1", "completions": ["a", "b"]},
            {"id": "2", "prompt": "p2", "completions": ["a"]},
            {"id": "3", "prompt": "p\x003", "completions": ["a", "b"]},
            {"id": "1", "prompt": "p4", "completions": ["a", "b"]},
            {"id": "5", "prompt": "p5", "completions": ["a", "b"]},
        ]
    )
    report = import_file(project=project, data=data, filename="p.parquet", skip_invalid=True)
    assert sorted(Prompt.objects.values_list("external_id", flat=True)) == ["1", "5"]
    assert report.invalid == 3
    assert [str(e) for e in report.skipped_lines] == [
        "line 2, completions: 1 completion; each prompt needs 2 to 9 (a project shows 2 to 9 per item)",
        "line 3, prompt: contains a NUL character (\\u0000), which cannot be stored",
        "line 4, id: id '1' is also on line 1",
    ]


def test_a_file_that_is_not_parquet_or_lacks_columns_is_a_file_error(project):
    assert errors_of(project, b"PAR1 and then nothing", filename="x.parquet")[0].startswith(
        "file: not a valid Parquet file:"
    )
    assert errors_of(project, parquet([{"prompt": "p", "answers": ["a", "b"]}]), filename="x.parquet") == [
        "file: the columns are prompt, answers: missing completions "
        "(a Parquet file has the keys of one JSONL form as its columns)"
    ]
    assert Prompt.objects.count() == 0


def test_command_and_upload_page_read_parquet(project, lead, client, tmp_path):
    path = tmp_path / "pairs.parquet"
    path.write_bytes(parquet([{"prompt": "p", "chosen": "a", "rejected": "b"}]))
    call_command("import_prompts", project.slug, str(path), "--format", "parquet")
    assert Comparison.objects.count() == 1
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(parquet([{"prompt": "", "chosen": "a", "rejected": "b"}]))
    with pytest.raises(CommandError):
        call_command("import_prompts", project.slug, str(bad))

    client.force_login(lead)
    upload = SimpleUploadedFile("more.parquet", parquet([{"prompt": "q", "chosen": "a", "rejected": "b"}]))
    response = client.post(reverse("project_import", args=[project.slug]), {"file": upload})
    assert response.status_code == 200 and Comparison.objects.count() == 2


def test_a_large_parquet_upload_is_imported_by_a_background_job(client, project, lead, settings, tmp_path):
    settings.ARBITER_IMPORT_BACKGROUND_BYTES, settings.DATA_DIR = 100, tmp_path
    rows = [{"prompt": f"p{i}", "chosen": "a", "rejected": "b"} for i in range(30)]
    rows.append({"prompt": "", "chosen": "a", "rejected": "b"})
    client.force_login(lead)
    upload = SimpleUploadedFile("big.parquet", parquet(rows))
    client.post(reverse("project_import", args=[project.slug]), {"file": upload, "skip_invalid": "on"})
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and (job.lines_done, job.lines_total) == (31, 31)
    assert Comparison.objects.count() == 30
    assert job.report["skipped_lines"] == [{"line": 31, "field": "prompt", "reason": "empty"}]
