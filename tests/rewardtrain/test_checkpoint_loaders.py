"""Every way of loading a checkpoint gives exactly Arbiter's reward or refuses with an error that
says what to use: a mean-pooled checkpoint is Arbiter's own model type, which transformers loads
only with trust_remote_code (from the modeling_arbiter.py inside it); Arbiter's own loaders use
the packaged class, and still read checkpoints published before (plain BERT + pooling recorded)."""

import json
import shutil

import pytest
import torch

from arbiter_reward import LocalReward, modeling_arbiter
from arbiter_reward.modeling_arbiter import MODEL_TYPE, MeanPooledBertForSequenceClassification, WrongInput
from rewardtrain.checkpoints import CheckpointInvalid, read_metadata, verify_checkpoint, write_checkpoint
from rewardtrain.scoring import Scorer
from rewardtrain.training import TrainConfig, evaluate_checkpoint, train

MAX_LENGTH = 48
ITEMS = [
    ("human: tell me about the cat. assistant:", "the cat is good"),
    ("human: the sky? assistant:", "rain again tomorrow " * 3),
    ("a", "b"),
]


def config(tiny_model, **overrides):
    values = dict(base_model=tiny_model, learning_rate=2e-3, batch_size=8, epochs=1, threads=1,
                  freeze_embeddings=False, freeze_layers=0, max_length=MAX_LENGTH)  # fmt: skip
    return TrainConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def mean_checkpoint(tiny_model, toy_pairs, tmp_path_factory):
    result = train(toy_pairs(32), toy_pairs(8, seed=1), config(tiny_model))
    return write_checkpoint(result, tmp_path_factory.mktemp("loaders") / "v1", metadata={"version": 1})


@pytest.fixture(scope="module")
def cls_checkpoint(tiny_model, toy_pairs, tmp_path_factory):
    result = train(toy_pairs(32), toy_pairs(8, seed=1), config(tiny_model, pooling="cls"))
    return write_checkpoint(result, tmp_path_factory.mktemp("loaders") / "v1", metadata={"version": 1})


def as_published_before(checkpoint, folder):
    """A copy of `checkpoint` as Arbiter published mean-pooled checkpoints before this model type:
    a plain BERT config.json, the pooling recorded only in arbiter.json, no modeling file."""
    shutil.copytree(checkpoint, folder)
    config_file = folder / "config.json"
    values = json.loads(config_file.read_text())
    for key in ("auto_map", "cls_token_id"):
        values.pop(key, None)
    values.update(model_type="bert", architectures=["BertForSequenceClassification"])
    config_file.write_text(json.dumps(values))
    (folder / "modeling_arbiter.py").unlink()
    assert read_metadata(folder)["encoding"]["pooling"] == "mean"
    return folder


def scorer_rewards(path, items=ITEMS):
    return Scorer.load(path, device="cpu").score(items)


def test_a_mean_pooled_checkpoint_is_arbiters_own_model_type(mean_checkpoint):
    values = json.loads((mean_checkpoint / "config.json").read_text())
    assert values["model_type"] == MODEL_TYPE == "arbiter_mean_pooled_bert"
    assert values["architectures"] == ["MeanPooledBertForSequenceClassification"]
    assert values["auto_map"]["AutoModelForSequenceClassification"] == "modeling_arbiter.MeanPooledBertForSequenceClassification"
    assert (mean_checkpoint / "modeling_arbiter.py").read_text() == open(modeling_arbiter.__file__).read()


def test_plain_automodel_refuses_a_mean_pooled_checkpoint(mean_checkpoint):
    """Without trust_remote_code transformers (and so TEI, vLLM) cannot load it, rather than
    loading a BERT whose head reads the untrained [CLS] pooler."""
    from transformers import AutoModelForSequenceClassification

    with pytest.raises(ValueError, match="(?s)contains custom code.*pass the argument `trust_remote_code=True`"):
        AutoModelForSequenceClassification.from_pretrained(mean_checkpoint, trust_remote_code=False)
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        AutoModelForSequenceClassification.from_pretrained(mean_checkpoint)  # no answer to the prompt: refused


