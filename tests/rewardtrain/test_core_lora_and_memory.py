"""LoRA (peft) and the memory/speed knobs for big bases: gradient accumulation, activation
checkpointing, bf16 autocast on request, max_length within the model's positions."""

import io

import pytest
import torch

from arbiter_reward import LocalReward
from arbiter_reward.reward import encode_pair_text, score_encodings
from rewardtrain.checkpoints import read_metadata, verify_checkpoint, write_checkpoint
from rewardtrain.config import InvalidTrainingOptions, TrainConfig, lora_targets
from rewardtrain.lora import merged
from rewardtrain.training import PairwiseTask, backward_in_micro_batches, load_model, micro_batches, set_dropout, train
from tests.rewardtrain.plain_transformers import plain_rewards

TINY = dict(max_length=48, batch_size=8, epochs=2, learning_rate=5e-3, threads=1, freeze_embeddings=False, freeze_layers=0)
ITEMS = [
    ("human: tell me about the cat. assistant:", "the cat is good"),
    ("human: tell me about the dog. assistant:", "the dog is bad and rude"),
    ("human: what is the sky? assistant:", "blue"),
    ("human: hello. assistant:", "hello, how can i help you today?"),
]


def local_scores(model, tokenizer, max_length):
    encodings = [encode_pair_text(tokenizer, p, c, max_length) for p, c in ITEMS]
    return score_encodings(model.eval(), encodings, tokenizer.pad_token_id)


@pytest.fixture(scope="module")
def lora_result(tiny_model):
    """A LoRA run on the tiny BERT ([CLS] pooling, so plain transformers reads it as is), adapter kept."""
    from tests.rewardtrain.conftest import make_toy_pairs

    pairs = make_toy_pairs(48)
    config = TrainConfig(base_model=tiny_model, pooling="cls", lora_r=4, lora_alpha=8, lora_merge=False, **TINY)
    return train(pairs[:40], pairs[40:], config)


def test_lora_trains_the_adapters_and_the_whole_head_only(lora_result, tiny_model):
    from peft import PeftModel

    model = lora_result.model
    assert isinstance(model, PeftModel)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in name or ".modules_to_save." in name for name in trainable)
    # The BERT defaults: query/key/value/dense of every layer; the head (classifier) fully.
    assert set(model.peft_config["default"].target_modules) == {"query", "key", "value", "dense"}
    assert any("classifier.modules_to_save" in name for name in trainable)
    base, _ = load_model(tiny_model, torch.device("cpu"), pooling="cls")
    head = model.base_model.model.classifier.modules_to_save["default"]
    assert not torch.equal(head.weight, base.classifier.weight)  # the head itself trained, not an adapter on it


def test_merged_checkpoint_scores_as_the_adapter_model_and_loads_in_plain_transformers(lora_result, tmp_path):
    from transformers import AutoModelForSequenceClassification

    adapter_model = lora_result.model
    adapter_scores = local_scores(adapter_model, lora_result.tokenizer, 48)
    with adapter_model.disable_adapter():  # the adapters do change the rewards: the test can fail
        assert max(abs(a - b) for a, b in zip(local_scores(adapter_model, lora_result.tokenizer, 48), adapter_scores)) > 1e-3

    folder = tmp_path / "merged"
    merged_result = lora_result.__class__(**{**lora_result.__dict__, "model": merged(adapter_model)})
    write_checkpoint(merged_result, folder, metadata={"version": 1})
    assert not (folder / "adapter").exists() and (folder / "config.json").is_file()
    assert "lora_adapter" not in read_metadata(folder)
    card = (folder / "README.md").read_text()
    assert "LoRA adapter apart" not in card and "| LoRA | rank 4, alpha 8, on its family's default modules; merged into the weights |" in card
    plain = AutoModelForSequenceClassification.from_pretrained(folder)
    assert not any("lora" in name for name in plain.state_dict())
    assert LocalReward(folder).score(ITEMS) == pytest.approx(adapter_scores, abs=1e-5)
    assert plain_rewards(folder, ITEMS) == pytest.approx(adapter_scores, abs=1e-5)


