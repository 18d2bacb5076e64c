"""Decoder LMs as reward-model bases (issue 22): a tiny random Qwen2 with a byte-level BPE
tokenizer and a ChatML chat template made here, trained, published, and scored alike by the
scoring API, get_reward, LocalReward, RemoteReward and plain transformers (the head on the last
non-pad token, as TEI and vLLM read it). BERT-style bases keep their poolings."""

import json

import pytest
import torch
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from arbiter_reward import LocalReward, RemoteReward, encode
from arbiter_reward.reward import CHAT_TEMPLATE, LAST_TOKEN, TEXT_PAIR, encoding_for, prompt_messages
from rewardtrain.base_models import is_decoder_lm, pooling_for, with_base_pooling
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.checkpoints import read_metadata, write_checkpoint
from rewardtrain.config import InvalidTrainingOptions, TrainConfig
from rewardtrain.model_card import PATH_PLACEHOLDER, loader_table
from rewardtrain.models import RewardModelVersion
from rewardtrain.scoring import Scorer
from rewardtrain.training import train
from tests.rewardtrain.comparisons import NOUNS, make_comparisons, train_small
from tests.rewardtrain.conftest import WORDS

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# ChatML, as Qwen2's template renders turns (without its default system turn).
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
HH_PROMPT = "\n\nHuman: tell me about the cat\n\nAssistant: a cat is small\n\nHuman: and the dog?\n\nAssistant:"
ITEMS = [
    ("human: tell me about the cat 3. assistant:", "the cat is good and kind"),
    (HH_PROMPT, " the dog is bad and rude"),
    ("", "hello"),
    ("human: the sky? assistant:", "rain again tomorrow " * 50),  # beyond max_length: cut as Arbiter cuts
]


