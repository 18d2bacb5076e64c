"""ARBITER_CHECKPOINT_MODE: the permission bits of published checkpoint files (folders get x
where r is set), so that a scoring or serving process under another user can read them."""

import os
import stat
from pathlib import Path

import pytest

from annotator.settings import env_mode
from rewardtrain.checkpoint_store import version_folder
from tests.rewardtrain.comparisons import make_comparisons, train_small


@pytest.fixture
def trainable(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    return project


@pytest.fixture
def strict_umask():
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(Path(path).stat().st_mode)


@pytest.mark.local_storage  # the modes of the local store's files
def test_by_default_a_published_version_is_readable_by_group_and_others(trainable, settings, strict_umask, tmp_path):
    settings.ARBITER_CHECKPOINT_DIR = tmp_path / "checkpoints"
    assert settings.ARBITER_CHECKPOINT_MODE == 0o644
    path = version_folder(train_small(trainable).version)
    assert (mode(path), mode(path / "model.safetensors"), mode(path / "arbiter.json")) == (0o755, 0o644, 0o644)
    assert mode(path.parent) == mode(tmp_path / "checkpoints") == 0o755  # the folders publishing created


def test_the_setting_narrows_who_may_read_a_published_version(trainable, settings, strict_umask):
    settings.ARBITER_CHECKPOINT_MODE = 0o640
    path = version_folder(train_small(trainable).version)
    assert (mode(path), mode(path / "model.safetensors"), mode(path / "modeling_arbiter.py")) == (0o750, 0o640, 0o640)


@pytest.mark.parametrize("value, expected", [(None, 0o644), ("0640", 0o640), ("600", 0o600), ("0o644", 0o644)])
def test_the_setting_is_an_octal_mode(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("ARBITER_CHECKPOINT_MODE", raising=False)
    else:
        monkeypatch.setenv("ARBITER_CHECKPOINT_MODE", value)
    assert env_mode("ARBITER_CHECKPOINT_MODE", "0644") == expected


@pytest.mark.parametrize("value", ["644x", "0444", "1644", "0200"])
def test_a_mode_that_is_not_octal_or_locks_out_the_owner_stops_start_up(monkeypatch, value):
    monkeypatch.setenv("ARBITER_CHECKPOINT_MODE", value)
    with pytest.raises(ValueError, match="ARBITER_CHECKPOINT_MODE"):
        env_mode("ARBITER_CHECKPOINT_MODE", "0644")
