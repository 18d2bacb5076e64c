"""Arbiter reward models as reward functions: `LocalReward` (a checkpoint folder) and
`RemoteReward` (Arbiter's scoring API). Django-free; needs only torch and transformers."""

from .export_features import export_features  # needs datasets, imported when called
from .reward import (
    LocalReward,
    RemoteReward,
    RewardServerError,
    UnsupportedEncoding,
    encode_pair_text,
    encoding_spec,
    split_at_last_assistant_turn,
    use_pooling,
)

__all__ = [
    "LocalReward",
    "RemoteReward",
    "RewardServerError",
    "UnsupportedEncoding",
    "encode_pair_text",
    "encoding_spec",
    "export_features",
    "split_at_last_assistant_turn",
    "use_pooling",
]
