"""A retrain trusts the current version's checkpoint only once it verifies against its manifest:
a current version that fails is neither warm-started from nor evaluated by the gate, and the
gate's reason names versions, never paths."""

import json
import os

import pytest

from rewardtrain import promotion_gate, selectors, training
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.models import RewardModelVersion
from rewardtrain.scoring import Scorer
from tests.rewardtrain.comparisons import make_comparisons, train_small


@pytest.fixture
def trained(project, tiny_model, settings):
    """A project whose v1 is published and current; its ~10 held-out pairs are enough to compare on."""
    settings.ARBITER_GATE_MIN_PAIRS = 1
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    run = train_small(project)
    assert run.status == "succeeded", run.error
    return project


@pytest.fixture
def train_calls(monkeypatch):
    """The init_from of every training in the test; the gate's scoring of the current version records its path."""
    calls = {"init_from": [], "evaluated": []}
    real_train = training.train

    def train(*args, **kwargs):
        calls["init_from"].append(kwargs["init_from"])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(training, "train", train)
    monkeypatch.setattr(
        promotion_gate, "_score_current", lambda current, items, config: calls["evaluated"].append(current.path) or [0.0] * len(items)
    )
    return calls


def v1_path(project):
    return version_folder(RewardModelVersion.objects.get(project=project, version=1))


def test_a_current_version_with_a_missing_file_is_not_warm_started_from_and_the_gate_says_why(trained, train_calls):
    os.remove(os.path.join(v1_path(trained), "config.json"))
    run = train_small(trained)
    assert run.status == "succeeded", run.error
    assert train_calls["init_from"] == [None] and train_calls["evaluated"] == []
    skipped = "current v1 failed verification: missing: config.json"
    assert (run.version.metrics["warm_start"], run.version.metrics["warm_start_skipped"]) == (False, skipped)
    assert run.version.parent.version == 1
    gate = run.version.metrics["gate"]
    assert gate["passed"] and gate["reason"] == (
        "current v1 could not be evaluated: it failed verification: missing: config.json"
    )
    # The checkpoint's own record says the same.
    saved = json.loads((version_folder(run.version) / "arbiter.json").read_text())
    assert (saved["warm_start"], saved["warm_start_skipped"]) == (False, skipped)
    assert selectors.current_version(project=trained) == run.version


def test_a_current_version_with_a_flipped_byte_is_replaced_by_a_run_from_the_base_model(trained, train_calls):
    weights = os.path.join(v1_path(trained), "model.safetensors")
    with open(weights, "r+b") as f:
        f.seek(-1, os.SEEK_END)  # in the tensors, past the header: it would still load
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0xFF]))
    run = train_small(trained)
    assert run.status == "succeeded" and train_calls["init_from"] == [None] and train_calls["evaluated"] == []
    assert run.version.metrics["warm_start_skipped"] == (
        "current v1 failed verification: model.safetensors does not match its sha256 in the manifest"
    )


def test_a_current_version_that_verifies_is_still_warm_started_from_and_evaluated(trained, train_calls):
    run = train_small(trained)
    # The gate is handed the version (its name in the store), the trainer the folder it loads.
    assert train_calls["init_from"] == [str(v1_path(trained))] and train_calls["evaluated"] == [f"{trained.slug}/v1"]
    assert run.version.metrics["warm_start"] is True and "warm_start_skipped" not in run.version.metrics


def test_the_gate_reason_for_a_current_version_that_fails_to_load_names_the_version_not_its_path(
    trained, monkeypatch, caplog
):
    path = str(v1_path(trained))

    def load(checkpoint, *args, **kwargs):
        raise OSError(f"Unable to load weights from {checkpoint}/model.safetensors")

    monkeypatch.setattr(Scorer, "load", load)
    run = train_small(trained)
    assert run.version.metrics["gate"]["reason"] == "current v1 could not be evaluated"
    assert path not in json.dumps(run.version.metrics)
    assert any(path in record.getMessage() for record in caplog.records)  # the detail is logged
