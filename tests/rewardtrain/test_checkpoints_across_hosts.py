"""Checkpoints in a bucket (moto's S3 server): a run publishes there, and a "host" with its own
model cache and no access to the trainer's disk fetches, verifies and serves the version.

A host is simulated by its settings (ARBITER_MODEL_CACHE) and a fresh serving memory; the
bucket is the only thing the hosts share."""

import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from arbiter_reward import LocalReward
from rewardtrain import checkpoint_store, serving, store_reaper
from rewardtrain.checkpoints import MANIFEST_FILE
from rewardtrain.models import RewardModelVersion
from rewardtrain.runs import reap_stale_runs
from rewardtrain.versions import next_version_number
from tests.rewardtrain.comparisons import fake_gate_scores, train_small

pytestmark = pytest.mark.django_db(transaction=True)  # the fetch thread has its own connection

ITEMS = [("human: tell me about the cat 1. assistant:", "the cat is good and kind"),
         ("human: tell me about the dog 2. assistant:", "the dog is bad and rude")]  # fmt: skip


def on_host(settings, tmp_path, name):
    """From here on this process is host `name`: its own cache folder, nothing loaded yet."""
    settings.ARBITER_MODEL_CACHE = tmp_path / name
    with serving._cache_lock:
        serving._cache.clear()
        serving._refused.clear()


def score(user, project):
    client = APIClient()
    client.force_authenticate(user)
    body = {"items": [{"prompt": p, "completion": c} for p, c in ITEMS]}
    return client.post(f"/api/v1/projects/{project.slug}/score/", body, format="json")


def score_when_fetched(user, project, *, within=60):
    deadline = time.monotonic() + within
    while True:
        response = score(user, project)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def wait_for_fetches(within=60):
    deadline = time.monotonic() + within
    while serving._fetching and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not serving._fetching


def new_version_goes_live(monkeypatch, settings):
    settings.ARBITER_GATE_MIN_PAIRS = 5
    fake_gate_scores(monkeypatch, new_right=lambda prompt: True, current_right=lambda prompt: False)


@pytest.fixture
def published_to_s3(s3_storage, trainable, settings, tmp_path):
    """v1 trained on host worker-a and published to the bucket."""
    on_host(settings, tmp_path, "worker-a")
    run = train_small(trainable)
    assert run.status == "succeeded" and run.version.is_current, run.error
    return trainable


def test_a_run_publishes_to_the_bucket_and_another_host_serves_the_same_rewards(published_to_s3, s3_storage, settings, tmp_path, lead, client):
    project = published_to_s3
    version = RewardModelVersion.objects.get(project=project)
    assert version.path == f"{project.slug}/v1"  # a name, never worker-a's folder
    assert [(v.name, v.has_manifest) for v in s3_storage.stored_versions()] == [(f"{project.slug}/v1", True)]
    worker_a_folder = checkpoint_store.cached_folder(version)  # the trainer keeps its upload as its cached copy
    assert worker_a_folder.is_relative_to(tmp_path / "worker-a")
    expected = LocalReward(str(worker_a_folder))([p for p, _ in ITEMS], [c for _, c in ITEMS])
    shutil.rmtree(tmp_path / "worker-a")
    shutil.rmtree(settings.ARBITER_CHECKPOINT_DIR, ignore_errors=True)

    on_host(settings, tmp_path, "web")
    cold = score(lead, project)
    assert cold.status_code == 503 and cold["Retry-After"] == "5" and "fetching v1" in cold.json()["detail"]
    client.force_login(lead)
    assert "fetching v1" in client.get(f"/projects/{project.slug}/models/").content.decode()
    served = score_when_fetched(lead, project)
    assert served.status_code == 200, served.content
    assert served.json()["version"] == 1
    assert served.json()["rewards"] == pytest.approx(expected, abs=1e-5)
    assert (tmp_path / "web" / project.slug / "v1" / MANIFEST_FILE).is_file()
    assert "fetching" not in client.get(f"/projects/{project.slug}/models/").content.decode()


def test_an_interrupted_upload_is_never_served_and_the_reaper_removes_it(published_to_s3, s3_storage, settings, tmp_path, lead):
    project = published_to_s3
    # What a trainer killed mid-upload leaves: files, no manifest, no row.
    folder = checkpoint_store.cached_folder(RewardModelVersion.objects.get(project=project))
    for name in ("config.json", "model.safetensors"):
        s3_storage.client.upload_file(str(folder / name), s3_storage.bucket, f"{s3_storage.prefix}/{project.slug}/v2/{name}")
    on_host(settings, tmp_path, "web")
    assert score_when_fetched(lead, project).json()["version"] == 1
    assert next_version_number(project) == 3  # the number is not reused
    assert store_reaper.reap_unpublished_checkpoints() == []  # too fresh: it may be an upload in progress
    assert store_reaper.reap_unpublished_checkpoints(grace=timedelta(0)) == [f"{project.slug}/v2"]
    assert [v.name for v in s3_storage.stored_versions()] == [f"{project.slug}/v1"]


def test_the_periodic_reaper_removes_a_version_whose_row_was_never_written(published_to_s3, s3_storage, monkeypatch):
    project = published_to_s3
    RewardModelVersion.objects.filter(project=project).delete()  # manifest there, row gone
    monkeypatch.setattr(store_reaper, "UNPUBLISHED_GRACE", timedelta(0))
    reap_stale_runs()
    assert s3_storage.stored_versions() == []


