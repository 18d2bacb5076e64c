"""Imports and exports are in the audit log: who, which file and what it added; which kind, format and filters."""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from annotator.audit_sentences import audit_sentence
from annotator.export_audit import export_filters
from annotator.exports import ExportOptions
from annotator.imports import ImportFailed, import_file, import_job_run
from annotator.models import AuditEntry, ImportJob

pytestmark = pytest.mark.django_db

PROMPTS = "\n".join(json.dumps({"id": str(i), "prompt": f"p{i}", "completions": ["a", "b"]}) for i in range(3)).encode()


def sentence_of(action, detail, actor="lead"):
    return audit_sentence(AuditEntry(action=action, detail=detail, actor_username=actor))


def test_an_upload_on_the_page_is_logged_with_its_file_and_counts(client, project, lead):
    client.force_login(lead)
    import_file(project=project, data=PROMPTS[: PROMPTS.index(b"\n")], filename="first.jsonl")
    AuditEntry.objects.all().delete()
    data = PROMPTS + b"\nnot json"
    response = client.post(
        reverse("project_import", args=[project.slug]),
        {"file": SimpleUploadedFile("batch.jsonl", data), "format": "jsonl", "skip_invalid": "on"},
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.project) == ("data.import", lead, project)
    assert entry.detail == {
        "filename": "batch.jsonl",
        "format": "jsonl",
        "created": {"prompts": 2, "completions": 4},
        "skipped": {"already_there": 1, "invalid": 1},
    }
    assert audit_sentence(entry) == (
        'lead imported "batch.jsonl" (jsonl): 2 prompts, 4 completions; skipped 1 already there, 1 invalid'
    )


def test_a_failed_import_writes_no_entry(project):
    with pytest.raises(ImportFailed):
        import_file(project=project, data=b"not json", filename="bad.jsonl")
    assert not AuditEntry.objects.exists()


def test_a_background_job_is_logged_as_the_lead_who_uploaded_it(project, lead, tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(PROMPTS)
    job = ImportJob.objects.create(project=project, requested_by=lead, filename="big.jsonl", upload_path=str(path), size=1)
    import_job_run(job_id=job.pk)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_username, entry.detail["filename"], entry.detail["created"]["prompts"]) == (
        "data.import", "lead", "big.jsonl", 3
    )


def test_the_import_command_is_logged_without_an_actor(project, tmp_path):
    path = tmp_path / "cli.jsonl"
    path.write_bytes(PROMPTS)
    call_command("import_prompts", project.slug, str(path), stdout=io.StringIO())
    assert audit_sentence(AuditEntry.objects.get()) == 'Arbiter imported "cli.jsonl" (jsonl): 3 prompts, 6 completions'


@pytest.fixture
def pairs(project):
    import_file(project=project, data=b'{"prompt": "q", "chosen": "good", "rejected": "bad"}', filename="pairs.jsonl", format="pairs")
    AuditEntry.objects.all().delete()
    return project


def test_a_download_from_the_export_page_is_logged_with_its_filters(client, pairs, lead):
    client.force_login(lead)
    response = client.get(
        reverse("project_export", args=[pairs.slug]),
        {"download": "1", "format": "csv", "kind": "pairs", "source": "imported", "since": "2026-01-02"},
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor) == ("data.export", lead)
    assert entry.detail["via"] == "page" and entry.detail["format"] == "csv" and entry.detail["kind"] == "pairs"
    assert entry.detail["filters"]["source"] == "imported"
    assert entry.detail["filters"]["since"].startswith("2026-01-02T00:00:00")
    assert audit_sentence(entry).startswith('lead exported pairs (explicit) as csv from the export page, filtered by since "2026-01-02T00:00:00')


def test_the_export_page_without_download_logs_nothing(client, pairs, lead):
    client.force_login(lead)
    assert client.get(reverse("project_export", args=[pairs.slug])).status_code == 200
    assert not AuditEntry.objects.exists()


def test_an_api_export_is_logged(pairs, lead):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=lead).key}")
    response = api.get(f"/api/v1/projects/{pairs.slug}/export/", {"hash_annotators": "true"})
    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.actor_username, entry.detail) == (
        "lead", {"kind": "pairs", "form": "explicit", "format": "jsonl", "filters": {"hash_annotators": True}, "via": "api"}
    )
    assert audit_sentence(entry) == "lead exported pairs (explicit) as jsonl from the API, filtered by hash annotators yes"


def test_a_refused_api_export_logs_nothing(pairs, lead):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=lead).key}")
    assert api.get(f"/api/v1/projects/{pairs.slug}/export/", {"source": "human"}).status_code == 409
    assert not AuditEntry.objects.exists()


def test_the_export_command_is_logged(pairs, tmp_path):
    call_command("export_comparisons", pairs.slug, "--kind", "judgments", "-o", str(tmp_path / "out.jsonl"), stderr=io.StringIO())
    assert audit_sentence(AuditEntry.objects.get()) == "Arbiter exported judgments as jsonl from the command line, unfiltered"


def test_export_filters_are_the_options_that_differ_from_the_defaults():
    options = ExportOptions(format="csv", labelers=("ann", "bob"), until=datetime(2026, 3, 1, tzinfo=UTC), min_agreement=0.5)
    assert export_filters(options) == {"until": "2026-03-01T00:00:00+00:00", "labelers": ["ann", "bob"], "min_agreement": 0.5}


@pytest.mark.parametrize(
    "action, detail, expected",
    [
        ("project.archive", {}, "lead archived the project"),
        ("project.restore", {"archived_at": "2026-01-01T00:00:00+00:00"}, "lead restored the project"),
        (
            "project.delete", {"name": "Old", "prompts": 3, "judgments": 2, "model_versions": 1},
            'lead deleted the project "Old" with 3 prompts, 2 judgments and 1 model versions',
        ),
        (
            "data.import", {"filename": "a.csv", "format": "csv", "created": {}, "skipped": {"already_there": 4}},
            'lead imported "a.csv" (csv): nothing new; skipped 4 already there',
        ),
        (
            "data.export", {"kind": "labels", "format": "parquet", "filters": {"labelers": ["ann"]}, "via": "api"},
            'lead exported labels as parquet from the API, filtered by labelers ["ann"]',
        ),
    ],
)  # fmt: skip
def test_the_new_actions_read_as_sentences(action, detail, expected):
    assert sentence_of(action, detail) == expected