def test_a_plain_pipeline_refuses_a_mean_pooled_checkpoint(mean_checkpoint):
    from transformers import pipeline

    with pytest.raises(ValueError, match="trust_remote_code=True"):
        pipeline("text-classification", model=str(mean_checkpoint), trust_remote_code=False)


def test_automodel_with_trust_remote_code_scores_as_the_scorer(mean_checkpoint):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(mean_checkpoint, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(mean_checkpoint, trust_remote_code=True)
    # Batched and padded: padding must not enter the mean.
    inputs = tokenizer([p for p, _ in ITEMS], [c for _, c in ITEMS], padding=True, return_tensors="pt")
    with torch.no_grad():
        rewards = model(**inputs).logits[:, 0].tolist()
    assert rewards == pytest.approx(scorer_rewards(mean_checkpoint), abs=1e-5)
    # The class from the checkpoint's file, not Arbiter's package.
    assert type(model).__module__.startswith("transformers_modules.")


def test_a_pipeline_with_trust_remote_code_scores_as_the_scorer(mean_checkpoint):
    from transformers import pipeline

    reward_pipeline = pipeline("text-classification", model=str(mean_checkpoint), trust_remote_code=True, function_to_apply="none")
    rewards = [reward_pipeline({"text": p, "text_pair": c})["score"] for p, c in ITEMS]
    assert rewards == pytest.approx(scorer_rewards(mean_checkpoint), abs=1e-5)


def test_one_text_instead_of_the_pair_is_refused_by_the_model(mean_checkpoint):
    """What a pipeline given a string, or tokenizer(prompt + completion), would make of it."""
    from transformers import AutoTokenizer, pipeline

    reward_pipeline = pipeline("text-classification", model=str(mean_checkpoint), trust_remote_code=True, function_to_apply="none")
    # The checkpoint's modeling_arbiter.WrongInput, a ValueError.
    with pytest.raises(ValueError, match="these inputs are one text.*arbiter_reward.LocalReward"):
        reward_pipeline("human: hi. assistant: the cat is good")
    model = MeanPooledBertForSequenceClassification.from_pretrained(mean_checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(mean_checkpoint, trust_remote_code=True)
    # TRL's path form: prompt + completion as one text, add_special_tokens=False.
    joined = tokenizer(["human: hi. assistant: the cat is good"], add_special_tokens=False, return_tensors="pt")
    with pytest.raises(WrongInput, match="do not start with \\[CLS\\]"):
        model(**joined)


def make_grpo_trainer(checkpoint, output_dir, **config):
    """TRL's GRPOTrainer given the checkpoint folder as its reward, with a random 1-layer GPT-2
    policy on the checkpoint's tokenizer (as examples/rlhf_loop.py builds one)."""
    from datasets import Dataset
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint, trust_remote_code=True)
    tokenizer.eos_token = tokenizer.sep_token  # GRPO stops generation at eos
    torch.manual_seed(0)
    policy = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=16, n_layer=1, n_head=2,
                                        eos_token_id=tokenizer.sep_token_id, pad_token_id=tokenizer.pad_token_id))  # fmt: skip
    args = GRPOConfig(output_dir=str(output_dir), max_steps=1, per_device_train_batch_size=2, num_generations=2,
                      max_completion_length=8, bf16=False, gradient_checkpointing=False, report_to="none",
                      save_strategy="no", disable_tqdm=True, **config)  # fmt: skip
    return GRPOTrainer(model=policy, reward_funcs=str(checkpoint), args=args, processing_class=tokenizer,
                       train_dataset=Dataset.from_dict({"prompt": [p for p, _ in ITEMS]}))  # fmt: skip


