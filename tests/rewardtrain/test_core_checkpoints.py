"""Publishing checkpoints atomically and loading them back with the Scorer or plain transformers."""

import dataclasses
import json
import os
import stat

import pytest
import torch

from rewardtrain.checkpoints import cleanup_partial, read_metadata, verify_checkpoint, write_checkpoint
from rewardtrain.scoring import Scorer
from rewardtrain.training import TrainConfig, default_base_model, evaluate_checkpoint, train


@pytest.fixture(scope="module")
def trained(tiny_model, toy_pairs):
    config = TrainConfig(base_model=tiny_model, learning_rate=2e-3, batch_size=8, epochs=1, threads=1,
                         freeze_embeddings=False, freeze_layers=0, max_length=48)
    return train(toy_pairs(48), toy_pairs(16, seed=1), config)


def plain_scores(path, items):
    """What a user with only transformers gets, following the model card (trust_remote_code: the
    folder's modeling_arbiter.py), checked against the head on the mean of the last hidden
    states over the real tokens (the default pooling) worked out by hand."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    assert read_metadata(path)["encoding"]["pooling"] == "mean"
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
    model = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True).eval()
    scores = []
    with torch.no_grad():
        for prompt, completion in items:
            inputs = tokenizer(prompt, completion, truncation="only_first", return_tensors="pt")
            hidden = model.base_model(**inputs).last_hidden_state
            by_hand = model.classifier(hidden.mean(1))  # one unpadded item: every token is real
            logits = model(**inputs).logits
            assert logits.shape == (1, 1) and logits[0, 0].item() == pytest.approx(by_hand[0, 0].item(), abs=1e-6)
            scores.append(logits[0, 0].item())
    return scores


def test_saved_checkpoint_scores_the_same_with_scorer_and_plain_transformers(trained, tmp_path):
    path = write_checkpoint(trained, tmp_path / "v1", metadata={"version": "v1", "data": "toy"})
    assert {"model.safetensors", "config.json", "arbiter.json", "README.md"} <= {p.name for p in path.iterdir()}
    long_prompt = " ".join(["what is the big red car"] * 20)  # far beyond max_length 48: prompt is cut
    items = [("tell me about the cat", "the cat is good"), (long_prompt, "the car is bad"), ("a", "b c d")]
    scorer = Scorer.load(path, device="cpu")
    assert scorer.version == "v1" and scorer.max_length == 48
    assert scorer.score(items) == pytest.approx(plain_scores(path, items), abs=1e-5)
    # the model as trained gives the same scores
    in_memory = Scorer(trained.model, trained.tokenizer, read_metadata(path))
    assert in_memory.score(items) == pytest.approx(scorer.score(items), abs=1e-5)


def test_scorer_returns_scores_in_input_order(trained, tmp_path):
    scorer = Scorer(trained.model, trained.tokenizer, {"train_config": {"max_length": 48}})
    items = [("tell me about the cat", "the cat " + "is good " * n) for n in (5, 1, 9, 2, 0, 7)]
    one_by_one = [scorer.score([item])[0] for item in items]
    assert scorer.score(items, batch_size=2) == pytest.approx(one_by_one, abs=1e-5)


def test_normalised_scores_use_the_heldout_reward_stats(trained):
    scorer = Scorer(trained.model, trained.tokenizer, {"metrics": {"reward_mean": 1.0, "reward_std": 2.0}})
    raw, normalised = scorer.score([("q", "a")])[0], scorer.score([("q", "a")], normalize=True)[0]
    assert normalised == pytest.approx((raw - 1.0) / 2.0)


def test_metadata_holds_metrics_config_and_history(trained, tmp_path):
    path = write_checkpoint(trained, tmp_path / "v2", metadata={"version": "v2", "run_id": 7})
    meta = read_metadata(path)
    assert meta["run_id"] == 7 and meta["version"] == "v2"
    # The base model by its folder's name: arbiter.json travels, the server's path must not.
    assert TrainConfig.from_dict(meta["train_config"]) == dataclasses.replace(trained.config, base_model="tiny-bert")
    assert meta["metrics"]["heldout_accuracy"] == trained.metrics["heldout_accuracy"]
    assert meta["history"] == json.loads(json.dumps(trained.history))
    saved = json.loads((path / "config.json").read_text())
    assert saved.get("problem_type") is None and len(saved["id2label"]) == 1  # one raw logit


def test_a_failed_publish_leaves_nothing_visible(trained, tmp_path):
    with pytest.raises(TypeError):
        write_checkpoint(trained, tmp_path / "v3", metadata={"not json": object()})
    assert list(tmp_path.iterdir()) == []


def test_publishing_over_an_existing_checkpoint_is_refused(trained, tmp_path):
    (tmp_path / "v4").mkdir()
    with pytest.raises(FileExistsError):
        write_checkpoint(trained, tmp_path / "v4", metadata={})
    assert [p.name for p in tmp_path.iterdir()] == ["v4"]


def test_cleanup_partial_removes_what_a_killed_writer_left(tmp_path):
    (tmp_path / ".v5.tmp-abc123").mkdir()
    (tmp_path / ".v5.tmp-abc123" / "model.safetensors").write_bytes(b"half")
    (tmp_path / "v1").mkdir()
    assert [p.name for p in cleanup_partial(tmp_path)] == [".v5.tmp-abc123"]
    assert [p.name for p in tmp_path.iterdir()] == ["v1"]


def test_evaluate_checkpoint_scores_a_published_version_on_new_pairs(trained, tmp_path, toy_pairs):
    path = write_checkpoint(trained, tmp_path / "v6", metadata={})
    metrics = evaluate_checkpoint(path, toy_pairs(16, seed=1))
    assert metrics["accuracy"] == pytest.approx(trained.metrics["heldout_accuracy"])
    assert metrics["n_pairs"] == 16


def test_warm_start_from_a_checkpoint(trained, tmp_path, toy_pairs):
    path = write_checkpoint(trained, tmp_path / "v7", metadata={})
    config = TrainConfig.from_dict({**trained.config.to_dict(), "learning_rate": 0.0})
    again = train(toy_pairs(8), toy_pairs(16, seed=1), config, init_from=str(path))
    assert again.metrics["heldout_accuracy"] == pytest.approx(trained.metrics["heldout_accuracy"])


def test_the_packaged_minilm_trains_publishes_and_scores(tmp_path, toy_pairs):
    """The real base model, a few steps on 16 pairs: the production path end to end."""
    config = TrainConfig(max_length=64, batch_size=4, learning_rate=1e-4, threads=2)
    assert config.base_model == "" and (default_base_model().endswith("model"))
    result = train(toy_pairs(16), toy_pairs(4, seed=1), config)
    assert result.metrics["steps"] == 4
    path = write_checkpoint(result, tmp_path / "minilm", metadata={"version": "m1"})
    scorer = Scorer.load(path, device="cpu")
    items = [("human: tell me about the cat. assistant:", "the cat is good"), ("hi", "the cat is bad")]
    scores = scorer.score(items)
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    assert scores == pytest.approx(plain_scores(path, items), abs=1e-4)


def modes(folder):
    """{relative path: permission bits} of `folder`, its files and folders."""
    return {p.relative_to(folder.parent).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")]}


@pytest.fixture
def strict_umask():
    """The umask of a locked-down service account: without Arbiter setting modes, 0600 and 0700."""
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_published_files_are_readable_by_group_and_others(trained, tmp_path, strict_umask):
    """So that a scoring or serving process running as another user can load the checkpoint."""
    path = write_checkpoint(trained, tmp_path / "project" / "v1", metadata={"version": 1})
    found = modes(path)
    assert {"v1/model.safetensors", "v1/modeling_arbiter.py", "v1/manifest.json"} <= set(found)
    assert {name: mode for name, mode in found.items() if (tmp_path / "project" / name).is_file()} == {
        name: 0o644 for name in found if (tmp_path / "project" / name).is_file()
    }
    assert found["v1"] == 0o755 and stat.S_IMODE((tmp_path / "project").stat().st_mode) == 0o755
    verify_checkpoint(path, root=tmp_path / "project")


def test_a_narrower_checkpoint_mode_gives_folders_x_where_files_have_r(trained, tmp_path, strict_umask):
    path = write_checkpoint(trained, tmp_path / "project" / "v1", metadata={"version": 1}, file_mode=0o640)
    found = modes(path)
    assert found["v1"] == 0o750 and found["v1/model.safetensors"] == 0o640 and found["v1/config.json"] == 0o640
    assert set(found.values()) == {0o750, 0o640}


@pytest.mark.parametrize("file_mode", [0o444, 0o200, 0o4644, "0644", -1])
def test_a_checkpoint_mode_the_owner_cannot_read_and_write_is_refused(trained, tmp_path, file_mode):
    with pytest.raises(ValueError, match="checkpoint file mode"):
        write_checkpoint(trained, tmp_path / "v1", metadata={}, file_mode=file_mode)
    assert not (tmp_path / "v1").exists()
