"""What the head reads: the mean of the last hidden states (the default) or BERT's [CLS] pooler,
recorded in arbiter.json and honoured by every loader (Scorer, LocalReward, evaluation)."""

import json

import pytest
import torch

from arbiter_reward import LocalReward, UnsupportedEncoding, use_pooling
from rewardtrain.checkpoints import read_metadata, write_checkpoint
from rewardtrain.scoring import Scorer
from rewardtrain.training import TrainConfig, evaluate_checkpoint, train

ITEMS = [
    ("human: tell me about the cat. assistant:", "the cat is good"),
    ("human: the sky? assistant:", "rain again tomorrow " * 6),
    ("a", "b"),
]


def config(tiny_model, **overrides):
    values = dict(base_model=tiny_model, learning_rate=2e-3, batch_size=8, epochs=1, threads=1,
                  freeze_embeddings=False, freeze_layers=0, max_length=48)  # fmt: skip
    return TrainConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def mean_checkpoint(tiny_model, toy_pairs, tmp_path_factory):
    result = train(toy_pairs(32), toy_pairs(8, seed=1), config(tiny_model))
    return write_checkpoint(result, tmp_path_factory.mktemp("pool") / "v1", metadata={"version": 1})


def masked_mean_rewards(path, items):
    """The head on the mean of the token states, worked out by hand, each item unpadded."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
    # trust_remote_code: a mean-pooled checkpoint loads only with its modeling_arbiter.py (a
    # [CLS] one is plain BERT); the mean is taken here by hand, from the last hidden states.
    model = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True).eval()
    with torch.no_grad():
        return [
            model.classifier(model.base_model(**tokenizer(p, c, return_tensors="pt")).last_hidden_state.mean(1))[0, 0].item()
            for p, c in items
        ]


def test_mean_is_the_default_and_is_recorded(mean_checkpoint):
    assert TrainConfig().pooling == "mean"
    meta = read_metadata(mean_checkpoint)
    assert meta["encoding"]["pooling"] == "mean" and meta["train_config"]["pooling"] == "mean"


def test_every_loader_scores_the_mean_of_the_real_tokens(mean_checkpoint):
    expected = masked_mean_rewards(mean_checkpoint, ITEMS)
    # Batched: padding must not enter the mean (the items' lengths differ).
    assert Scorer.load(mean_checkpoint, device="cpu").score(ITEMS, batch_size=3) == pytest.approx(expected, abs=1e-5)
    assert LocalReward(mean_checkpoint, device="cpu", batch_size=3).score(ITEMS) == pytest.approx(expected, abs=1e-5)


def test_evaluation_of_a_checkpoint_uses_its_recorded_pooling(mean_checkpoint, toy_pairs):
    """Whatever the config passed says: the checkpoint was trained reading the mean."""
    pairs = toy_pairs(8, seed=2)
    cls_config = TrainConfig.from_dict({**read_metadata(mean_checkpoint)["train_config"], "pooling": "cls"})
    as_recorded = evaluate_checkpoint(mean_checkpoint, pairs)
    assert evaluate_checkpoint(mean_checkpoint, pairs, cls_config) == as_recorded
    scores = masked_mean_rewards(mean_checkpoint, [(p.prompt, c) for p in pairs for c in (p.chosen, p.rejected)])
    assert as_recorded["mean_margin"] == pytest.approx(
        sum(scores[0::2]) / len(pairs) - sum(scores[1::2]) / len(pairs), abs=1e-4
    )


def test_a_checkpoint_from_before_pooling_was_recorded_reads_its_cls_pooler(tiny_model, toy_pairs, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    result = train(toy_pairs(16), [], config(tiny_model, pooling="cls"))
    path = write_checkpoint(result, tmp_path / "v1", metadata={"version": 1})
    meta = json.loads((path / "arbiter.json").read_text())
    assert meta["encoding"].pop("pooling") == "cls"
    (path / "arbiter.json").write_text(json.dumps(meta))
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    with torch.no_grad():
        plain = [model(**tokenizer(p, c, return_tensors="pt")).logits[0, 0].item() for p, c in ITEMS]
    assert Scorer.load(path, device="cpu").score(ITEMS) == pytest.approx(plain, abs=1e-5)
    assert LocalReward(path, device="cpu").score(ITEMS) == pytest.approx(plain, abs=1e-5)
    assert masked_mean_rewards(path, ITEMS) != pytest.approx(plain, abs=1e-3)  # the poolings do differ


def test_a_pooling_this_client_does_not_implement_is_refused(mean_checkpoint, tmp_path):
    import shutil

    path = tmp_path / "v9"
    shutil.copytree(mean_checkpoint, path)
    meta = json.loads((path / "arbiter.json").read_text())
    meta["encoding"]["pooling"] = "max"
    (path / "arbiter.json").write_text(json.dumps(meta))
    with pytest.raises(UnsupportedEncoding, match="pooling 'max' is not one this arbiter_reward implements"):
        LocalReward(path, device="cpu")
    with pytest.raises(UnsupportedEncoding, match="pooling 'max'"):
        Scorer.load(path, device="cpu")


def test_mean_pooling_needs_a_head_that_reads_the_pooled_output():
    """RoBERTa's head reads the first token's state itself: there is no pooled output to replace."""
    from transformers import RobertaConfig, RobertaForSequenceClassification

    model = RobertaForSequenceClassification(
        RobertaConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, num_labels=1)
    )
    assert use_pooling(model, "cls") is model
    with pytest.raises(UnsupportedEncoding, match="RobertaForSequenceClassification is not one.*pooling 'cls'"):
        use_pooling(model, "mean")


def test_mean_pooling_is_berts_another_encoder_trains_its_own_first_token_head(tiny_model, toy_pairs, tmp_path):
    """Mean pooling is Arbiter's BERT model type: another encoder saved as its own type is read
    by plain loaders with its [CLS]/<s> head, so a run asking for "mean" (the default) trains that
    head and records pooling "cls"; loading a non-BERT model as mean-pooled is still refused."""
    import shutil

    from transformers import RobertaConfig, RobertaForSequenceClassification

    from arbiter_reward.reward import load_reward_model

    base = tmp_path / "tiny-roberta"
    RobertaForSequenceClassification(
        RobertaConfig(vocab_size=300, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, num_labels=1)
    ).save_pretrained(base)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(f"{tiny_model}/{name}", base / name)
    trained = train(toy_pairs(8), [], config(str(base), pooling="mean"))
    assert trained.config.pooling == "cls" and trained.model.config.model_type == "roberta"
    with pytest.raises(UnsupportedEncoding, match="pooling 'mean' is built for BERT models.*\\('roberta' is not one\\).*pooling 'cls'"):
        load_reward_model(base, "mean")