def make_tiny_qwen(folder, *, chat_template=True):
    """A 2-layer random Qwen2 saved as a causal LM (a base, no classifier head), and a
    byte-level BPE tokenizer with no pad token, as base LMs ship."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    sentences = [" ".join(WORDS), *(f"human: tell me about the {n}. assistant: the {n} is good and kind" for n in NOUNS)]
    bpe.train_from_iterator(sentences, vocab_size=400, special_tokens=SPECIALS)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>")
    if chat_template:
        tokenizer.chat_template = CHATML
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=512, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    Qwen2ForCausalLM(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_qwen(model_root):
    return make_tiny_qwen(model_root / "tiny-qwen2")


@pytest.fixture(scope="session")
def tiny_gpt2(model_root):
    """A 2-layer random GPT-2 and a byte-level BPE tokenizer with neither a pad token nor a chat template."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = model_root / "tiny-gpt2"
    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([" ".join(WORDS), *(f"the {n} is good" for n in NOUNS)], vocab_size=400, special_tokens=["<|endoftext|>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=256,
                        eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id)  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(folder)
    return str(folder)


def plain_rewards(folder, items):
    """What an RL engineer writes with transformers alone: the chat template's tokens of the
    conversation (or the text pair without a template) and the model called as it is, one item
    at a time."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    rewards = []
    with torch.inference_mode():
        for prompt, completion in items:
            if tokenizer.chat_template:
                conversation = [*prompt_messages(prompt), {"role": "assistant", "content": completion.strip()}]
                ids = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True)["input_ids"]
                inputs = {"input_ids": torch.tensor([ids])}
            else:
                inputs = tokenizer(prompt, completion, return_tensors="pt")
            rewards.append(model(**inputs).logits[0, 0].item())
    return rewards


def decoder_config(base, **overrides):
    values = dict(base_model=base, learning_rate=2e-3, batch_size=8, epochs=1, threads=1,
                  freeze_embeddings=False, freeze_layers=0, max_length=64)  # fmt: skip
    return TrainConfig(**{**values, **overrides})


# --- which base is a decoder ------------------------------------------------------------------


def test_decoder_lms_are_told_from_encoders_by_their_config():
    assert is_decoder_lm({"model_type": "qwen2", "architectures": ["Qwen2ForSequenceClassification"]})
    assert is_decoder_lm({"model_type": "llama"}) and is_decoder_lm({"model_type": "gpt2"}) and is_decoder_lm({"model_type": "qwen3"})
    assert is_decoder_lm({"model_type": "some_new_lm", "architectures": ["SomeNewLMForCausalLM"]})
    assert is_decoder_lm({"model_type": "some_new_lm", "is_decoder": True})
    assert not is_decoder_lm({"model_type": "bert", "architectures": ["BertForSequenceClassification"]})
    # an encoder type saved as a causal LM still classifies from its pooled first token
    assert not is_decoder_lm({"model_type": "roberta", "architectures": ["RobertaForCausalLM"], "is_decoder": True})
    assert not is_decoder_lm({"model_type": "some_encoder", "architectures": ["SomeEncoderModel"]})


def test_a_decoder_reads_its_last_token_and_an_encoder_cannot(tiny_qwen, tiny_model):
    qwen = {"model_type": "qwen2"}
    assert pooling_for(qwen, "mean") == LAST_TOKEN == pooling_for(qwen, LAST_TOKEN)
    with pytest.raises(InvalidTrainingOptions, match="decoder LM"):
        pooling_for(qwen, "cls")
    with pytest.raises(InvalidTrainingOptions, match="BERT-style encoder"):
        pooling_for({"model_type": "bert"}, LAST_TOKEN)
    assert with_base_pooling(TrainConfig(base_model=tiny_qwen)).pooling == LAST_TOKEN
    assert with_base_pooling(TrainConfig(base_model=tiny_model)).pooling == "mean"
    assert with_base_pooling(TrainConfig(base_model=tiny_model, pooling="cls")).pooling == "cls"


# --- the encoding ------------------------------------------------------------------------------


def test_a_chat_template_renders_conversational_prompts_and_is_recorded(tiny_qwen, toy_pairs, tmp_path):
    from transformers import AutoTokenizer

    result = train(toy_pairs(16), [], decoder_config(tiny_qwen))
    folder = write_checkpoint(result, tmp_path / "v1", metadata={"version": 1})
    encoding = read_metadata(folder)["encoding"]
    assert encoding["input"] == CHAT_TEMPLATE and encoding["pooling"] == LAST_TOKEN
    assert read_metadata(folder)["train_config"]["pooling"] == LAST_TOKEN

    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert prompt_messages(HH_PROMPT) == [
        {"role": "user", "content": "tell me about the cat"},
        {"role": "assistant", "content": "a cat is small"},
        {"role": "user", "content": "and the dog?"},
    ]
    conversation = [*prompt_messages(HH_PROMPT), {"role": "assistant", "content": "the dog is bad"}]
    expected = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True)["input_ids"]
    assert encode(tokenizer, HH_PROMPT, " the dog is bad", encoding)["input_ids"] == expected
    assert tokenizer.decode(expected).startswith("<|im_start|>user\ntell me about the cat<|im_end|>")
    # A message list, as RL code passes it, renders the same turns (LocalReward makes it HH text first).
    local = LocalReward(folder, device="cpu")
    as_messages = local([[{"role": "user", "content": "tell me about the cat"}]], ["the cat is good"])
    assert as_messages == pytest.approx(local(["\n\nHuman: tell me about the cat\n\nAssistant:"], [" the cat is good"]), abs=1e-6)
    assert as_messages == pytest.approx(plain_rewards(folder, [("\n\nHuman: tell me about the cat\n\nAssistant:", "the cat is good")]), abs=1e-5)
    # the card's transformers snippet, run as written, gives the same reward
    card = (folder / "README.md").read_text()
    assert loader_table(LAST_TOKEN) in card and "trust_remote_code" not in card.split("## Use with transformers")[1].split("```")[1]
    namespace = {}
    exec(card.split("```python\n")[1].split("```")[0].replace(PATH_PLACEHOLDER, str(folder)), namespace)
    assert namespace["reward"]("tell me about the cat", "the cat is good") == pytest.approx(as_messages[0], abs=1e-5)


def test_a_long_conversation_is_cut_from_the_prompts_start_keeping_the_templates_ends(tiny_qwen):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen)
    tokenizer.chat_template = CHATML
    encoding = encoding_for(tokenizer, 32, LAST_TOKEN)
    prompt = "human: " + "tell me about the cat and the dog " * 20 + "and now the bird?"
    ids = encode(tokenizer, prompt, "the bird is good", encoding)["input_ids"]
    text = tokenizer.decode(ids)
    assert len(ids) == 32
    assert text.startswith("<|im_start|>user\n") and text.endswith("the bird?<|im_end|>\n<|im_start|>assistant\nthe bird is good<|im_end|>\n")
    # a completion beyond its budget keeps its start, and the template's closing tokens
    long = encode(tokenizer, "hi", "the cat is good " * 40, encoding)
    assert len(long["input_ids"]) == 32 and tokenizer.decode(long["input_ids"]).endswith("<|im_end|>\n")


def test_a_tokenizer_without_a_pad_token_gets_its_end_of_text(tiny_gpt2, toy_pairs, tmp_path):
    from transformers import AutoTokenizer

    base = AutoTokenizer.from_pretrained(tiny_gpt2)
    assert base.pad_token is None and not base.chat_template
    result = train(toy_pairs(16), [], decoder_config(tiny_gpt2, max_length=128))
    folder = write_checkpoint(result, tmp_path / "v1", metadata={"version": 1})
    saved = AutoTokenizer.from_pretrained(folder)
    assert saved.pad_token == "<|endoftext|>" == saved.eos_token
    config = json.loads((folder / "config.json").read_text())
    assert config["pad_token_id"] == saved.eos_token_id and config["architectures"] == ["GPT2ForSequenceClassification"]
    assert read_metadata(folder)["encoding"]["input"] == TEXT_PAIR  # no template: the text pair
    # right-padded batches (items of different lengths) score as plain transformers one at a time
    items = [ITEMS[0], ITEMS[1], ("human: hi", "ok")]  # within max_length
    expected = plain_rewards(folder, items)
    assert LocalReward(folder, device="cpu", batch_size=3).score(items) == pytest.approx(expected, abs=1e-5)
    assert Scorer.load(folder, device="cpu").score(items, batch_size=3) == pytest.approx(expected, abs=1e-5)


def test_a_bert_base_keeps_its_pooling_and_text_pair(tiny_model, toy_pairs, tmp_path):
    result = train(toy_pairs(16), [], decoder_config(tiny_model))
    encoding = read_metadata(write_checkpoint(result, tmp_path / "v1", metadata={"version": 1}))["encoding"]
    assert (encoding["input"], encoding["pooling"]) == (TEXT_PAIR, "mean")


# --- through Arbiter ---------------------------------------------------------------------------


@pytest.fixture
def decoder_project(project, tiny_qwen):
    project.base_model = tiny_qwen
    project.save()
    make_comparisons(project, 40)
    run = train_small(project, max_length=128)
    assert run.status == "succeeded" and run.version and run.version.is_current, run.error or run.version.rejected_reason
    return project


def test_a_decoder_reward_model_scores_the_same_through_every_loader(decoder_project, labeler, live_server):
    folder = version_folder(RewardModelVersion.objects.get(project=decoder_project, is_current=True))
    meta = read_metadata(folder)
    assert meta["encoding"]["pooling"] == LAST_TOKEN and meta["encoding"]["input"] == CHAT_TEMPLATE
    assert meta["gate"]["outcome"] == "published"  # it passed the first-version gate: better than chance
    client = APIClient()
    client.force_authenticate(labeler)
    slug = decoder_project.slug
    body = {"items": [{"prompt": p, "completion": c} for p, c in ITEMS]}
    api = client.post(f"/api/v1/projects/{slug}/score/", body, format="json").json()["rewards"]

    assert plain_rewards(folder, ITEMS[:3]) == pytest.approx(api[:3], abs=1e-5)  # the ones within max_length
    assert LocalReward(folder, device="cpu", batch_size=4).score(ITEMS) == pytest.approx(api, abs=1e-5)
    token = Token.objects.create(user=labeler).key
    remote = RemoteReward(live_server.url, slug, token)([p for p, _ in ITEMS], [c for _, c in ITEMS])
    assert remote == pytest.approx(api, abs=1e-5)
    rl = client.post(f"/api/v1/projects/{slug}/get_reward", {"query": [p + c for p, c in ITEMS[:2]],
                                                              "prompts": [p for p, _ in ITEMS[:2]]}, format="json")  # fmt: skip
    assert rl.json()["rewards"] == pytest.approx(api[:2], abs=1e-5)
    # the trained model learned something: "good" replies above "bad" ones on its own prompts
    good, bad = LocalReward(folder, device="cpu").score([(ITEMS[0][0], "the cat is good and kind"), (ITEMS[0][0], "the cat is bad and rude")])
    assert good > bad


def test_the_readme_shows_the_decoder_loader_table():
    from pathlib import Path

    from rewardtrain.model_card import decoder_loader_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "### Base models" in readme and decoder_loader_table() in readme
