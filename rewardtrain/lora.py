"""LoRA through peft: adapters on a reward model's layers, the head trained fully, and the two
ways a LoRA model is published (merged into plain weights, or base + adapter kept apart).

peft is imported only when LoRA is asked for: a run without it, and every loader of a merged
checkpoint, needs none.
"""

from __future__ import annotations

from pathlib import Path

from arbiter_reward.reward import LORA_ADAPTER_FOLDER, LORA_BASE_FOLDER
from rewardtrain.config import InvalidTrainingOptions, TrainConfig, lora_targets

# The one-output (or one-per-label) head of a sequence classifier: BERT's "classifier", a
# decoder's (Qwen, Llama, Mistral, GPT-2) "score". Trained fully, never through an adapter.
HEAD_MODULES = ("classifier", "score")


def peft_module():
    try:
        import peft
    except ImportError:
        raise InvalidTrainingOptions("lora_r asks for LoRA, which needs peft: pip install peft") from None
    return peft


def head_modules(model) -> list[str]:
    import torch

    return [name for name in HEAD_MODULES if isinstance(getattr(model, name, None), torch.nn.Module)]


def apply_lora(model, config: TrainConfig):
    """`model` wrapped in LoRA adapters of rank config.lora_r: only the adapters and the head
    train (peft freezes the rest)."""
    peft = peft_module()
    model_config = model.config.to_dict()
    targets = config.lora_target_modules or lora_targets(model_config)
    if not targets:
        config.check_for_model(model_config)  # raises: no default targets for this type
    head = head_modules(model)
    if not head:
        raise InvalidTrainingOptions(f"LoRA: {type(model).__name__} has no head named {' or '.join(HEAD_MODULES)} to train fully")
    lora = peft.LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(targets),
        modules_to_save=head,
    )
    try:
        return peft.get_peft_model(model, lora)
    except ValueError as error:  # e.g. a target module name the model does not have
        raise InvalidTrainingOptions(f"LoRA on target modules {', '.join(targets)}: {error}") from None


def is_lora(model) -> bool:
    try:
        from peft import PeftModel
    except ImportError:
        return False
    return isinstance(model, PeftModel)


def merged(model):
    """A LoRA model's plain transformers model, the adapters added into its weights and the
    trained head in place of the original; any other model as it is."""
    return model.merge_and_unload() if is_lora(model) else model


def save_model(model, folder: Path) -> None:
    """A plain model as config.json + weights in `folder`; a LoRA model as an adapter
    checkpoint: the base's weights (without adapters) in base/, peft's adapter in adapter/."""
    if not is_lora(model):
        model.save_pretrained(folder)
        return
    base = model.get_base_model()
    base.save_pretrained(folder / LORA_BASE_FOLDER, state_dict=base_state_dict(model))
    model.save_pretrained(folder / LORA_ADAPTER_FOLDER)


def base_state_dict(model) -> dict:
    """The base model's weights inside the LoRA model `model`, under their own names: without
    the adapters, each wrapped layer's original weight, each head's original module."""
    adapter = model.active_adapter
    weights = {}
    for name, tensor in model.get_base_model().state_dict().items():
        if ".lora_" in name or f".modules_to_save.{adapter}." in name:
            continue
        name = name.replace(".base_layer.", ".").replace(".original_module.", ".")
        weights[name] = tensor
    return weights
