"""Which kind of base model a folder holds, and so what its reward head reads: Django-free, no
torch (config.json is enough), so that starting a run can check its options cheaply.

A BERT-style encoder (BERT, RoBERTa, MiniLM, MPNet...) reads the mean of its token states or
its [CLS] pooler; a decoder LM (Qwen2/3, Llama, Mistral, GPT-2...) reads its last real token,
as transformers' *ForSequenceClassification of those families, TEI and vLLM do.
"""

from __future__ import annotations

from dataclasses import replace

from arbiter_reward.reward import CLS_POOLER, LAST_TOKEN, MEAN_POOLING
from rewardtrain.config import InvalidTrainingOptions, TrainConfig, default_base_model, saved_model_config

# config.json model types whose transformers sequence classifier reads the last non-pad token.
DECODER_MODEL_TYPES = frozenset(
    {"qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "llama", "mistral", "mixtral", "gpt2", "gemma", "gemma2", "gemma3_text", "phi3"}
)
# Model types whose classifier reads a pooled first token, whatever their config's is_decoder or
# architectures say (a BERT saved as BertLMHeadModel, a RobertaForCausalLM, are still encoders).
ENCODER_MODEL_TYPES = frozenset(
    {"bert", "arbiter_mean_pooled_bert", "roberta", "xlm-roberta", "distilbert", "deberta", "deberta-v2",
     "electra", "mpnet", "albert", "modernbert"}
)  # fmt: skip


# Encoders Arbiter's mean-pooled head (arbiter_reward.modeling_arbiter) is built for; any other
# encoder's classifier reads its first token (<s>, [CLS]) through its own head, pooling "cls".
MEAN_POOLED_MODEL_TYPES = frozenset({"bert", "arbiter_mean_pooled_bert"})


def is_decoder_lm(config: dict) -> bool:
    """Whether a config.json describes a decoder LM: a known decoder type; not a known encoder
    type; otherwise an unknown type saved as a causal LM (architectures *ForCausalLM, or is_decoder)."""
    model_type = config.get("model_type")
    if model_type in DECODER_MODEL_TYPES:
        return True
    if model_type in ENCODER_MODEL_TYPES:
        return False
    return bool(config.get("is_decoder")) or any(name.endswith("ForCausalLM") for name in config.get("architectures") or ())


def pooling_for(config: dict, requested: str) -> str:
    """What the head of the model with this config.json reads, given the run's `pooling` option:
    a decoder LM always its last token ("mean", the default, becomes "last_token"); a BERT "mean"
    or "cls"; another encoder (RoBERTa, MPNet...) "cls", its own head ("mean" becomes "cls").
    InvalidTrainingOptions for a pooling the model cannot do."""
    if is_decoder_lm(config):
        if requested == CLS_POOLER:
            raise InvalidTrainingOptions(
                f"pooling {CLS_POOLER!r} is a BERT-style encoder's; {config.get('model_type')!r} is a decoder LM, "
                f"whose head reads its last token ({LAST_TOKEN!r})"
            )
        return LAST_TOKEN
    if requested == LAST_TOKEN:
        raise InvalidTrainingOptions(
            f"pooling {LAST_TOKEN!r} is a decoder LM's; {config.get('model_type')!r} is a BERT-style encoder: "
            f"use {MEAN_POOLING!r} or {CLS_POOLER!r}"
        )
    if requested == MEAN_POOLING and config.get("model_type") not in MEAN_POOLED_MODEL_TYPES:
        return CLS_POOLER  # Arbiter's mean-pooled head is BERT's; the others' own heads read the first token
    return requested


def with_base_pooling(config: TrainConfig, start_from: str | None = None) -> TrainConfig:
    """`config` with the pooling its base model (or `start_from`, a checkpoint to warm-start
    from, of the same family) reads: see pooling_for."""
    path = start_from or config.base_model or default_base_model()
    return replace(config, pooling=pooling_for(saved_model_config(path), config.pooling))
