"""A version's folder is checked against its row, not only against its own manifest: the
manifest's sha256 and size are recorded at publish, so weights and manifest rewritten together
are refused by promotion, serving, training and verify_checkpoints, with an audit entry and a
"refused" state on the models page. Rows published before pins are checked against their
manifest only, until `verify_checkpoints --pin-unpinned` pins them."""

import json
import os
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from annotator.models import AuditEntry
from rewardtrain import serving, verification
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.checkpoints import MANIFEST_FILE, manifest_pin, write_manifest
from rewardtrain.models import RewardModelVersion
from tests.rewardtrain.comparisons import train_small

ITEM = {"prompt": "human: tell me about the cat. assistant:", "completion": "the cat is good"}
REWRITTEN = "manifest changed since publish: manifest.json does not match the sha256 recorded at publish"


def row(number):
    return RewardModelVersion.objects.get(version=number)


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def flip_a_byte(folder):
    weights = Path(folder) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # in the tensors, past the header: it would still load
    weights.write_bytes(bytes(data))


def rewrite_weights_and_manifest(folder):
    """Flip a byte of the weights and write a manifest that matches: the manifest alone passes."""
    flip_a_byte(folder)
    write_manifest(Path(folder))


def score(user, project):
    return client_for(user).post(f"/api/v1/projects/{project.slug}/score/", {"items": [ITEM]}, format="json")


def refusals():
    return list(AuditEntry.objects.filter(action="model_version.refused").values_list("detail", flat=True))


def test_publishing_records_the_manifest_sha256_and_size_on_the_row(two_versions):
    for number in (1, 2):
        pin = manifest_pin(version_folder(row(number)))
        assert (row(number).manifest_sha256, row(number).manifest_size) == (pin.sha256, pin.size)


