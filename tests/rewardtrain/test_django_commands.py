"""The train_reward_model and score commands."""

import json

import pytest
from django.core.management import CommandError, call_command

from rewardtrain import checkpoint_store, runs
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.models import RewardModelVersion, TrainingRun
from rewardtrain.scoring import Scorer
from tests.rewardtrain.comparisons import fake_gate_scores, make_comparisons


@pytest.fixture
def trainable(project, tiny_model, monkeypatch):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    # The command trains with the production defaults, under which the tiny random model learns
    # nothing in an epoch; the gate sees v1 rank every held-out pair right, so that it goes live
    # and what is tested is the command's report.
    fake_gate_scores(monkeypatch, new_right=lambda prompt: True)
    return project


def train_sync(project, *extra, capsys):
    call_command("train_reward_model", project.slug, "--sync", "--max-length", "32", "--batch-size", "8", *extra)
    return capsys.readouterr()


def test_sync_training_prints_the_version_and_a_progress_line(trainable, capsys):
    out = train_sync(trainable, "--epochs", "2", capsys=capsys)
    assert "published v1, now current" in out.out and '"heldout_accuracy"' in out.out
    assert f"as {trainable.slug}/v1 in {checkpoint_store.store()!r}" in out.out  # its name, and which store
    assert "\rstep 1/" in out.err and "pairs/s" in out.err
    run = TrainingRun.objects.get()
    assert (run.trigger, run.status, run.options["epochs"]) == ("cli", "succeeded", 2)


def test_pooling_is_an_option_of_the_command(trainable, capsys):
    from rewardtrain.checkpoints import read_metadata

    train_sync(trainable, "--pooling", "cls", capsys=capsys)
    run = TrainingRun.objects.get()
    assert run.options["pooling"] == "cls" and read_metadata(version_folder(run.version))["encoding"]["pooling"] == "cls"
    with pytest.raises(CommandError, match="invalid choice: 'max'"):
        call_command("train_reward_model", trainable.slug, "--pooling", "max")


def test_a_rejected_version_is_reported_and_exits_zero(trainable, capsys, monkeypatch, settings):
    # 5 held-out pairs, all lost: exact McNemar p = 2/32, worse at 90% confidence
    settings.ARBITER_GATE_MIN_PAIRS, settings.ARBITER_GATE_CONFIDENCE = 1, 0.90
    train_sync(trainable, capsys=capsys)
    fake_gate_scores(monkeypatch, new_right=lambda prompt: False, current_right=lambda prompt: True)
    out = train_sync(trainable, "--from-scratch", capsys=capsys)
    assert "published v2 but it was NOT made current" in out.out
    assert RewardModelVersion.objects.get(is_current=True).version == 1


def test_a_failed_run_exits_non_zero(project, capsys):
    with pytest.raises(CommandError, match="nothing to train on"):
        train_sync(project, capsys=capsys)


def test_without_sync_the_run_is_queued(project, capsys, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(runs, "_enqueue", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("train_reward_model", project.slug, "--epochs", "3")
    run = TrainingRun.objects.get()
    assert f"Queued run {run.id}" in capsys.readouterr().out
    assert sent == [run] and run.status == "queued" and run.options == {"epochs": 3}
    with pytest.raises(CommandError, match="already queued"):
        call_command("train_reward_model", project.slug, "--sync")


def test_score_writes_reward_and_version_on_every_line(trainable, capsys, tmp_path):
    train_sync(trainable, capsys=capsys)
    lines = [
        {"prompt": "human: tell me about the cat. assistant:", "completion": "the cat is good", "id": "a"},
        {"prompt": "human: tell me about the cat. assistant:", "completion": "the cat is bad", "id": "b"},
    ]
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    call_command("score", trainable.slug, str(source), str(target))
    scored = [json.loads(line) for line in target.read_text().splitlines()]
    reference = Scorer.load(version_folder(RewardModelVersion.objects.get()), device="cpu")
    assert [row["id"] for row in scored] == ["a", "b"] and {row["version"] for row in scored} == {1}
    for row in scored:
        assert row["reward"] == pytest.approx(reference.score([(row["prompt"], row["completion"])])[0], abs=1e-5)


def test_score_refuses_a_bad_line(trainable, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"prompt": "p"}\n')
    with pytest.raises(CommandError, match="in.jsonl:1"):
        call_command("score", trainable.slug, str(source), str(tmp_path / "out.jsonl"))
