"""Encoders beyond BERT as reward-model bases (issue 22's stronger CPU choice, all-mpnet-base-v2):
their text pair is the tokenizer's own (`<s> prompt </s></s> completion </s>` for MPNet and
RoBERTa, not BERT's three special tokens), and their classifier reads the first token, so the
default pooling ("mean", built for BERT) becomes "cls". A tiny random MPNet with a WordPiece
vocabulary (conftest's tiny_mpnet) stands in for the packaged one."""

import pytest
import torch

from arbiter_reward import LocalReward, encode
from arbiter_reward.reward import CLS_POOLER, TEXT_PAIR, encode_pair_text, encoding_for
from rewardtrain.base_models import pooling_for, with_base_pooling
from rewardtrain.checkpoints import read_metadata, write_checkpoint
from rewardtrain.config import InvalidTrainingOptions, TrainConfig
from rewardtrain.model_card import PATH_PLACEHOLDER
from rewardtrain.training import train

ITEMS = [
    ("human: tell me about the cat 3. assistant:", "the cat is good and kind"),
    ("", "hello"),
    ("human: the sky? assistant:", "rain again tomorrow " * 50),  # beyond max_length
    ("human: what about the dog " * 40 + "assistant:", "the dog is kind"),  # a long prompt, cut from its start
]


def test_the_text_pair_is_the_tokenizers_own_within_max_length(tiny_mpnet, tiny_tokenizer):
    from transformers import AutoTokenizer

    mpnet = AutoTokenizer.from_pretrained(tiny_mpnet)
    for tokenizer in (mpnet, tiny_tokenizer):
        for prompt, completion in ITEMS[:2]:
            assert encode_pair_text(tokenizer, prompt, completion, 128) == dict(tokenizer(prompt, completion))
    ids = encode_pair_text(mpnet, *ITEMS[0], 128)["input_ids"]
    assert ids[0] == mpnet.cls_token_id and ids.count(mpnet.sep_token_id) == 3  # <s> A </s></s> B </s>


def test_a_long_pair_keeps_max_length_the_prompts_end_and_the_completions_start(tiny_mpnet):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_mpnet)
    for prompt, completion in ITEMS[2:]:
        ids = encode_pair_text(tokenizer, prompt, completion, 64)["input_ids"]
        assert len(ids) == 64 and ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    cut_completion = tokenizer.decode(encode_pair_text(tokenizer, *ITEMS[2], 64)["input_ids"], skip_special_tokens=True)
    assert cut_completion.startswith("human : the sky? assistant : rain again tomorrow")  # the short prompt kept whole
    cut_prompt = tokenizer.decode(encode_pair_text(tokenizer, *ITEMS[3], 64)["input_ids"], skip_special_tokens=True)
    assert cut_prompt.endswith("assistant : the dog is kind")  # the prompt's end and the whole completion kept


def test_an_encoder_other_than_bert_reads_its_first_token_by_default():
    mpnet = {"model_type": "mpnet", "architectures": ["MPNetForMaskedLM"]}
    assert pooling_for(mpnet, "mean") == CLS_POOLER and pooling_for(mpnet, "cls") == CLS_POOLER
    assert pooling_for({"model_type": "roberta"}, "mean") == CLS_POOLER
    assert pooling_for({"model_type": "bert"}, "mean") == "mean"  # BERT keeps Arbiter's mean pooling
    with pytest.raises(InvalidTrainingOptions):
        pooling_for(mpnet, "last_token")


def test_an_mpnet_reward_model_trains_and_scores_as_plain_transformers_reads_it(tiny_mpnet, toy_pairs, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    config = with_base_pooling(TrainConfig(base_model=tiny_mpnet, learning_rate=2e-3, batch_size=8, epochs=1, threads=1,
                                           freeze_embeddings=False, freeze_layers=0, max_length=64))  # fmt: skip
    assert config.pooling == CLS_POOLER
    pairs = toy_pairs(48)
    result = train(pairs[:40], pairs[40:], config)
    folder = write_checkpoint(result, tmp_path / "mpnet-v1", metadata={"version": 1})
    encoding = read_metadata(folder)["encoding"]
    assert encoding["pooling"] == CLS_POOLER and encoding["input"] == TEXT_PAIR

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    assert type(model).__name__ == "MPNetForSequenceClassification"
    with torch.inference_mode():
        plain = [model(**tokenizer(p, c, return_tensors="pt")).logits[0, 0].item() for p, c in ITEMS[:2]]
    local = LocalReward(folder, device="cpu", batch_size=4).score(ITEMS)
    assert local[:2] == pytest.approx(plain, abs=1e-5)
    assert all(isinstance(r, float) for r in local)
    # what LocalReward fed the model is arbiter_reward.encode of the recorded encoding
    assert encode(tokenizer, *ITEMS[2], encoding)["input_ids"] == encode_pair_text(tokenizer, *ITEMS[2], 64)["input_ids"]
    assert encoding_for(tokenizer, 64, CLS_POOLER)["completion_budget"] == encoding["completion_budget"]
    # the card's transformers snippet, run as written, scores every item as LocalReward, cut ones too
    card = (folder / "README.md").read_text()
    namespace = {}
    exec(card.split("```python\n")[1].split("```")[0].replace(PATH_PLACEHOLDER, str(folder)), namespace)
    assert [namespace["reward"](p, c) for p, c in ITEMS] == pytest.approx(local, abs=1e-5)


def test_an_mpnet_lora_run_publishes_a_merged_checkpoint_that_scores_as_the_adapter_model(tiny_mpnet, toy_pairs, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from arbiter_reward.reward import score_encodings
    from rewardtrain.lora import merged

    config = with_base_pooling(TrainConfig(base_model=tiny_mpnet, learning_rate=1e-2, batch_size=8, epochs=2, threads=1,
                                           max_length=64, lora_r=4, lora_alpha=8, lora_merge=False))  # fmt: skip
    result = train(toy_pairs(24), [], config)
    assert isinstance(result.model, PeftModel)
    assert set(result.model.peft_config["default"].target_modules) == {"q", "k", "v", "o"}
    encoding = encoding_for(result.tokenizer, 64, CLS_POOLER)
    expected = score_encodings(result.model.eval(), [encode(result.tokenizer, p, c, encoding) for p, c in ITEMS],
                               result.tokenizer.pad_token_id)  # fmt: skip
    result.model = merged(result.model)
    folder = write_checkpoint(result, tmp_path / "merged", metadata={"version": 1})
    assert LocalReward(folder, device="cpu").score(ITEMS) == pytest.approx(expected, abs=1e-5)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    plain = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    assert not any("lora" in name for name in plain.state_dict())
    with torch.inference_mode():
        assert plain(**tokenizer(*ITEMS[0], return_tensors="pt")).logits[0, 0].item() == pytest.approx(expected[0], abs=1e-5)