def test_promoting_a_version_whose_weights_and_manifest_were_rewritten_is_409_naming_the_reason(two_versions, admin_user):
    rewrite_weights_and_manifest(version_folder(row(1)))
    response = client_for(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/1/promote/")
    assert response.status_code == 409
    assert response.json()["detail"] == f"v1 failed verification: {REWRITTEN}"
    assert row(2).is_current
    assert refusals() == [{"version": 1, "reason": REWRITTEN, "detected_by": "promote"}]


def test_scoring_answers_with_the_previous_good_version_and_says_which(two_versions, labeler):
    rewrite_weights_and_manifest(version_folder(row(2)))
    response = score(labeler, two_versions)
    assert response.status_code == 200 and response.json()["version"] == 1


def test_the_refusal_is_audited_once_per_detection_not_once_per_request(two_versions, labeler, monkeypatch):
    monkeypatch.setattr(serving, "REFUSED_RECHECK_SECONDS", 0)  # every request verifies v2 again
    rewrite_weights_and_manifest(version_folder(row(2)))
    for _ in range(3):
        assert score(labeler, two_versions).json()["version"] == 1
    assert refusals() == [{"version": 2, "reason": REWRITTEN, "detected_by": "serving"}]
    entry = AuditEntry.objects.get(action="model_version.refused")
    assert entry.project == two_versions and entry.actor is None


def test_the_models_page_shows_the_refused_version_to_leads(two_versions, labeler, lead, outsider, client):
    rewrite_weights_and_manifest(version_folder(row(2)))
    score(labeler, two_versions)
    url = f"/projects/{two_versions.slug}/models/"
    client.force_login(lead)
    page = client.get(url).content.decode()
    assert f"refused: {REWRITTEN}" in page
    client.force_login(labeler)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_scoring_still_falls_back_when_the_refusal_cannot_be_recorded(two_versions, labeler, monkeypatch):
    def database_down(**_):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(verification, "audit_record", database_down)
    rewrite_weights_and_manifest(version_folder(row(2)))
    assert score(labeler, two_versions).json()["version"] == 1
    assert row(2).verification_error == ""  # rolled back with its audit entry: the next check tries again


@pytest.mark.local_storage  # a folder restored (a manifest written) in place: the local store's own
def test_a_restored_folder_verifies_again_and_is_no_longer_shown_refused(two_versions, labeler, lead, client, tmp_path, monkeypatch):
    monkeypatch.setattr(serving, "REFUSED_RECHECK_SECONDS", 0)
    shutil.copytree(version_folder(row(2)), tmp_path / "backup")
    rewrite_weights_and_manifest(version_folder(row(2)))
    assert score(labeler, two_versions).json()["version"] == 1
    shutil.rmtree(version_folder(row(2)))
    shutil.copytree(tmp_path / "backup", version_folder(row(2)))
    assert score(labeler, two_versions).json()["version"] == 2
    assert (row(2).verification_error, row(2).verification_failed_at) == ("", None)
    client.force_login(lead)
    assert "refused:" not in client.get(f"/projects/{two_versions.slug}/models/").content.decode()
    assert AuditEntry.objects.filter(action="model_version.verified").get().detail == {"version": 2, "detected_by": "serving"}


def test_a_worker_starting_does_not_load_a_rewritten_current_version(two_versions):
    rewrite_weights_and_manifest(version_folder(row(2)))
    assert serving.warm_current_scorers() == []
    assert row(2).verification_error == REWRITTEN


def test_verify_checkpoints_reports_the_rewritten_version(two_versions, capsys):
    rewrite_weights_and_manifest(version_folder(row(1)))
    with pytest.raises(CommandError, match="1 checkpoint"):
        call_command("verify_checkpoints", two_versions.slug)
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{two_versions.slug} v1: FAILED: {REWRITTEN}", f"{two_versions.slug} v2: ok"]
    assert refusals() == [{"version": 1, "reason": REWRITTEN, "detected_by": "verify_checkpoints"}]


def test_a_retrain_does_not_warm_start_from_a_current_version_whose_manifest_changed(two_versions):
    rewrite_weights_and_manifest(version_folder(row(2)))
    run = train_small(two_versions)
    assert run.status == "succeeded", run.error
    assert run.version.metrics["warm_start_skipped"] == f"current v2 failed verification: {REWRITTEN}"
    assert refusals() == [{"version": 2, "reason": REWRITTEN, "detected_by": "training"}]


def test_a_manifest_only_rewrite_is_refused_naming_both_sizes(two_versions, admin_user):
    manifest = version_folder(row(1)) / MANIFEST_FILE
    manifest.write_text(json.dumps(json.loads(manifest.read_text())))  # the same entries, other bytes
    response = client_for(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/1/promote/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"v1 failed verification: manifest changed since publish: manifest.json is {manifest.stat().st_size} bytes, "
        f"{row(1).manifest_size} were published"
    )


@pytest.mark.local_storage  # a folder restored (a manifest written) in place: the local store's own
def test_a_deleted_manifest_is_written_again_only_when_it_matches_the_pin(two_versions, capsys):
    os.remove(version_folder(row(1)) / MANIFEST_FILE)
    call_command("verify_checkpoints", two_versions.slug, "--write-missing-manifests")
    assert f"{two_versions.slug} v1: ok (manifest written)" in capsys.readouterr().out
    os.remove(version_folder(row(1)) / MANIFEST_FILE)
    flip_a_byte(version_folder(row(1)))
    with pytest.raises(CommandError):
        call_command("verify_checkpoints", two_versions.slug, "--write-missing-manifests")
    assert f"v1: FAILED: {REWRITTEN}" in capsys.readouterr().out
    assert not (version_folder(row(1)) / MANIFEST_FILE).exists()  # the folder is left as it was found


# --- versions published before pins --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_leaves_rows_published_before_it_unpinned_without_reading_their_folders(project):
    before, pinned = ("rewardtrain", "0006_scored_samples"), ("rewardtrain", "0007_version_manifest_pin")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old_version = executor.loader.project_state([before]).apps.get_model("rewardtrain", "RewardModelVersion")
    old_version.objects.create(project_id=project.pk, version=1, path="/nowhere/v1")
    executor = MigrationExecutor(connection)
    executor.migrate([pinned])
    assert (row(1).manifest_pin, row(1).verification_error) == (None, "")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # whatever came after, for the tests that follow


def unpin(number):
    RewardModelVersion.objects.filter(version=number).update(manifest_sha256="", manifest_size=None)


def test_an_unpinned_version_is_checked_against_its_manifest_only_and_says_so(two_versions, admin_user, lead, client, capsys):
    unpin(1)
    rewrite_weights_and_manifest(version_folder(row(1)))
    call_command("verify_checkpoints", two_versions.slug)
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{two_versions.slug} v1: ok (unpinned: checked against its own manifest only; --pin-unpinned pins it)"
    )
    response = client_for(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/1/promote/")
    assert response.status_code == 200 and row(1).is_current
    client.force_login(lead)
    assert "unpinned" in client.get(f"/projects/{two_versions.slug}/models/").content.decode()


def test_pin_unpinned_pins_what_verifies_and_a_later_rewrite_is_refused(two_versions, admin_user, capsys):
    unpin(1)
    call_command("verify_checkpoints", two_versions.slug, "--pin-unpinned")
    assert capsys.readouterr().out.splitlines() == [f"{two_versions.slug} v1: ok (pinned now)", f"{two_versions.slug} v2: ok"]
    assert row(1).manifest_sha256 == manifest_pin(version_folder(row(1))).sha256
    assert AuditEntry.objects.get(action="model_version.pin").detail == {
        "version": 1, "manifest_sha256": row(1).manifest_sha256, "manifest_size": row(1).manifest_size,
    }  # fmt: skip
    rewrite_weights_and_manifest(version_folder(row(1)))
    assert client_for(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/1/promote/").status_code == 409


def test_pin_unpinned_never_pins_a_folder_that_fails_its_manifest(two_versions, capsys):
    unpin(1)
    flip_a_byte(version_folder(row(1)))
    with pytest.raises(CommandError):
        call_command("verify_checkpoints", two_versions.slug, "--pin-unpinned")
    assert "v1: FAILED: model.safetensors does not match its sha256 in the manifest" in capsys.readouterr().out
    assert (row(1).manifest_sha256, row(1).manifest_size) == ("", None)


def test_the_django_admin_shows_the_pin_but_cannot_change_it(two_versions, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    page = client.get(f"/admin/rewardtrain/rewardmodelversion/{row(1).pk}/change/").content.decode()
    assert row(1).manifest_sha256 in page
    for field in ("manifest_sha256", "manifest_size", "verification_error", "verification_failed_at"):
        assert f'name="{field}"' not in page
