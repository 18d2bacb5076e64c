"""The classifier reward model (classify mode), Django-free: the same loop as the pairwise one,
cross-entropy over K labels, reward = the positive label's logit, softmax probabilities."""

import json
import math
import random

import pytest
import torch

import rewardtrain.training as training
from arbiter_reward import LocalReward
from rewardtrain.checkpoints import read_metadata, write_checkpoint
from rewardtrain.data import LabelledText, split_labelled
from rewardtrain.scoring import Scorer
from rewardtrain.training import TrainConfig, classification_f1, train, train_classifier

LABELS = ["not hate", "hate"]


def toy_items(n, seed=0):
    """Separable: a completion saying "kind" is "not hate" (0), one saying "rude" is "hate" (1)."""
    rng = random.Random(seed)
    nouns = "cat dog bird fish tree house car road city river".split()
    items = []
    for i in range(n):
        label = i % 2
        subject = " ".join(rng.choice(nouns) for _ in range(rng.randint(1, 5)))
        word = "rude" if label else "kind"
        items.append(LabelledText(f"tell me about the {subject} {i}", f"the {subject} is {word}", label, id=i + 1))
    return items


def config_for(model):
    return TrainConfig(base_model=model, learning_rate=1e-3, batch_size=8, epochs=15, threads=1,
                       freeze_embeddings=False, freeze_layers=0, max_length=48, eval_every=50)


@pytest.fixture(scope="module")
def classifier(tiny_model):
    return train_classifier(toy_items(80), toy_items(20, seed=1), config_for(tiny_model), labels=LABELS, positive="not hate")


def test_classifier_learns_and_reports_accuracy_and_per_label_f1(classifier):
    m = classifier.metrics
    assert m["heldout_accuracy"] >= 0.9
    assert set(m["heldout_per_label_f1"]) == set(LABELS) and min(m["heldout_per_label_f1"].values()) >= 0.85
    assert m["heldout_macro_f1"] == pytest.approx(sum(m["heldout_per_label_f1"].values()) / 2)
    assert m["n_train_items"] == 80 and m["n_heldout_items"] == 20 and "items_per_s" in m
    assert classifier.model.config.id2label == {0: "not hate", 1: "hate"}
    assert classifier.head == {"kind": "classifier", "labels": LABELS, "positive": "not hate"}
    # every history entry is a number the run page can chart
    assert all(isinstance(v, (int, float)) for entry in classifier.history for v in entry.values())


def test_reward_is_the_positive_logit_and_probabilities_sum_to_one(classifier, tmp_path):
    path = write_checkpoint(classifier, tmp_path / "v1", metadata={"version": 1})
    assert read_metadata(path)["head"] == {"kind": "classifier", "labels": LABELS, "positive": "not hate"}
    scorer = Scorer.load(path, device="cpu")
    items = [("tell me about the cat", "the cat is kind"), ("tell me about the cat", "the cat is rude")]
    rewards, probabilities = scorer.score_with_probabilities(items)
    logits = scorer.logits(items)
    assert rewards == pytest.approx([row[0] for row in logits])  # "not hate" is output 0
    assert [set(p) for p in probabilities] == [set(LABELS)] * 2
    assert all(math.isclose(sum(p.values()), 1.0, rel_tol=1e-6) for p in probabilities)
    assert probabilities[0]["not hate"] > 0.5 > probabilities[1]["not hate"] and rewards[0] > rewards[1]
    assert LocalReward(path)([p for p, _ in items], [c for _, c in items]) == pytest.approx(rewards, abs=1e-5)


def test_positive_label_second_picks_the_second_logit(tiny_model):
    result = train_classifier(toy_items(80), [], config_for(tiny_model), labels=LABELS, positive="hate")
    scorer = Scorer(result.model, result.tokenizer, {"head": result.head, "train_config": result.config.to_dict()})
    items = [("q", "the cat is rude"), ("q", "the dog is kind")]
    assert scorer.score(items) == pytest.approx([row[1] for row in scorer.logits(items)])


def test_pairwise_and_classifier_losses_share_one_loop(tiny_model, toy_pairs, monkeypatch):
    """Both kinds run through training._train, each with its own task's loss."""
    seen = []
    real = training._train

    def spy(make_tasks, config, **kwargs):
        result = real(make_tasks, config, **kwargs)
        seen.append(kwargs["head"]["kind"])
        return result

    monkeypatch.setattr(training, "_train", spy)
    config = TrainConfig(base_model=tiny_model, batch_size=4, epochs=1, threads=1, max_length=32)
    train(toy_pairs(8), [], config)
    train_classifier(toy_items(8), [], config, labels=LABELS, positive="hate")
    assert seen == ["reward", "classifier"]
    # and the two tasks' losses are what they claim
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.5]])
    assert torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1])).item() == pytest.approx(
        -(torch.log_softmax(logits, 1)[0, 0] + torch.log_softmax(logits, 1)[1, 1]).item() / 2
    )


def test_f1_by_hand():
    # targets 0 0 1 1 2, predicted 0 1 1 1 0: label 0 tp1 fp1 fn1 -> 0.5; label 1 tp2 fp1 fn0 -> 0.8; label 2 -> 0
    assert classification_f1([0, 1, 1, 1, 0], [0, 0, 1, 1, 2], 3) == pytest.approx([0.5, 0.8, 0.0])


def test_heldout_split_is_by_prompt_and_stratified_by_label():
    items = [LabelledText(f"prompt {i}", f"reply {k}", 1 if i < 10 else 0) for i in range(100) for k in range(2)]
    train_items, heldout = split_labelled(items, 0.2)
    held_prompts = {i.prompt for i in heldout}
    assert not held_prompts & {i.prompt for i in train_items}  # by prompt
    # 20% of each label's prompts: 2 of the 10 rare ones, 18 of the 90 others
    assert sum(1 for p in held_prompts if int(p.split()[1]) < 10) == 2 and len(held_prompts) == 20
    assert split_labelled(list(reversed(items)), 0.2)[1] == list(reversed(heldout))  # order does not matter
    # a label with only two prompts is still measured
    few = [LabelledText(f"q{i}", "r", 1 if i < 2 else 0) for i in range(30)]
    assert any(i.label == 1 for i in split_labelled(few, 0.1)[1])


def test_card_names_the_positive_label_and_its_snippets_score_as_arbiter(classifier, tmp_path):
    from tests.rewardtrain.test_model_card import run_snippets

    path = write_checkpoint(classifier, tmp_path / "v2", metadata={"version": 2})
    text = (path / "README.md").read_text()
    assert "positive label, `not hate` (output 0)" in text and "0: `not hate`, 1: `hate`" in text
    namespace, printed = run_snippets(path)
    items = [("tell me about the dog", "the dog is kind"), ("q " * 200, "the dog is rude " * 100)]
    expected = Scorer.load(path, device="cpu").score(items)
    assert [namespace["reward"](p, c) for p, c in items] == pytest.approx(expected, abs=1e-5)
    assert [namespace["pipeline_reward"](p, c) for p, c in items] == pytest.approx(expected, abs=1e-5)
    assert json.loads((path / "config.json").read_text())["id2label"] == {"0": "not hate", "1": "hate"}
