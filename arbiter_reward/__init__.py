"""Arbiter reward models as reward functions: `LocalReward` (a checkpoint folder) and
`RemoteReward` (Arbiter's scoring API). Django-free; needs only torch and transformers.
`modeling_arbiter` (imported on use: it imports transformers) is the mean-pooled model type that
checkpoints carry for `trust_remote_code` loaders; `load_reward_model` builds it from here."""

from .export_features import export_features  # needs datasets, imported when called
from .reward import (
    LocalReward,
    RemoteReward,
    RewardServerError,
    UnsupportedEncoding,
    encode,
    encode_decoder_text,
    encode_pair_text,
    encoding_spec,
    load_reward_model,
    load_tokenizer,
    split_at_last_assistant_turn,
    use_pooling,
)

__all__ = [
    "LocalReward",
    "RemoteReward",
    "RewardServerError",
    "UnsupportedEncoding",
    "encode",
    "encode_decoder_text",
    "encode_pair_text",
    "encoding_spec",
    "export_features",
    "load_reward_model",
    "load_tokenizer",
    "split_at_last_assistant_turn",
    "use_pooling",
]
