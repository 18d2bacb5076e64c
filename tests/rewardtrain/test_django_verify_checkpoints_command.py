"""verify_checkpoints: one line per version, exit 1 on a failure, manifests for old folders on request."""

import os

import pytest
from django.core.management import CommandError, call_command

from rewardtrain.checkpoint_store import version_folder
from rewardtrain.checkpoints import MANIFEST_FILE
from rewardtrain.models import RewardModelVersion
from tests.rewardtrain.comparisons import make_comparisons, train_small


@pytest.fixture
def two_versions(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    for _ in range(2):
        assert train_small(project, from_scratch=True).status == "succeeded"
    return project


def path_of(number):
    return version_folder(RewardModelVersion.objects.get(version=number))


def test_every_version_is_reported_and_a_failure_exits_non_zero(two_versions, capsys):
    call_command("verify_checkpoints", two_versions.slug)
    assert capsys.readouterr().out.splitlines() == [f"{two_versions.slug} v1: ok", f"{two_versions.slug} v2: ok"]
    os.remove(os.path.join(path_of(2), "config.json"))
    with pytest.raises(CommandError, match="1 checkpoint"):
        call_command("verify_checkpoints")
    assert f"{two_versions.slug} v2: FAILED: missing: config.json" in capsys.readouterr().out


@pytest.mark.local_storage  # manifests are written into local folders only
def test_a_folder_published_before_manifests_gets_one_only_when_asked(two_versions, capsys):
    os.remove(os.path.join(path_of(1), MANIFEST_FILE))
    with pytest.raises(CommandError):
        call_command("verify_checkpoints", two_versions.slug)
    assert "v1: FAILED: manifest.json is missing" in capsys.readouterr().out
    call_command("verify_checkpoints", two_versions.slug, "--write-missing-manifests")
    assert f"{two_versions.slug} v1: ok (manifest written)" in capsys.readouterr().out
    call_command("verify_checkpoints", two_versions.slug)


@pytest.mark.local_storage  # manifests are written into local folders only
def test_writing_manifests_never_blesses_a_folder_that_fails_otherwise(two_versions, capsys):
    os.remove(os.path.join(path_of(1), MANIFEST_FILE))
    os.symlink("/etc/hostname", os.path.join(path_of(1), "added_tokens.json"))
    with pytest.raises(CommandError):
        call_command("verify_checkpoints", two_versions.slug, "--write-missing-manifests")
    assert "v1: FAILED: added_tokens.json is a symbolic link" in capsys.readouterr().out
    assert not os.path.exists(os.path.join(path_of(1), MANIFEST_FILE))


def test_an_unknown_project_is_an_error(db):
    with pytest.raises(CommandError, match="No project nope"):
        call_command("verify_checkpoints", "nope")