def test_trl_grpo_path_form_refuses_a_mean_pooled_checkpoint(mean_checkpoint, tmp_path):
    pytest.importorskip("trl")
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        make_grpo_trainer(mean_checkpoint, tmp_path)


def test_trl_grpo_path_form_with_trust_remote_code_refuses_to_score(mean_checkpoint, tmp_path):
    """It loads the model then, but feeds it prompt + completion as one text without [CLS]."""
    pytest.importorskip("trl")
    trainer = make_grpo_trainer(mean_checkpoint, tmp_path, trust_remote_code=True)
    prompts, completions = [p for p, _ in ITEMS], [c for _, c in ITEMS]
    with pytest.raises(ValueError, match="do not start with \\[CLS\\].*TRL's reward_funcs=<checkpoint folder>.*LocalReward"):
        trainer._calculate_rewards([{"prompt": p} for p in prompts], prompts, completions, None)


def test_local_reward_scores_new_and_old_checkpoints_as_the_scorer(mean_checkpoint, tmp_path):
    old = as_published_before(mean_checkpoint, tmp_path / "v1")
    expected = scorer_rewards(mean_checkpoint)
    assert LocalReward(mean_checkpoint, device="cpu").score(ITEMS) == pytest.approx(expected, abs=1e-5)
    assert LocalReward(old, device="cpu").score(ITEMS) == pytest.approx(expected, abs=1e-5)


def test_a_checkpoint_published_before_still_scores_identically(mean_checkpoint, tmp_path, toy_pairs):
    """Through the Scorer and checkpoint evaluation, by the mean its arbiter.json records."""
    old = as_published_before(mean_checkpoint, tmp_path / "v1")
    assert scorer_rewards(old) == pytest.approx(scorer_rewards(mean_checkpoint), abs=1e-6)
    pairs = toy_pairs(8, seed=2)
    assert evaluate_checkpoint(old, pairs) == pytest.approx(evaluate_checkpoint(mean_checkpoint, pairs))
    # And by the hook that pooled it then (arbiter_reward.use_pooling), on the plain BERT.
    from transformers import AutoModelForSequenceClassification

    from arbiter_reward import use_pooling
    from rewardtrain.data import encode_pair_text
    from rewardtrain.scoring import score_encodings

    scorer = Scorer.load(old, device="cpu")
    hooked = use_pooling(AutoModelForSequenceClassification.from_pretrained(old), "mean").eval()
    encodings = [encode_pair_text(scorer.tokenizer, p, c, MAX_LENGTH) for p, c in ITEMS]
    assert score_encodings(hooked, encodings, scorer.tokenizer.pad_token_id) == pytest.approx(scorer_rewards(old), abs=1e-5)


def test_a_version_published_before_can_be_warm_started_from(mean_checkpoint, tmp_path, toy_pairs, tiny_model):
    old = as_published_before(mean_checkpoint, tmp_path / "v1")
    result = train(toy_pairs(16, seed=3), [], config(tiny_model), init_from=str(old))
    new = write_checkpoint(result, tmp_path / "v2", metadata={"version": 2})
    assert json.loads((new / "config.json").read_text())["model_type"] == MODEL_TYPE
    assert scorer_rewards(new) == pytest.approx(LocalReward(new, device="cpu").score(ITEMS), abs=1e-5)


def test_arbiter_never_runs_code_from_a_checkpoint_folder(mean_checkpoint, tmp_path, capfd):
    """The Scorer (the server) and LocalReward build the model and find the tokenizer with the
    arbiter_reward package's classes: a modeling_arbiter.py changed in the folder is never
    imported, and transformers never asks whether to run it."""
    folder = tmp_path / "v1"
    shutil.copytree(mean_checkpoint, folder)
    (folder / "modeling_arbiter.py").write_text("raise SystemExit('checkpoint code ran')\n")
    scorer = Scorer.load(folder, device="cpu")
    assert type(scorer.model) is MeanPooledBertForSequenceClassification
    assert scorer.score(ITEMS) == pytest.approx(scorer_rewards(mean_checkpoint), abs=1e-6)
    assert type(LocalReward(folder, device="cpu").model) is MeanPooledBertForSequenceClassification
    assert "custom code" not in "".join(capfd.readouterr())