def test_a_kept_adapter_checkpoint_loads_through_local_reward(tiny_model, tmp_path):
    from tests.rewardtrain.conftest import make_toy_pairs

    pairs = make_toy_pairs(48)
    config = TrainConfig(base_model=tiny_model, lora_r=4, lora_merge=False, **TINY)  # mean pooling, the default
    result = train(pairs[:40], pairs[40:], config)
    expected = local_scores(result.model, result.tokenizer, 48)
    folder = tmp_path / "adapter-kept"
    write_checkpoint(result, folder, metadata={"version": 1})

    assert not (folder / "config.json").exists()  # a loader without peft cannot mistake base/ for the model
    assert (folder / "base" / "config.json").is_file() and (folder / "adapter" / "adapter_config.json").is_file()
    metadata = read_metadata(folder)
    assert metadata["lora_adapter"]["adapter"] == "adapter" and metadata["train_config"]["lora_merge"] is False
    verify_checkpoint(folder, root=tmp_path)  # the manifest lists base/ and adapter/ files
    card = (folder / "README.md").read_text()
    assert "keeps its LoRA adapter apart" in card and 'PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(path + "/base"), path + "/adapter")' in card
    assert "| LoRA | rank 4, alpha 16.0, on its family's default modules; kept as an adapter |" in card
    assert LocalReward(folder).score(ITEMS) == pytest.approx(expected, abs=1e-5)
    # Warm-starting from it: the trainer reads it as plain, merged weights.
    warm, _ = load_model(str(folder), torch.device("cpu"), pooling="mean")
    assert local_scores(warm, result.tokenizer, 48) == pytest.approx(expected, abs=1e-5)


def test_lora_default_targets_by_architecture():
    assert lora_targets({"model_type": "bert"}) == ["query", "key", "value", "dense"]
    for family in ("qwen2", "qwen3", "llama", "mistral"):
        assert lora_targets({"model_type": family}) == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert lora_targets({"model_type": "gpt2"}) == ["c_attn", "c_proj"]
    with pytest.raises(InvalidTrainingOptions, match="no default target modules for model type 't5'"):
        TrainConfig(lora_r=8).check_for_model({"model_type": "t5"})
    TrainConfig(lora_r=8, lora_target_modules=["q"]).check_for_model({"model_type": "t5"})


@pytest.mark.parametrize(
    "options, message",
    [
        ({"lora_r": -1}, "lora_r must be 0"),
        ({"lora_r": 4, "lora_alpha": 0}, "lora_alpha must be positive"),
        ({"lora_r": 4, "lora_dropout": 1.0}, "lora_dropout must be"),
        ({"lora_r": 4, "lora_target_modules": []}, "lora_target_modules must be a non-empty list"),
        ({"lora_target_modules": ["query"]}, "lora_target_modules is set but lora_r is 0"),
        ({"lora_merge": False}, "lora_merge is set but lora_r is 0"),
        ({"batch_size": 8, "micro_batch_size": 9}, "micro_batch_size must be from 0"),
        ({"micro_batch_size": -1}, "micro_batch_size must be from 0"),
    ],
)
def test_invalid_options_are_refused_with_what_is_wrong(options, message):
    with pytest.raises(InvalidTrainingOptions, match=message):
        TrainConfig(**options)


def test_a_target_module_the_model_lacks_is_refused(tiny_model, toy_pairs):
    config = TrainConfig(base_model=tiny_model, lora_r=4, lora_target_modules=["q_proj"], **TINY)
    with pytest.raises(InvalidTrainingOptions, match="LoRA on target modules q_proj: No modules were targeted"):
        train(toy_pairs(8), [], config)