def test_a_publish_that_fails_before_its_manifest_leaves_nothing_and_the_run_fails(published_to_s3, s3_storage, settings, monkeypatch):
    project = published_to_s3
    new_version_goes_live(monkeypatch, settings)

    def lose_the_link(params, **_):
        if params["Key"].endswith(f"/v2/{MANIFEST_FILE}"):
            raise ConnectionError("the store went away")

    s3_storage.client.meta.events.register("before-parameter-build.s3.PutObject", lose_the_link)
    run = train_small(project)
    assert run.status == "failed" and "the store went away" in run.error
    assert [v.name for v in s3_storage.stored_versions()] == [f"{project.slug}/v1"]
    assert list(RewardModelVersion.objects.filter(project=project).values_list("version", "is_current")) == [(1, True)]


def test_a_corrupted_object_is_refused_the_last_good_version_serves_and_the_fetch_is_retried(
    published_to_s3, s3_storage, settings, tmp_path, lead, monkeypatch
):
    project = published_to_s3
    on_host(settings, tmp_path, "web")
    assert score_when_fetched(lead, project).json()["version"] == 1  # web has v1
    on_host(settings, tmp_path, "worker-a")
    new_version_goes_live(monkeypatch, settings)
    assert train_small(project).version.is_current
    key = f"{s3_storage.prefix}/{project.slug}/v2/model.safetensors"
    original = s3_storage.client.get_object(Bucket=s3_storage.bucket, Key=key)["Body"].read()
    s3_storage.client.put_object(Bucket=s3_storage.bucket, Key=key, Body=original[:-1] + bytes([original[-1] ^ 1]))

    on_host(settings, tmp_path, "web")  # a web process restarted: v1 is in its host's cache, v2 is not
    assert score(lead, project).json()["version"] == 1  # while v2 is fetched, v1 answers
    wait_for_fetches()
    v2 = RewardModelVersion.objects.get(project=project, version=2)
    assert "model.safetensors does not match its sha256" in v2.verification_error
    assert not (tmp_path / "web" / project.slug / "v2").exists()
    assert score(lead, project).json()["version"] == 1  # refused: the last good version serves

    s3_storage.client.put_object(Bucket=s3_storage.bucket, Key=key, Body=original)  # repaired
    monkeypatch.setattr(serving, "REFUSED_RECHECK_SECONDS", 0)
    score(lead, project)  # starts the retry
    wait_for_fetches()
    assert score(lead, project).json()["version"] == 2


def test_downloads_redirect_to_a_presigned_url_or_stream_from_the_store(published_to_s3, s3_storage, settings, tmp_path, lead, client):
    import urllib.request

    project = published_to_s3
    on_host(settings, tmp_path, "web")
    client.force_login(lead)
    url = f"/projects/{project.slug}/models/1/files/config.json"
    redirected = client.get(url)
    assert redirected.status_code == 302 and "X-Amz-Signature" in redirected["Location"]
    with urllib.request.urlopen(redirected["Location"]) as response:
        expected = response.read()
    assert expected == (tmp_path / "web" / project.slug / "v1" / "config.json").read_bytes()  # fetched and verified first
    settings.ARBITER_S3_PRESIGN_SECONDS = 0
    streamed = client.get(url)
    assert streamed.status_code == 200 and b"".join(streamed.streaming_content) == expected
    archive = client.get(f"/projects/{project.slug}/models/1/checkpoint.tar")
    assert archive.status_code == 200 and len(b"".join(archive.streaming_content)) == int(archive["Content-Length"])


def test_deleting_a_project_removes_its_checkpoints_from_the_bucket(published_to_s3, s3_storage, admin_user):
    from annotator.project_lifecycle import project_delete

    project_delete(project=published_to_s3, typed_slug=published_to_s3.slug, actor=admin_user)
    assert s3_storage.stored_versions() == []


def test_the_migration_names_versions_by_slug_and_number(project, settings, tmp_path):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = ("rewardtrain", "0008_trainingrun_note"), ("rewardtrain", "0009_version_path_is_store_name")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old_version = executor.loader.project_state([before]).apps.get_model("rewardtrain", "RewardModelVersion")
    inside = Path(settings.ARBITER_CHECKPOINT_DIR) / project.slug / "v1"
    old_version.objects.create(project_id=project.pk, version=1, path=str(inside))
    old_version.objects.create(project_id=project.pk, version=2, path="/elsewhere/v2")
    executor = MigrationExecutor(connection)
    executor.migrate([after])
    paths = dict(RewardModelVersion.objects.filter(project=project).values_list("version", "path"))
    assert paths == {1: f"{project.slug}/v1", 2: "/elsewhere/v2"}  # one outside the folder keeps its folder
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_next_run_on_a_host_removes_what_a_killed_run_left_in_its_staging_folder(published_to_s3, settings, tmp_path, monkeypatch):
    left = tmp_path / "worker-a" / ".staging" / published_to_s3.slug / "v2-killed" / "v2"
    left.mkdir(parents=True)
    (left / "model.safetensors").write_bytes(b"half")
    new_version_goes_live(monkeypatch, settings)
    assert train_small(published_to_s3).version.version == 2
    assert list((tmp_path / "worker-a" / ".staging" / published_to_s3.slug).iterdir()) == []
    assert checkpoint_store.cached_folder(RewardModelVersion.objects.get(project=published_to_s3, version=2)) is not None
