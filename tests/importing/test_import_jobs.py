"""An upload over ARBITER_IMPORT_BACKGROUND_BYTES is imported by a Celery job with a progress page."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotator.celery import app
from annotator.import_uploads import upload_opened
from annotator.imports import import_job_run
from annotator.models import ImportJob, Prompt
from tests import factories

pytestmark = pytest.mark.django_db

LINES = "\n".join(json.dumps({"id": str(i), "prompt": f"p{i}", "completions": ["a", "b"]}) for i in range(30)).encode()


@pytest.fixture(autouse=True)
def _small_threshold(settings, tmp_path):
    settings.ARBITER_IMPORT_BACKGROUND_BYTES = 100
    settings.DATA_DIR = tmp_path


def upload(client, project, data=LINES, **fields):
    url = reverse("project_import", args=[project.slug])
    return client.post(url, {"file": SimpleUploadedFile("big.jsonl", data), **fields})


def job_page(client, job):
    return client.get(reverse("import_job_detail", args=[job.project.slug, job.pk]))


def test_a_large_upload_becomes_a_queued_job_sent_after_commit(
    client, project, lead, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(client, project, skip_invalid="on")
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("import_job_detail", args=[project.slug, job.pk])
    assert len(callbacks) == 1  # the message is sent once the job row is committed
    assert (job.status, job.requested_by, job.skip_invalid, job.size) == ("queued", lead, True, len(LINES))
    with upload_opened(job.upload_path) as kept:  # in the data dir, or the store's bucket (ARBITER_TEST_STORAGE=s3)
        assert kept.read() == LINES and Prompt.objects.count() == 0
    page = job_page(client, job).content.decode()
    assert "Waiting for a worker" in page and '<meta http-equiv="refresh" content="2">' in page


def test_the_job_imports_the_file_and_its_page_shows_the_report(client, project, lead):
    client.force_login(lead)
    upload(client, project, data=LINES + b"\n[]", skip_invalid="on")
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and (job.lines_done, job.lines_total) == (31, 31)
    assert Prompt.objects.count() == 30 and not Path(job.upload_path).exists()
    page = job_page(client, job).content.decode()
    assert "Created 30 prompts (60 completions, 0 comparisons)" in page and "Also skipped 1 invalid line." in page
    assert "line 31: must be a JSON object, got list" in page and "http-equiv" not in page


def test_a_job_with_invalid_lines_fails_and_lists_them(client, project, lead):
    client.force_login(lead)
    upload(client, project, data=LINES + b"\n[]")
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and Prompt.objects.count() == 0
    assert job.errors == [{"line": 31, "field": "", "reason": "must be a JSON object, got list"}]
    assert "line 31: must be a JSON object, got list" in job_page(client, job).content.decode()


def test_the_celery_task_runs_the_job(client, project, lead, django_capture_on_commit_callbacks):
    client.force_login(lead)
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            upload(client, project)
    finally:
        app.conf.task_always_eager = False
    assert ImportJob.objects.get().status == "succeeded" and Prompt.objects.count() == 30


def test_a_small_upload_is_still_imported_at_once(client, project, lead, settings):
    settings.ARBITER_IMPORT_BACKGROUND_BYTES = 10 * len(LINES)
    client.force_login(lead)
    assert upload(client, project).status_code == 200
    assert Prompt.objects.count() == 30 and not ImportJob.objects.exists()


def test_only_the_projects_leads_see_a_job(client, project, lead, labeler, outsider):
    client.force_login(lead)
    upload(client, project)
    job = ImportJob.objects.get()
    client.force_login(labeler)
    assert job_page(client, job).status_code == 403
    client.force_login(outsider)
    assert job_page(client, job).status_code == 404
    other = factories.project()
    client.force_login(factories.member(other, "lead"))
    assert client.get(reverse("import_job_detail", args=[other.slug, job.pk])).status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_progress_shows_while_the_import_transaction_is_still_open(project, tmp_path, monkeypatch):
    from django.db import connections

    from annotator import imports

    monkeypatch.setattr(imports, "BATCH", 10)
    monkeypatch.setattr(imports, "PROGRESS_EVERY_SECONDS", 0)
    path = tmp_path / "upload"
    path.write_bytes(LINES)
    job = ImportJob.objects.create(project=project, filename="x.jsonl", upload_path=str(path), size=len(LINES))
    seen, write = [], imports._write_prompts

    def write_then_look(*args):
        write(*args)
        page = connections.create_connection("default")  # what the progress page would read now
        with page.cursor() as cursor:
            cursor.execute("SELECT lines_done, lines_total FROM annotator_importjob WHERE id = %s", [job.pk])
            seen.append(cursor.fetchone())
        page.close()

    monkeypatch.setattr(imports, "_write_prompts", write_then_look)
    import_job_run(job_id=job.pk)
    assert seen == [(30, None), (10, 30), (20, 30)]
    assert ImportJob.objects.get().status == "succeeded"