def test_max_length_beyond_the_models_positions_is_refused(tiny_model, toy_pairs):
    with pytest.raises(InvalidTrainingOptions, match="max_length 513 is more than the base model's 512 positions"):
        train(toy_pairs(8), [], TrainConfig(base_model=tiny_model, **{**TINY, "max_length": 513}))


def test_micro_batches_never_split_a_unit():
    assert micro_batches([3, 1, 2, 2, 1], 0) == [[0, 1, 2, 3, 4]]
    assert micro_batches([3, 1, 2, 2, 1], 2) == [[0], [1, 2], [3], [4]]


def test_accumulated_micro_batches_give_the_gradient_of_the_whole_batch(tiny_model, toy_pairs):
    """The loss is averaged over the batch, not per micro-batch: with groups of unequal sizes a
    per-micro-batch mean would weight pairs unequally and the gradients would differ."""
    from rewardtrain.data import Pair

    config = TrainConfig(base_model=tiny_model, **TINY)
    torch.manual_seed(0)
    model, tokenizer = load_model(tiny_model, torch.device("cpu"), pooling="mean")
    set_dropout(model, 0.0)  # as the trainer does (config.dropout): the same forward every time
    model.train()
    pairs = toy_pairs(6)
    # A prompt with three pairs (three completions): groups of 3, 1, 1, 1, 1, 1 pairs.
    pairs += [Pair(pairs[0].prompt, "the cat is good", f"the cat is {w}", id=100 + i) for i, w in enumerate(("bad", "rude"))]
    task = PairwiseTask(pairs, tokenizer, config)
    batch = list(range(len(task.groups)))
    assert sorted(task.size(g) for g in batch) == [1, 1, 1, 1, 1, 3]

    def gradients(micro):
        model.zero_grad(set_to_none=True)
        loss, n = backward_in_micro_batches(task, lambda inputs: model(**inputs).logits.float(), batch, "cpu", micro)
        return loss.item(), n, {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    whole_loss, whole_n, whole = gradients(0)
    for micro in (1, 2, 3):
        loss, n, grads = gradients(micro)
        assert (n, loss) == (whole_n, pytest.approx(whole_loss, abs=1e-6))
        assert grads.keys() == whole.keys()
        for name in whole:  # float32 sums in another order: agreement to ~1e-7 relative
            torch.testing.assert_close(grads[name], whole[name], rtol=1e-5, atol=1e-7, msg=name)


def test_training_with_accumulation_gives_the_same_model(tiny_model, toy_pairs):
    pairs = toy_pairs(40)
    results = [
        train(pairs[:32], pairs[32:], TrainConfig(base_model=tiny_model, micro_batch_size=micro, **TINY)) for micro in (0, 2)
    ]
    scores = [local_scores(r.model, r.tokenizer, 48) for r in results]
    # Adam normalises each step by the gradient's size, so float-order differences of ~1e-7
    # grow over the 10 steps, to ~1e-5 on rewards of order 1.
    assert scores[1] == pytest.approx(scores[0], abs=1e-4)
    assert results[0].metrics["steps"] == results[1].metrics["steps"]


def test_bf16_on_cpu_only_when_asked_and_activation_checkpointing(tiny_model, toy_pairs):
    pairs = toy_pairs(16)
    plain = train(pairs, [], TrainConfig(base_model=tiny_model, **{**TINY, "epochs": 1}))
    assert plain.metrics["precision"] == "fp32" and not plain.model.is_activation_checkpointing
    asked = train(pairs, [], TrainConfig(base_model=tiny_model, bf16_cpu=True, activation_checkpointing=True, **{**TINY, "epochs": 1}))
    assert asked.metrics["precision"] == "bf16 autocast" and asked.model.is_activation_checkpointing
    # The same data in bf16: close to fp32's rewards, not equal (autocast did run).
    a, b = (local_scores(r.model, r.tokenizer, 48) for r in (plain, asked))
    assert a != b and a == pytest.approx(b, abs=0.1)


# --- through a run: the options reach the trainer ---------------------------------------


def api_client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_lora_and_memory_options_reach_the_trainer_through_the_api(trainable, lead, monkeypatch):
    from rewardtrain.checkpoint_store import version_folder
    from rewardtrain.models import TrainingRun
    from rewardtrain.runs import TRAIN_OPTIONS, training_run_execute
    from tests.rewardtrain.comparisons import SMALL

    monkeypatch.setattr("rewardtrain.runs._enqueue", lambda run: None)
    assert {"lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "lora_merge", "micro_batch_size"} <= TRAIN_OPTIONS
    body = {"lora_r": 4, "lora_alpha": 8.0, "lora_target_modules": ["query", "value"], "micro_batch_size": 4, "bf16_cpu": True}
    answer = api_client(lead).post(f"/api/v1/projects/{trainable.slug}/train/", body, format="json")
    assert answer.status_code == 201, answer.content
    run = TrainingRun.objects.get(id=answer.json()["id"])
    assert run.options == body
    run.options = {**SMALL, **run.options}
    run.save()
    run = training_run_execute(run_id=run.id, task_id=run.task_id, progress_every=0)
    assert run.status == "succeeded", run.error
    folder = version_folder(run.version)
    recorded = read_metadata(folder)
    assert {k: recorded["train_config"][k] for k in body} == body
    assert recorded["metrics"]["precision"] == "bf16 autocast"
    assert (folder / "config.json").is_file() and not (folder / "adapter").exists()  # merged by default


@pytest.mark.django_db
def test_the_api_refuses_lora_options_without_lora_r(trainable, lead, monkeypatch):
    monkeypatch.setattr("rewardtrain.runs._enqueue", lambda run: None)
    answer = api_client(lead).post(f"/api/v1/projects/{trainable.slug}/train/", {"lora_merge": False}, format="json")
    assert answer.status_code == 400 and "lora_r is 0" in answer.content.decode()


@pytest.mark.django_db
def test_command_options_reach_the_run_and_max_length_is_checked_against_the_base(trainable, monkeypatch):
    from django.core.management import CommandError, call_command

    from rewardtrain.models import TrainingRun

    monkeypatch.setattr("rewardtrain.runs._enqueue", lambda run: None)
    with pytest.raises(CommandError, match="max_length 513 is more than the base model's 512 positions"):
        call_command("train_reward_model", trainable.slug, "--max-length", "513")
    call_command(
        "train_reward_model", trainable.slug, "--lora-r", "8", "--lora-target-modules", "query", "key",
        "--lora-keep-adapter", "--micro-batch-size", "4", "--activation-checkpointing", stdout=io.StringIO(),
    )  # fmt: skip
    options = TrainingRun.objects.get(project=trainable).options
    assert options == {
        "lora_r": 8, "lora_target_modules": ["query", "key"], "lora_merge": False,
        "micro_batch_size": 4, "activation_checkpointing": True,
    }  # fmt: skip


@pytest.mark.django_db
def test_an_adapter_kept_version_is_served_and_warm_started_from(trainable, labeler):
    from rewardtrain.checkpoint_store import version_folder
    from tests.rewardtrain.comparisons import train_small

    first = train_small(trainable, lora_r=4, lora_merge=False, learning_rate=1e-2)
    assert first.status == "succeeded" and first.version.is_current, first.error
    folder = version_folder(first.version)
    assert (folder / "adapter" / "adapter_config.json").is_file() and not (folder / "config.json").exists()
    items = [{"prompt": p, "completion": c} for p, c in ITEMS]
    answer = api_client(labeler).post(f"/api/v1/projects/{trainable.slug}/score/", {"items": items}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["rewards"] == pytest.approx(LocalReward(folder).score(ITEMS), abs=1e-5)

    second = train_small(trainable, lora_r=4, lora_merge=False, learning_rate=1e-2)  # warm: base + adapter, merged, then new adapters
    assert second.status == "succeeded", second.error
    assert read_metadata(version_folder(second.version))["warm_start"] is True
