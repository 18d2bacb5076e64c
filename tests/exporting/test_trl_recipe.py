"""The README's TRL recipe, as written there, trains two steps on a pairs export."""

import pytest

from annotator.exports import export_options_from, export_stream
from tests.rewardtrain.conftest import make_tiny_model

pytestmark = pytest.mark.django_db


def test_trl_reward_trainer_takes_two_steps_on_a_pairs_export_by_the_readme_recipe(data, tmp_path):
    import torch
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(export_stream(project=data.project, options=export_options_from({}))), encoding="utf-8")
    base = make_tiny_model(tmp_path / "tiny-bert")

    # The README's recipe, with the tiny model and two steps.
    MAX_LENGTH = 512
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.truncation_side = "left"
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)

    def encode(row):
        def ids(reply):
            return tokenizer(row["prompt"], reply, truncation="only_first", max_length=MAX_LENGTH)["input_ids"]
        return {"chosen_ids": ids(row["chosen"]), "rejected_ids": ids(row["rejected"])}

    pairs = load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    train = pairs.filter(lambda row: row["split"] == "train").map(encode)
    head_before = model.classifier.weight.detach().clone()
    trainer = RewardTrainer(
        model=model, processing_class=tokenizer, train_dataset=train,
        args=RewardConfig(
            output_dir=str(tmp_path / "trl-out"), max_length=MAX_LENGTH, max_steps=2,
            per_device_train_batch_size=1, learning_rate=1e-2, use_cpu=True, report_to="none", save_strategy="no",
            disable_tqdm=True,
        ),
    )
    trainer.train()

    assert len(train) == 2  # the export's two train-split pairs, none dropped
    assert trainer.state.global_step == 2
    assert train[0]["chosen_ids"][0] == tokenizer.cls_token_id and train[0]["chosen_ids"].count(tokenizer.sep_token_id) == 2
    assert not torch.equal(head_before, model.classifier.weight)  # it trained
