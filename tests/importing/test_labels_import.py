"""The labels format: labelled completions imported into a classify project as Classification rows."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotator.fileformats import detect_format
from annotator.imports import ImportFailed, import_file, import_job_run, text_id
from annotator.models import Classification, Comparison, Completion, ImportJob, Prompt
from annotator.projects import project_create
from tests import factories

pytestmark = pytest.mark.django_db

LABELS = ["not hate", "hate"]


@pytest.fixture
def classify():
    return project_create(slug="moderation", mode="classify", labels=LABELS, positive_label="not hate", completions_shown=1)


def jsonl(*records):
    return "\n".join(json.dumps(r) for r in records).encode()


def stored(project):
    return sorted(
        Classification.objects.filter(project=project).values_list(
            "prompt__external_id", "prompt__text", "completion__text", "label", "source", "judgment", "annotator"
        )
    )


GOOD = jsonl(
    {"id": "t1", "prompt": "Reply to the post", "completion": "Thanks, good point.", "label": "not hate"},
    {"id": "t1", "prompt": "Reply to the post", "completion": "People like you should vanish.", "label": "hate",
     "metadata": {"source": "forum"}},
    {"prompt": "Describe your neighbours", "completion": "They are kind.", "label": "not hate"},
)  # fmt: skip


def test_a_labels_file_stores_unqueued_prompts_completions_and_imported_classifications(classify):
    report = import_file(project=classify, data=GOOD, filename="labels.jsonl")
    assert report.format == "labels"
    assert (report.prompts_created, report.completions_created, report.classifications_created) == (2, 3, 3)
    assert report.comparisons_created == 0 and not Comparison.objects.exists()
    assert "3 labels" in report.summary()
    other = text_id("Describe your neighbours")
    assert stored(classify) == sorted([
        ("t1", "Reply to the post", "Thanks, good point.", "not hate", "imported", None, None),
        ("t1", "Reply to the post", "People like you should vanish.", "hate", "imported", None, None),
        (other, "Describe your neighbours", "They are kind.", "not hate", "imported", None, None),
    ])  # fmt: skip
    assert not Prompt.objects.filter(queued=True).exists()  # they arrived labelled: never queued
    assert Completion.objects.get(text="People like you should vanish.").metadata == {"source": "forum"}


def test_reimporting_skips_labels_already_there_and_keeps_a_differing_label(classify):
    import_file(project=classify, data=GOOD)
    report = import_file(project=classify, data=GOOD)
    assert (report.prompts_created, report.classifications_created, report.skipped) == (0, 0, 3)
    # A second opinion on the same completion is a new row on the same completion.
    again = jsonl({"id": "t1", "prompt": "Reply to the post", "completion": "Thanks, good point.", "label": "hate"})
    report = import_file(project=classify, data=again)
    assert (report.completions_created, report.classifications_created) == (0, 1)
    assert Classification.objects.filter(completion__text="Thanks, good point.").count() == 2


def test_a_label_outside_the_label_set_names_its_line_and_the_allowed_labels_and_stores_nothing(classify):
    data = jsonl(
        {"prompt": "p1", "completion": "c1", "label": "hate"},
        {"prompt": "p2", "completion": "c2", "label": "Hate"},
        {"prompt": "p3", "completion": "c3", "label": 1},
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(project=classify, data=data)
    assert [str(e) for e in failed.value.errors] == [
        "line 2, label: 'Hate' is not one of the project's labels ('not hate', 'hate')",
        "line 3, label: must be a string; the project's labels are 'not hate', 'hate'",
    ]
    assert not Prompt.objects.exists() and not Classification.objects.exists()


def test_missing_and_empty_fields_are_each_reported(classify):
    data = jsonl(
        {"prompt": "", "completion": "c", "label": "hate"},
        {"prompt": "p", "completion": "", "label": ""},
        {"prompt": "p", "completion": "c", "label": "hate", "metadata": "x"},
        {"prompt": "p", "completion": "c", "label": "hate", "id": ""},
        {"prompt": "p", "completion": "c"},
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(project=classify, data=data, format="labels")
    assert [str(e) for e in failed.value.errors] == [
        "line 1, prompt: empty",
        "line 2, completion: empty",
        "line 2, label: empty; the project's labels are 'not hate', 'hate'",
        "line 3, metadata: must be an object",
        "line 4, id: empty",
        "line 5, label: required; the project's labels are 'not hate', 'hate'",
    ]
    assert not Classification.objects.exists()


def test_one_id_for_two_prompt_texts_is_refused_in_the_file_and_against_the_project(classify):
    data = jsonl(
        {"id": "x", "prompt": "p", "completion": "c", "label": "hate"},
        {"id": "x", "prompt": "other", "completion": "c", "label": "hate"},
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(project=classify, data=data)
    assert [str(e) for e in failed.value.errors] == ["line 2, id: 'x' names a different prompt on line 1"]
    import_file(project=classify, data=jsonl({"id": "x", "prompt": "p", "completion": "c", "label": "hate"}))
    with pytest.raises(ImportFailed) as failed:
        import_file(project=classify, data=jsonl({"id": "x", "prompt": "q", "completion": "c", "label": "hate"}))
    assert [str(e) for e in failed.value.errors] == [
        "line 1, prompt: prompt id 'x' is already in the project with a different text"
    ]


def test_a_labels_file_into_a_pairwise_project_is_refused(project):
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=GOOD)
    (error,) = failed.value.errors
    assert error.line is None and error.field == "format"
    assert "a labels file imports into a classify project" in error.reason and "pairwise mode" in error.reason
    assert not Prompt.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        jsonl({"prompt": "p", "chosen": "a", "rejected": "b"}),
        jsonl({"prompt": "p", "completions": ["a", "b"], "excluded": []}),
    ],
    ids=["pairs", "rankings"],
)
def test_preferences_into_a_classify_project_are_refused(classify, data):
    with pytest.raises(ImportFailed) as failed:
        import_file(project=classify, data=data)
    (error,) = failed.value.errors
    assert error.field == "format" and "is a classify project: it learns from labels" in error.reason
    assert not Prompt.objects.exists() and not Comparison.objects.exists()


def test_labels_are_detected_from_the_first_line_and_from_a_csv_header():
    assert detect_format("x.jsonl", '{"prompt": "p", "completion": "c", "label": "hate"}') == "labels"
    assert detect_format("x.csv", "prompt,completion,label\n") == "labels"
    assert detect_format("x.csv", "prompt,completion_1,completion_2\n") == "csv"
    assert detect_format("upload", "id,prompt,completion,label\n") == "labels"


CSV = (
    "id,prompt,completion,label,notes\n"
    't1,Reply to the post,"Thanks,\ngood point.",not hate,ignored\n'
    ",Describe your neighbours,They are vile.,hate,\n"
).encode()


def test_a_labels_csv_is_imported_like_its_jsonl(classify):
    report = import_file(project=classify, data=CSV, filename="labels.csv")
    assert (report.format, report.classifications_created) == ("labels", 2)
    assert stored(classify) == sorted([
        ("t1", "Reply to the post", "Thanks,\ngood point.", "not hate", "imported", None, None),
        (text_id("Describe your neighbours"), "Describe your neighbours", "They are vile.", "hate", "imported", None, None),
    ])  # fmt: skip
    assert Completion.objects.get(text="They are vile.").metadata == {}  # other columns are ignored


def test_a_labels_csv_error_names_its_first_line_and_a_bad_header_is_one_error(classify):
    data = b'prompt,completion,label\np,"two\nlines",hate\np,c,spam\n'
    with pytest.raises(ImportFailed) as failed:
        import_file(project=classify, data=data, filename="labels.csv")
    assert [str(e) for e in failed.value.errors] == [
        "line 4, label: 'spam' is not one of the project's labels ('not hate', 'hate')"
    ]
    with pytest.raises(ImportFailed) as failed:
        import_file(project=classify, data=b"prompt,completion\np,c\n", format="labels")
    assert [str(e) for e in failed.value.errors] == [
        "line 1, header: needs the columns prompt, completion and label; missing label"
    ]


def test_a_labels_parquet_is_imported_and_its_other_columns_ignored(classify):
    table = pa.table({
        "prompt": ["p1", "p2"], "completion": ["c1", "c2"], "label": ["hate", "not hate"],
        "prompt_id": ["a", None], "created_at": pa.array([0, 0], pa.timestamp("us", tz="UTC")),
    })  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    report = import_file(project=classify, data=buffer.getvalue(), filename="labels.parquet")
    assert (report.format, report.classifications_created) == ("parquet", 2)
    assert sorted(Classification.objects.values_list("prompt__external_id", "label")) == [
        ("a", "hate"), (text_id("p2"), "not hate")
    ]  # fmt: skip


def test_skip_invalid_imports_the_valid_labels_and_lists_the_others(classify):
    data = jsonl(
        {"prompt": "p1", "completion": "c1", "label": "hate"},
        {"prompt": "p2", "completion": "c2", "label": "spam"},
        {"prompt": "p3", "completion": "", "label": "not hate"},
        {"prompt": "p4", "completion": "c4", "label": "not hate"},
    )
    report = import_file(project=classify, data=data, skip_invalid=True)
    assert (report.classifications_created, report.invalid) == (2, 2)
    assert [str(e) for e in report.skipped_lines] == [
        "line 2, label: 'spam' is not one of the project's labels ('not hate', 'hate')",
        "line 3, completion: empty",
    ]
    assert sorted(Classification.objects.values_list("completion__text", flat=True)) == ["c1", "c4"]


def test_the_command_imports_labels_and_refuses_them_into_a_pairwise_project(classify, project, tmp_path, capsys):
    path = tmp_path / "labels.jsonl"
    path.write_bytes(GOOD)
    call_command("import_prompts", classify.slug, str(path), "--format", "labels")
    assert "3 labels" in capsys.readouterr().out
    assert Classification.objects.filter(project=classify).count() == 3
    with pytest.raises(CommandError):
        call_command("import_prompts", project.slug, str(path))
    assert "a labels file imports into a classify project" in capsys.readouterr().err


def test_the_upload_page_offers_labels_and_imports_them(classify, client):
    lead = factories.member(classify, "lead", username="classify-lead")
    client.force_login(lead)
    url = reverse("project_import", args=[classify.slug])
    page = client.get(url)
    assert b'value="labels"' in page.content
    upload = SimpleUploadedFile("labels.csv", CSV, content_type="text/csv")
    response = client.post(url, {"file": upload, "format": "labels"}, follow=True)
    assert response.status_code == 200
    assert Classification.objects.filter(project=classify, source="imported").count() == 2


def test_a_large_labels_upload_runs_as_a_job_and_its_page_reports_the_labels(classify, client, settings, tmp_path):
    settings.ARBITER_IMPORT_BACKGROUND_BYTES = 100
    settings.DATA_DIR = tmp_path
    client.force_login(factories.member(classify, "lead", username="classify-lead"))
    bad = jsonl({"prompt": "p", "completion": "c", "label": "spam"})
    client.post(
        reverse("project_import", args=[classify.slug]),
        {"file": SimpleUploadedFile("big.jsonl", GOOD + b"\n" + bad), "skip_invalid": "on"},
    )
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.report["classifications_created"] == 3
    page = client.get(reverse("import_job_detail", args=[classify.slug, job.pk])).content.decode()
    assert "Created 2 prompts (3 completions, 3 labels)" in page
    assert "line 4, label: &#x27;spam&#x27; is not one of the project&#x27;s labels" in page
