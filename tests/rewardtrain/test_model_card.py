"""The checkpoint's README.md: Hub front matter, tables of what it was trained on and how, and
usage snippets that are run here, on inputs far beyond max_length, against the Scorer."""

import contextlib
import io
import json
import math
import re

import pytest
import torch
import yaml

from rewardtrain.checkpoints import read_metadata, write_checkpoint
from rewardtrain.config import default_base_model
from rewardtrain.model_card import PATH_PLACEHOLDER, loader_table, model_card
from rewardtrain.scoring import Scorer
from rewardtrain.training import TrainConfig, train

MAX_LENGTH = 64


def long_text(n_chars, seed):
    """Vocabulary words mixed with words the tiny vocabulary spells in ##pieces, so the cut
    to the completion falls inside a word too."""
    words = "the cat is good bad playing tomorrow wonderfully river 42 sky, rain! again".split()
    out, i = [], seed
    while len(" ".join(out)) < n_chars:
        out.append(words[i % len(words)])
        i = i * 7 + 3
    return " ".join(out)[:n_chars]


@pytest.fixture(scope="module", params=["mean", "cls"])
def checkpoint(request, tiny_model, toy_pairs, tmp_path_factory):
    """A checkpoint of each pooling: the card's snippets differ (a mean-pooled head needs its pooling installed)."""
    config = TrainConfig(base_model=tiny_model, learning_rate=2e-3, batch_size=8, epochs=1, threads=1,
                         freeze_embeddings=False, freeze_layers=0, max_length=MAX_LENGTH, pooling=request.param)
    result = train(toy_pairs(40), toy_pairs(12, seed=1), config)
    # As runs._train_and_publish records them.
    metadata = {
        "version": 3,
        "project": "demo",
        "base_model": tiny_model,  # an absolute path on the server
        "parent_version": 2,
        "data": {"n_pairs": 52, "max_comparison_id": 917, "pair_ids_sha256": "ab12", "sources": {"hh": 40, "labelers": 12}},
        "split": {"fraction": 0.1, "n_train": 40, "n_heldout": 12, "heldout_ids_sha256": "cd34", "max_comparison_id": 917},
        "gate": {"passed": True, "reason": "first version"},
    }
    return write_checkpoint(result, tmp_path_factory.mktemp("card") / "v3", metadata=metadata)


def card(path):
    return (path / "README.md").read_text()


def python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_front_matter_is_hub_metadata_without_server_paths(checkpoint, tiny_model):
    text = card(checkpoint)
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front == {
        "base_model": "tiny-bert",  # the folder's name
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["reward-model", "arbiter"],
    }
    assert tiny_model not in text and str(checkpoint) not in text


def test_arbiter_json_names_the_base_model_without_the_servers_path(checkpoint, tiny_model):
    meta = read_metadata(checkpoint)
    assert meta["base_model"] == meta["train_config"]["base_model"] == "tiny-bert"
    assert tiny_model not in (checkpoint / "arbiter.json").read_text()


