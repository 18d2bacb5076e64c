"""Arbiter's mean-pooled BERT reward model: the head reads the mean of the last hidden states
over the real tokens, inside the model, so no hook is needed.

Arbiter copies this one file into every mean-pooled checkpoint as `modeling_arbiter.py`, and
its config.json names it (`"model_type": "arbiter_mean_pooled_bert"` and an `auto_map`):

- `AutoModelForSequenceClassification.from_pretrained(dir, trust_remote_code=True)` runs this
  file and scores exactly as Arbiter does.
- Without trust_remote_code transformers refuses the folder (it cannot know the model type),
  and so do TEI, vLLM and TRL's `reward_funcs="<dir>"`. A plain BERT would load instead and
  its head would read the [CLS] pooler, which this model never trained: a wrong reward, silently.
- Arbiter (the Scorer, training, `arbiter_reward.LocalReward`) imports these classes from its
  own package and never runs code from a checkpoint folder.

The model also refuses inputs that are not Arbiter's text pair `[CLS] prompt [SEP] completion
[SEP]` (see `check_text_pair`): TRL's path form, for one, concatenates prompt and completion
into one text without [CLS], which would score wrongly even with this file loaded.

Self-contained (torch and transformers only): transformers imports it on its own.
"""

from __future__ import annotations

import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel

MODEL_TYPE = "arbiter_mean_pooled_bert"
# What config.json names, so that transformers finds the classes in this file (copied beside it).
AUTO_MAP = {
    "AutoConfig": "modeling_arbiter.MeanPooledBertConfig",
    "AutoModelForSequenceClassification": "modeling_arbiter.MeanPooledBertForSequenceClassification",
}


class WrongInput(ValueError):
    """Inputs that are not the text pair this model was trained on."""


class MeanPooledBertConfig(BertConfig):
    """BERT's configuration under Arbiter's model type; `cls_token_id` (saved by Arbiter) lets
    the model check that each input starts with [CLS]."""

    model_type = MODEL_TYPE


class MeanPooledBertModel(BertModel):
    """BertModel whose pooled output is the mean of the last hidden states over the tokens the
    attention mask marks real (padding never enters it). The [CLS] pooler's weights stay, so the
    weights file is laid out as BERT's, but nothing reads its output."""

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        output = super().forward(input_ids, attention_mask=attention_mask, **kwargs)
        hidden = output.last_hidden_state
        mask = hidden.new_ones(hidden.shape[:2]) if attention_mask is None else attention_mask.to(hidden.dtype)
        mask = mask.unsqueeze(-1)
        output.pooler_output = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return output


class MeanPooledBertForSequenceClassification(BertForSequenceClassification):
    """BERT's sequence classifier (dropout + linear head, same weights) reading the mean pooling."""

    config_class = MeanPooledBertConfig

    def __init__(self, config):
        super().__init__(config)
        self.bert = MeanPooledBertModel(config)
        self.bert.pooler.requires_grad_(False)  # unused: no gradient, no optimiser state
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
        check_text_pair(input_ids, token_type_ids, getattr(self.config, "cls_token_id", None))
        return super().forward(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, **kwargs)


def check_text_pair(input_ids, token_type_ids, cls_token_id) -> None:
    """WrongInput unless every row is a text pair: it starts with [CLS] and has second-segment
    tokens (token type 1), as `tokenizer(prompt, completion)` makes it.

    One text, `tokenizer(prompt + completion)`, TRL's path form or a pipeline given a string
    instead of {"text", "text_pair"}, would score without error and wrongly.
    """
    if input_ids is None:  # inputs_embeds: the caller built the input itself
        return
    one_text = token_type_ids is None or not bool((token_type_ids == 1).any(dim=1).all())
    no_cls = cls_token_id is not None and not bool((input_ids[:, 0] == cls_token_id).all())
    if one_text or no_cls:
        raise WrongInput(
            "this Arbiter reward model reads the text pair [CLS] prompt [SEP] completion [SEP], as "
            "tokenizer(prompt, completion) encodes it (with its token_type_ids); "
            + ("these inputs do not start with [CLS]" if no_cls else "these inputs are one text")
            + ", which would score wrongly. TRL's reward_funcs=<checkpoint folder> joins prompt and completion so: "
            "use arbiter_reward.LocalReward(<checkpoint folder>) instead (see the checkpoint's README.md)"
        )


def mean_pooled_config(path, **overrides) -> MeanPooledBertConfig:
    """The configuration in `path` (a BERT's, or one of this type) as this model type's, with
    `overrides` (e.g. num_labels) applied and `auto_map` naming this file. Used by Arbiter's
    loaders (arbiter_reward.reward.load_reward_model), which check the model type first."""
    values, _ = BertConfig.get_config_dict(str(path))
    values = {k: v for k, v in values.items() if k not in ("model_type", "architectures", "auto_map")}
    config = MeanPooledBertConfig.from_dict(values, **overrides)
    config.auto_map = dict(AUTO_MAP)
    return config


__all__ = ["MODEL_TYPE", "MeanPooledBertConfig", "MeanPooledBertForSequenceClassification", "check_text_pair"]
