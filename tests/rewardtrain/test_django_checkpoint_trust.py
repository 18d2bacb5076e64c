"""Checkpoints are verified against their manifest when promoted and when loaded for scoring."""

import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from rewardtrain import checkpoints, scoring
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.models import RewardModelVersion

ITEM = {"prompt": "human: tell me about the cat. assistant:", "completion": "the cat is good"}


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def path_of(project, number):
    return version_folder(RewardModelVersion.objects.get(project=project, version=number))


def flip_a_byte(folder):
    weights = os.path.join(folder, "model.safetensors")
    with open(weights, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_promoting_a_corrupted_version_is_409_with_the_reason_and_changes_nothing(two_versions, admin_user):
    flip_a_byte(path_of(two_versions, 1))
    response = client_for(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/1/promote/")
    assert response.status_code == 409
    assert response.json()["detail"] == "v1 failed verification: model.safetensors does not match its sha256 in the manifest"
    assert RewardModelVersion.objects.get(is_current=True).version == 2


def test_rolling_back_onto_a_version_with_a_missing_file_is_409(two_versions, admin_user):
    os.remove(os.path.join(path_of(two_versions, 1), "config.json"))
    response = client_for(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/rollback/")
    assert response.status_code == 409 and response.json()["detail"] == "v1 failed verification: missing: config.json"
    assert RewardModelVersion.objects.get(is_current=True).version == 2


def test_promoting_a_version_whose_folder_is_a_symlink_out_is_refused_on_the_page(two_versions, admin_user, client, tmp_path):
    v1 = path_of(two_versions, 1)
    shutil.move(v1, tmp_path / "moved-out")
    os.symlink(tmp_path / "moved-out", v1)
    client.force_login(admin_user)
    page = client.post(f"/projects/{two_versions.slug}/models/1/promote/", follow=True)
    assert "v1 failed verification: the checkpoint folder is a symbolic link" in page.content.decode()
    assert RewardModelVersion.objects.get(is_current=True).version == 2


def test_the_admin_promote_action_refuses_a_truncated_version(two_versions, client):
    os.truncate(os.path.join(path_of(two_versions, 1), "model.safetensors"), 10)
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(superuser)
    page = client.post(
        "/admin/rewardtrain/rewardmodelversion/",
        {"action": "promote", "index": 0, "_selected_action": [RewardModelVersion.objects.get(version=1).pk]},
        follow=True,
    )
    assert "V1 failed verification: model.safetensors is 10 bytes" in page.content.decode()  # the admin capitalises
    assert RewardModelVersion.objects.get(is_current=True).version == 2


def test_scoring_falls_back_to_the_newest_earlier_version_that_verifies_and_says_so(two_versions, labeler):
    flip_a_byte(path_of(two_versions, 2))
    response = client_for(labeler).post(f"/api/v1/projects/{two_versions.slug}/score/", {"items": [ITEM]}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 1
    ranked = client_for(labeler).post(
        f"/api/v1/projects/{two_versions.slug}/rank/", {"prompt": ITEM["prompt"], "completions": ["a", "b"]}, format="json"
    )
    assert ranked.status_code == 200 and ranked.json()["version"] == 1


def test_a_rejected_version_is_not_a_fallback(two_versions, labeler):
    RewardModelVersion.objects.filter(version=1).update(status=RewardModelVersion.Status.REJECTED)
    flip_a_byte(path_of(two_versions, 2))
    response = client_for(labeler).post(f"/api/v1/projects/{two_versions.slug}/score/", {"items": [ITEM]}, format="json")
    assert response.status_code == 503
    assert response.json()["detail"] == (
        "no reward model version can score: v2 failed verification: "
        "model.safetensors does not match its sha256 in the manifest"
    )


@pytest.mark.local_storage  # swaps the local folder for a link
def test_when_no_version_verifies_scoring_is_503_naming_versions_not_paths(two_versions, labeler, tmp_path):
    (tmp_path / "outside").mkdir()
    shutil.rmtree(path_of(two_versions, 1))
    os.symlink(tmp_path / "outside", path_of(two_versions, 1))
    flip_a_byte(path_of(two_versions, 2))
    response = client_for(labeler).post(f"/api/v1/projects/{two_versions.slug}/score/", {"items": [ITEM]}, format="json")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert detail == (
        "no reward model version can score: v2 failed verification: model.safetensors does not match its sha256 "
        "in the manifest; v1 failed verification: the checkpoint folder is a symbolic link"
    )
    assert str(tmp_path) not in detail


def test_a_checkpoint_that_verifies_but_does_not_load_is_reported_without_its_path(two_versions, labeler, monkeypatch):
    def broken(path, device):
        raise OSError(f"Can't load tokenizer for '{path}'")

    monkeypatch.setattr(scoring.Scorer, "load", broken)
    response = client_for(labeler).post(f"/api/v1/projects/{two_versions.slug}/score/", {"items": [ITEM]}, format="json")
    assert response.status_code == 503
    assert response.json()["detail"] == "no reward model version can score: v2 could not be loaded; v1 could not be loaded"


def test_a_version_is_hashed_once_per_process_not_on_every_request(two_versions, labeler, monkeypatch):
    hashed = []
    real = checkpoints.file_sha256
    monkeypatch.setattr(checkpoints, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    url = f"/api/v1/projects/{two_versions.slug}/score/"
    for _ in range(3):
        assert client_for(labeler).post(url, {"items": [ITEM]}, format="json").json()["version"] == 2
    assert hashed.count("model.safetensors") == 1


def test_a_refused_version_is_not_hashed_again_on_every_request(two_versions, labeler, monkeypatch):
    flip_a_byte(path_of(two_versions, 2))
    hashed = []
    real = checkpoints.file_sha256
    monkeypatch.setattr(checkpoints, "file_sha256", lambda path: hashed.append(path.parent.name) or real(path))
    url = f"/api/v1/projects/{two_versions.slug}/score/"
    assert client_for(labeler).post(url, {"items": [ITEM]}, format="json").json()["version"] == 1
    after_first = list(hashed)
    assert "v2" in after_first and "v1" in after_first
    for _ in range(2):
        assert client_for(labeler).post(url, {"items": [ITEM]}, format="json").json()["version"] == 1
    assert hashed == after_first