@pytest.mark.parametrize("base_model", ["packaged all-MiniLM-L6-v2", "", None, "default path"])
def test_the_packaged_base_model_is_named_as_on_the_hub(base_model):
    if base_model == "default path":
        base_model = default_base_model()
    text = model_card({"base_model": base_model, "version": 1}, "v1")
    assert yaml.safe_load(text.split("---\n")[1])["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert default_base_model() not in text


def test_the_output_is_named_reward(checkpoint):
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["id2label"] == {"0": "reward"} and config["label2id"] == {"reward": 0}


def test_device_and_precision_are_those_actually_used(checkpoint):
    meta = read_metadata(checkpoint)
    assert meta["train_config"]["device"] == "auto" and meta["train_config"]["bf16"] is True  # the wishes
    if torch.cuda.is_available():
        assert meta["metrics"]["device"].startswith("cuda:0 (")
        assert meta["metrics"]["precision"] == ("bf16 autocast" if torch.cuda.is_bf16_supported() else "fp32")
    else:
        assert (meta["metrics"]["device"], meta["metrics"]["precision"]) == ("cpu", "fp32")
    text = card(checkpoint)
    assert f"| device | {meta['metrics']['device']} |" in text
    assert f"| precision | {meta['metrics']['precision']} |" in text


def test_data_snapshot_and_metrics_are_tables(checkpoint):
    text = card(checkpoint)
    meta = read_metadata(checkpoint)
    for row in [
        "| preference pairs | 52 |",
        "| newest comparison id | 917 |",
        '| sources | {"hh": 40, "labelers": 12} |',
        "| training pairs | 40 |",
        "| held-out pairs | 12 |",
        "| held-out fraction (of prompts, by a stable hash) | 0.1 |",
        f"| held-out pairwise accuracy | {meta['metrics']['heldout_accuracy']:.4g} |",
        f"| held-out prompts | {meta['metrics']['n_heldout_prompts']} |",
        "| promotion gate | first version |",
        "| warm-started from version | 2 |",
        f"| max_length (tokens per prompt + completion) | {MAX_LENGTH} |",
    ]:
        assert row in text
    assert "# Arbiter reward model v3 of project demo" in text


def test_a_data_snapshot_that_is_not_a_dict_is_one_row():
    assert "| snapshot | toy |" in model_card({"data": "toy"}, "v1")


def run_snippets(path):
    """The transformers and pipeline snippets run in order in one namespace, as a reader would."""
    blocks = python_blocks(card(path))
    assert len(blocks) == 3
    namespace = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for block in blocks[:2]:
            assert PATH_PLACEHOLDER in block or "path" in block
            exec(compile(block.replace(PATH_PLACEHOLDER, str(path)), "README.md", "exec"), namespace)
    return namespace, printed.getvalue().split()


def test_usage_snippets_never_crash_and_score_as_arbiter_does(checkpoint, tiny_tokenizer):
    namespace, printed = run_snippets(checkpoint)
    assert not namespace["model"].training  # dropout off, as Arbiter scores
    prompt, completion = long_text(3000, 1), long_text(3000, 2)
    # Far beyond max_length and beyond the 512 position embeddings: untruncated it would crash.
    assert len(tiny_tokenizer(completion, add_special_tokens=False)["input_ids"]) > 512
    items = [
        (prompt, completion),
        ("human: tell me about the cat. assistant:", completion),
        (prompt, "the cat is good"),
        ("human: tell me about the cat. assistant:", "the cat is good"),
        ("", completion),
        (long_text(150, 3), long_text(150, 4)),  # too long, completion within its budget
        (long_text(40, 5), long_text(400, 6)),  # too long, completion over its budget, short prompt
        (prompt, "wonderfully " * 300),  # the completion is cut inside a word of ##pieces
    ]
    expected = Scorer.load(checkpoint, device="cpu").score(items)
    assert [namespace["reward"](p, c) for p, c in items] == pytest.approx(expected, abs=1e-5)
    assert [namespace["pipeline_reward"](p, c) for p, c in items] == pytest.approx(expected, abs=1e-5)
    # The snippets' own example calls printed the same raw reward.
    example = Scorer.load(checkpoint, device="cpu").score([("\n\nHuman: What is 2+2?\n\nAssistant:", " 4")])[0]
    assert [float(x) for x in printed] == pytest.approx([example, example], abs=1e-5)


def test_without_function_to_apply_the_pipeline_gives_a_sigmoid(checkpoint):
    """Why the card says function_to_apply="none"."""
    from transformers import pipeline

    namespace, _ = run_snippets(checkpoint)
    raw = namespace["pipeline_reward"]("human: hi. assistant:", "the cat is good")
    default = pipeline("text-classification", model=str(checkpoint), trust_remote_code=True)(
        {"text": "human: hi. assistant:", "text_pair": "the cat is good"}
    )
    assert default["label"] == "reward"
    assert default["score"] == pytest.approx(1 / (1 + math.exp(-raw)), abs=1e-5) and default["score"] != pytest.approx(raw)


def test_a_mean_pooled_card_says_plain_transformers_refuses_it(checkpoint):
    """True of both: a mean-pooled checkpoint loads only with trust_remote_code (its modeling_arbiter.py);
    a [CLS] one is plain BERT, whose plain logits are Arbiter's reward for the text pair."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    pooling = read_metadata(checkpoint)["encoding"]["pooling"]
    text = card(checkpoint)
    assert ("transformers loads it only with `trust_remote_code=True`, and refuses without" in text) == (pooling == "mean")
    assert ("from_pretrained(path, trust_remote_code=True).eval()" in python_blocks(text)[0]) == (pooling == "mean")
    assert f"| pooling (what the head reads) | {'the mean of the last hidden states' if pooling == 'mean' else 'the [CLS] pooler'}" in text
    items = [("human: hi. assistant:", "the cat is good"), ("human: the sky? assistant:", "rain again tomorrow")]
    if pooling == "mean":
        with pytest.raises(ValueError, match="trust_remote_code=True"):
            AutoModelForSequenceClassification.from_pretrained(checkpoint, trust_remote_code=False)
        return
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    plain = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()
    with torch.no_grad():
        as_is = [plain(**tokenizer(p, c, return_tensors="pt")).logits[0, 0].item() for p, c in items]
    assert as_is == pytest.approx(Scorer.load(checkpoint, device="cpu").score(items), abs=1e-5)


def test_the_card_says_what_each_loader_does_for_both_poolings(checkpoint):
    pooling = read_metadata(checkpoint)["encoding"]["pooling"]
    text = card(checkpoint)
    assert "## What each loader does with this checkpoint" in text and loader_table(pooling) in text
    header = text.split("## What each loader does with this checkpoint")[1].split("\n")[2]
    assert header.endswith("mean pooling, the default (this checkpoint) | [CLS] pooler |" if pooling == "mean"
                           else "mean pooling, the default | [CLS] pooler (this checkpoint) |")  # fmt: skip
    for loader in ["Arbiter's API", "LocalReward", "trust_remote_code=True", "without `trust_remote_code`",
                   "TRL `GRPOTrainer(reward_funcs=", "TEI", "vLLM"]:  # fmt: skip
        assert loader in text
    # The cost of a checkpoint TEI and vLLM can serve, as measured (bench/README.md).
    assert "0.623 ± 0.009 against mean pooling's\n0.652 ± 0.007" in text and "commit 56944f9, 2026-12-02" in text
    trl = python_blocks(text)[2]
    assert "LocalReward" in trl
    assert ("which this model refuses" if pooling == "mean" else "score this model wrongly without an error") in text


def test_the_readme_shows_the_cards_loader_table():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert loader_table() in readme


def test_the_trl_snippet_uses_local_reward(checkpoint):
    """Shown, not run here: GRPO with LocalReward is tested with the RL example."""
    trl = python_blocks(card(checkpoint))[2]
    compile(trl, "README.md", "exec")
    assert "from arbiter_reward import LocalReward" in trl
    assert f'reward = LocalReward("{PATH_PLACEHOLDER}")' in trl and "GRPOTrainer(..., reward_funcs=reward)" in trl


def test_snippets_score_as_arbiter_with_the_packaged_minilm(toy_pairs, tmp_path):
    """The real tokenizer (lower-casing, accent stripping, CJK split into characters): cutting
    the completion's text at a token's end offset still gives the tokens training kept."""
    result = train(toy_pairs(8), toy_pairs(4, seed=1), TrainConfig(max_length=64, batch_size=4, threads=2))
    path = write_checkpoint(result, tmp_path / "v1", metadata={"version": 1, "base_model": "packaged all-MiniLM-L6-v2"})
    text = "Naïve café — ünïcödé 😀 日本語のテキスト, supercalifragilisticexpialidocious antidisestablishmentarianism! "
    items = [(text * 30, text * 30), ("hi", text * 40), (long_text(3000, 1), "x" * 3000), (text * 30, "tokenization" * 200)]
    namespace, _ = run_snippets(path)
    expected = Scorer.load(path, device="cpu").score(items)
    assert [namespace["reward"](p, c) for p, c in items] == pytest.approx(expected, abs=1e-5)
    assert [namespace["pipeline_reward"](p, c) for p, c in items] == pytest.approx(expected, abs=1e-5)
