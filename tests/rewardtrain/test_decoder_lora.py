"""LoRA on a decoder LM base (issue 22): a tiny random Qwen2 gets adapters on its attention
projections and a fully trained score head; published merged, it is a plain Qwen2 reward model
that scores as the adapter model did; kept as an adapter, LocalReward loads base + adapter."""

import pytest
import torch

from arbiter_reward import LocalReward
from arbiter_reward.reward import encode, encoding_for, score_encodings
from rewardtrain.checkpoints import read_metadata, write_checkpoint
from rewardtrain.lora import merged
from rewardtrain.training import train
from tests.rewardtrain.test_decoder_reward_models import ITEMS, decoder_config, make_tiny_qwen, plain_rewards


@pytest.fixture(scope="session")
def tiny_qwen_base(model_root):
    return make_tiny_qwen(model_root / "tiny-qwen2-lora")


def adapter_model_rewards(result):
    """The rewards of the trained model in memory (the adapter model, before any merge)."""
    encoding = encoding_for(result.tokenizer, result.config.max_length, result.config.pooling)
    encodings = [encode(result.tokenizer, p, c, encoding) for p, c in ITEMS]
    return score_encodings(result.model.eval(), encodings, result.tokenizer.pad_token_id)


def test_a_qwen2_lora_run_publishes_a_merged_checkpoint_that_scores_as_the_adapter_model(tiny_qwen_base, toy_pairs, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    config = decoder_config(tiny_qwen_base, lora_r=4, lora_alpha=8, lora_merge=False, learning_rate=1e-2, epochs=2)
    result = train(toy_pairs(24), [], config)
    assert isinstance(result.model, PeftModel)
    assert set(result.model.peft_config["default"].target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    trainable = {name for name, p in result.model.named_parameters() if p.requires_grad}
    assert any("score.modules_to_save" in name for name in trainable)  # the head trained fully
    assert all(".lora_" in name or ".modules_to_save." in name for name in trainable)
    expected = adapter_model_rewards(result)

    kept = write_checkpoint(result, tmp_path / "kept", metadata={"version": 1})
    assert LocalReward(kept, device="cpu").score(ITEMS) == pytest.approx(expected, abs=1e-5)

    result.model = merged(result.model)
    folder = write_checkpoint(result, tmp_path / "merged", metadata={"version": 2})
    assert read_metadata(folder)["train_config"]["lora_r"] == 4 and "lora_adapter" not in read_metadata(folder)
    plain = AutoModelForSequenceClassification.from_pretrained(folder)
    assert type(plain).__name__ == "Qwen2ForSequenceClassification"
    assert not any("lora" in name for name in plain.state_dict())
    assert LocalReward(folder, device="cpu").score(ITEMS) == pytest.approx(expected, abs=1e-5)
    # Plain transformers on the items that fit max_length (the last one is cut by Arbiter's encoding).
    assert plain_rewards(folder, ITEMS[:3]) == pytest.approx(expected[:3], abs=1e-5)
    # The adapters did change the rewards: the base under the same trained head scores otherwise.
    base = AutoModelForSequenceClassification.from_pretrained(kept / "base").eval()
    with torch.inference_mode():
        base.score.load_state_dict(plain.score.state_dict())
        diff = (base.model.layers[0].self_attn.q_proj.weight - plain.model.layers[0].self_attn.q_proj.weight).abs().max()
    assert diff > 1e-4
