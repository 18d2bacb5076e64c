"""The training loop on a tiny random BERT: loss, grouping, learning, freezing, determinism."""

import math

import pytest
import torch

from rewardtrain import training
from rewardtrain.data import Pair
from rewardtrain.training import TrainConfig, get_lr, pair_loss, train


def tiny_config(tiny_model, **overrides):
    values = dict(base_model=tiny_model, learning_rate=2e-3, batch_size=8, epochs=2, threads=1,
                  freeze_embeddings=False, freeze_layers=0, max_length=64)
    values.update(overrides)
    return TrainConfig(**values)


def test_pair_loss_is_minus_logsigmoid_of_the_reward_difference():
    loss = pair_loss(torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0]), torch.zeros(2))
    expected = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(1.0))) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_a_margin_asks_the_chosen_reward_to_win_by_that_much():
    with_margin = pair_loss(torch.tensor([2.0]), torch.tensor([0.0]), torch.tensor([1.5]))
    assert with_margin.item() == pytest.approx(math.log1p(math.exp(-0.5)), rel=1e-6)


def test_label_smoothing_aims_at_one_minus_epsilon_not_at_certainty():
    d = torch.tensor([2.0, -1.0])
    smoothed = pair_loss(d, torch.zeros(2), torch.zeros(2), smoothing=0.1)
    expected = -(0.9 * torch.nn.functional.logsigmoid(d) + 0.1 * torch.nn.functional.logsigmoid(-d)).mean()
    assert smoothed.item() == pytest.approx(expected.item(), rel=1e-6)
    # Its gradient vanishes where sigmoid(d) = 0.9: a pair ranked that surely stops pulling.
    at_target = torch.tensor([math.log(9.0)], requires_grad=True)
    pair_loss(at_target, torch.zeros(1), torch.zeros(1), smoothing=0.1).backward()
    assert at_target.grad.item() == pytest.approx(0.0, abs=1e-6)


def test_label_smoothing_enters_the_training_loss(tiny_model, toy_pairs):
    pairs = [Pair(p.prompt, p.chosen, p.rejected, margin=2.0) for p in toy_pairs(8)]
    first_loss = {}
    for smoothing in (0.0, 0.2):
        config = tiny_config(tiny_model, epochs=1, label_smoothing=smoothing, learning_rate=0.0)
        train(pairs, [], config, progress=lambda r, s=smoothing: "loss" in r and first_loss.setdefault(s, r["loss"]))
    # near-equal rewards, margin 2: -(0.8 log sigmoid(-2) + 0.2 log sigmoid(2))
    assert first_loss[0.2] == pytest.approx(0.8 * math.log1p(math.exp(2.0)) + 0.2 * math.log1p(math.exp(-2.0)), abs=0.05)
    assert first_loss[0.0] == pytest.approx(math.log1p(math.exp(2.0)), abs=0.05)


def test_margins_enter_the_training_loss_scaled_by_margin_scale(tiny_model, toy_pairs):
    pairs = [Pair(p.prompt, p.chosen, p.rejected, margin=2.0) for p in toy_pairs(8)]
    first_loss = {}
    for scale in (0.0, 1.0):
        config = tiny_config(tiny_model, epochs=1, margin_scale=scale, learning_rate=0.0)
        train(pairs, [], config, progress=lambda r, s=scale: "loss" in r and first_loss.setdefault(s, r["loss"]))
    # an untrained model gives near-equal rewards: loss ~ log(2) without margin, ~ log(1 + e^2) with
    assert first_loss[0.0] == pytest.approx(math.log(2), abs=0.05)
    assert first_loss[1.0] == pytest.approx(math.log1p(math.exp(2.0)), abs=0.05)


def test_each_distinct_completion_is_encoded_once_per_step(tiny_model, monkeypatch):
    ranking = ["the cat is good", "the cat is ok", "the cat is sad", "the cat is bad"]
    pairs = [Pair("tell me about the cat", ranking[i], ranking[j]) for i in range(4) for j in range(i + 1, 4)]
    rows = []
    real_collate = training.collate
    monkeypatch.setattr(training, "collate", lambda enc, *a: rows.append(len(enc)) or real_collate(enc, *a))
    reports = []
    train(pairs, [], tiny_config(tiny_model, epochs=1, batch_size=16), progress=reports.append)
    assert [r["step"] for r in reports if "loss" in r] == [1]
    assert rows == [4]  # 6 pairs scored from 4 encodings, not 12


def test_batches_are_length_bucketed_and_dynamically_padded(tiny_model, monkeypatch, toy_pairs):
    widths = []
    real_collate = training.collate

    def spy(encodings, *args):
        batch = real_collate(encodings, *args)
        widths.append((batch["input_ids"].shape[1], max(len(e["input_ids"]) for e in encodings)))
        return batch

    monkeypatch.setattr(training, "collate", spy)
    train(toy_pairs(64), [], tiny_config(tiny_model, epochs=1, max_length=256))
    assert all(width == longest < 256 for width, longest in widths)