def test_the_manifest_covers_the_modeling_file(mean_checkpoint, tmp_path):
    folder = tmp_path / "root" / "v1"
    shutil.copytree(mean_checkpoint, folder)
    listed = {entry["path"] for entry in json.loads((folder / "manifest.json").read_text())["files"]}
    assert {"modeling_arbiter.py", "arbiter_reward.py", "config.json"} <= listed
    verify_checkpoint(folder, root=folder.parent)
    code = (folder / "modeling_arbiter.py").read_text()
    (folder / "modeling_arbiter.py").write_text(code.replace("clamp(min=1.0)", "clamp(min=2.0)"))
    with pytest.raises(CheckpointInvalid, match="modeling_arbiter.py does not match"):
        verify_checkpoint(folder, root=folder.parent)


def test_a_cls_checkpoint_stays_plain_bert_that_any_loader_reads(cls_checkpoint):
    """TEI and vLLM can serve it; plain transformers gives the Scorer's reward for the text pair."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    values = json.loads((cls_checkpoint / "config.json").read_text())
    assert values["model_type"] == "bert" and "auto_map" not in values
    model = AutoModelForSequenceClassification.from_pretrained(cls_checkpoint).eval()
    tokenizer = AutoTokenizer.from_pretrained(cls_checkpoint)
    inputs = tokenizer([p for p, _ in ITEMS], [c for _, c in ITEMS], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert model(**inputs).logits[:, 0].tolist() == pytest.approx(scorer_rewards(cls_checkpoint), abs=1e-5)


def test_trl_grpo_path_form_loads_a_cls_checkpoint_but_scores_otherwise(cls_checkpoint, tmp_path):
    """Why the card sends TRL users to LocalReward even for [CLS] checkpoints: TRL joins prompt and
    completion into one text without [CLS] and [SEP]."""
    pytest.importorskip("trl")
    trainer = make_grpo_trainer(cls_checkpoint, tmp_path)
    prompts, completions = [p for p, _ in ITEMS], [c for _, c in ITEMS]
    trl_rewards = trainer._calculate_rewards([{"prompt": p} for p in prompts], prompts, completions, None)[:, 0].tolist()
    expected = scorer_rewards(cls_checkpoint)
    assert all(abs(t - e) > 1e-4 for t, e in zip(trl_rewards, expected))
    assert LocalReward(cls_checkpoint, device="cpu").score(ITEMS) == pytest.approx(expected, abs=1e-5)
    # Nor does TRL truncate: past the 512 positions the reward model fails.
    long = ["the cat is good " * 200]
    with pytest.raises((IndexError, RuntimeError)):
        trainer._calculate_rewards([{"prompt": "hi"}], ["hi"], long, None)
    assert len(LocalReward(cls_checkpoint, device="cpu")(["hi"], long)) == 1


def test_a_mean_pooled_model_whose_arbiter_json_says_cls_is_refused(mean_checkpoint, tmp_path):
    """config.json's model type and arbiter.json's pooling must agree: neither loader guesses."""
    from arbiter_reward import UnsupportedEncoding

    folder = tmp_path / "v1"
    shutil.copytree(mean_checkpoint, folder)
    meta = json.loads((folder / "arbiter.json").read_text())
    meta["encoding"]["pooling"] = "cls"
    (folder / "arbiter.json").write_text(json.dumps(meta))
    with pytest.raises(UnsupportedEncoding, match="v1 is a mean-pooled model.*pooling 'cls'"):
        Scorer.load(folder, device="cpu")
    with pytest.raises(UnsupportedEncoding, match="mean-pooled"):
        LocalReward(folder, device="cpu")
