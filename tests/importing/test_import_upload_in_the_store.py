"""With an S3 checkpoint store no two hosts share a disk: a large upload waits for its worker in
the store's bucket, not in the web host's data dir, and a worker on another host (its own empty
data dir) imports it. The object is removed once the job is over, whatever its outcome.

A host is simulated by its settings (DATA_DIR); the bucket (moto's S3 server) is the only thing
the hosts share."""

import json
import shutil
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from annotator.imports import import_job_run, import_jobs_reap_stale
from annotator.models import ImportJob, Prompt

pytestmark = pytest.mark.django_db

LINES = "\n".join(json.dumps({"id": str(i), "prompt": f"p{i}", "completions": ["a", "b"]}) for i in range(30)).encode()


@pytest.fixture(autouse=True)
def _web_host(settings, tmp_path, s3_storage):
    settings.ARBITER_IMPORT_BACKGROUND_BYTES = 100
    settings.DATA_DIR = tmp_path / "web"


def on_another_host(settings, tmp_path):
    """From here on this process is a worker's host: its own empty data dir, and web's out of reach."""
    shutil.rmtree(settings.DATA_DIR, ignore_errors=True)
    settings.DATA_DIR = tmp_path / "worker"
    settings.DATA_DIR.mkdir()


def upload(client, project, lead, data=LINES):
    client.force_login(lead)
    client.post(reverse("project_import", args=[project.slug]), {"file": SimpleUploadedFile("big.jsonl", data)})
    return ImportJob.objects.get()


def objects_in(store):
    """This test's objects in the bucket, key: contents."""
    listing = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix + "/")
    keys = [item["Key"] for item in listing.get("Contents", [])]
    return {key: store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read() for key in keys}


def files_under(folder):
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def test_a_large_upload_waits_in_the_bucket_not_in_the_web_hosts_data_dir(client, project, lead, s3_storage, settings):
    job = upload(client, project, lead)
    assert job.upload_path.startswith("store:")
    assert list(objects_in(s3_storage).values()) == [LINES]
    assert files_under(settings.DATA_DIR) == []


def test_a_worker_on_another_host_imports_every_row_and_the_object_is_removed(
    client, project, lead, s3_storage, settings, tmp_path
):
    job = upload(client, project, lead)
    on_another_host(settings, tmp_path)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.errors) == ("succeeded", [])
    assert Prompt.objects.count() == 30 and job.report["prompts_created"] == 30
    assert objects_in(s3_storage) == {}
    assert files_under(settings.DATA_DIR) == []  # its temporary copy is gone too


def test_a_failed_job_removes_its_object(client, project, lead, s3_storage, settings, tmp_path):
    job = upload(client, project, lead, data=LINES + b"\n[]")
    on_another_host(settings, tmp_path)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and Prompt.objects.count() == 0
    assert job.errors == [{"line": 31, "field": "", "reason": "must be a JSON object, got list"}]
    assert objects_in(s3_storage) == {}


def test_an_object_gone_from_the_bucket_fails_the_job_with_why(
    client, project, lead, s3_storage, settings, tmp_path
):
    job = upload(client, project, lead)
    for key in objects_in(s3_storage):
        s3_storage.client.delete_object(Bucket=s3_storage.bucket, Key=key)
    on_another_host(settings, tmp_path)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and Prompt.objects.count() == 0
    assert job.errors[0]["reason"] == "cannot read the upload: it is not in the checkpoint store"


def test_the_reaper_removes_a_stale_jobs_object(client, project, lead, s3_storage, settings):
    settings.ARBITER_HEARTBEAT_STALE_SECONDS = 60
    job = upload(client, project, lead)
    last = timezone.now() - timedelta(seconds=90)
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=last, heartbeat_at=last, attempts=1)
    assert objects_in(s3_storage) != {}
    assert import_jobs_reap_stale() == [job.pk]
    assert objects_in(s3_storage) == {}