def test_learns_a_trivially_separable_preference(tiny_model, toy_pairs):
    result = train(toy_pairs(160), toy_pairs(40, seed=1), tiny_config(tiny_model))
    assert result.metrics["heldout_accuracy"] > 0.9
    assert result.metrics["n_train_pairs"] == 160 and result.metrics["n_heldout_pairs"] == 40
    assert result.metrics["reward_std"] > 0
    # 40 steps over 2 epochs: about five evaluations a run by default, not one per epoch
    assert [h["step"] for h in result.history] == [8, 16, 24, 32, 40]
    assert result.history[-1]["heldout_accuracy"] == result.metrics["heldout_accuracy"]


def test_eval_every_evaluates_every_n_steps_and_after_the_last(tiny_model, toy_pairs):
    result = train(toy_pairs(160), toy_pairs(40, seed=1), tiny_config(tiny_model, eval_every=15))
    assert [h["step"] for h in result.history] == [15, 30, 40]


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_every_trainable_parameter_moves_and_frozen_ones_do_not(tiny_model, toy_pairs, pooling):
    """Mean pooling leaves the [CLS] pooler out of the forward, so it stays as loaded."""
    from transformers import AutoModelForSequenceClassification

    before = dict(AutoModelForSequenceClassification.from_pretrained(tiny_model).named_parameters())
    for freeze_embeddings, freeze_layers in ((False, 0), (True, 1)):
        config = tiny_config(
            tiny_model, epochs=1, freeze_embeddings=freeze_embeddings, freeze_layers=freeze_layers, pooling=pooling
        )
        model = train(toy_pairs(32), [], config).model
        for name, param in model.named_parameters():
            if name.startswith("classifier"):  # a new random head each run
                continue
            frozen = (
                (freeze_embeddings and ".embeddings." in f".{name}")
                or any(f"encoder.layer.{i}." in name for i in range(freeze_layers))
                or (pooling == "mean" and ".pooler." in name)
            )
            moved = not torch.equal(param.detach(), before[name].detach())
            assert moved != frozen, name


def test_activation_checkpointing_trains_the_same_model_above_frozen_layers(tiny_model, toy_pairs):
    plain, checkpointed = (
        train(
            toy_pairs(32),
            [],
            tiny_config(tiny_model, epochs=1, freeze_embeddings=True, freeze_layers=1, activation_checkpointing=on),
        ).model
        for on in (False, True)
    )
    assert checkpointed.is_gradient_checkpointing and not plain.is_gradient_checkpointing
    for (name, a), b in zip(plain.named_parameters(), checkpointed.parameters()):
        assert torch.allclose(a, b, atol=1e-5), name


def test_same_seed_same_model_on_cpu(tiny_model, toy_pairs):
    runs = [train(toy_pairs(48), toy_pairs(16, seed=1), tiny_config(tiny_model, dropout=0.1)) for _ in range(2)]
    assert runs[0].metrics["train_loss"] == runs[1].metrics["train_loss"]
    assert runs[0].metrics["reward_mean"] == runs[1].metrics["reward_mean"]
    for a, b in zip(runs[0].model.parameters(), runs[1].model.parameters()):
        assert torch.equal(a, b)


def test_progress_may_abort_training(tiny_model, toy_pairs):
    def cancel(report):
        if report.get("step") == 2:
            raise KeyboardInterrupt("cancelled")

    with pytest.raises(KeyboardInterrupt):
        train(toy_pairs(64), [], tiny_config(tiny_model), progress=cancel)


def test_learning_rate_warms_up_then_decays_to_zero():
    config = TrainConfig(learning_rate=1.0, warmup_ratio=0.1)
    lrs = [get_lr(step, 100, config) for step in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:])) and lrs[-1] == pytest.approx(1 / 90)


def test_config_round_trips_and_ignores_unknown_keys():
    config = TrainConfig(batch_size=4, freeze_layers=1)
    assert TrainConfig.from_dict({**config.to_dict(), "from_the_future": 1}) == config


def test_the_trainer_reports_its_phases_in_order(tiny_model, toy_pairs):
    reports = []
    train(toy_pairs(16), toy_pairs(8, seed=1), tiny_config(tiny_model, epochs=1, eval_every=1), progress=reports.append)
    phases = [r["phase"] for r in reports]
    # one step each: 16 pairs in batches of 8; an evaluation after every step
    assert phases == ["loading the model", "tokenising", "evaluating", "training", "evaluating", "training"]
    assert [r["step"] for r in reports if r["phase"] == "training"] == [1, 2]
    assert all(set(r) == {"phase"} for r in reports if r["phase"] != "training")
