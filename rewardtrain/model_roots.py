"""Which folders a base model may load from (ARBITER_MODEL_ROOTS): the check training runs and
the choices the project settings page offers.

Torch-free and free of either app's models, so the console (annotator) and the training
runs (rewardtrain.runs) both use it without importing each other.
"""

from pathlib import Path

from django.conf import settings

from rewardtrain.config import InvalidTrainingOptions, default_base_model
from rewardtrain.packaged_bases import PACKAGED_BASES

DEFAULT_CHOICE_LABEL = "Default (ARBITER_BASE_MODEL, else the packaged all-MiniLM-L6-v2)"


def base_model_check(base_model: str, *, source: str) -> None:
    """Raise InvalidTrainingOptions unless `base_model` ("" = the packaged model) is a loadable
    model folder (model_folder_lacks nothing) under one of ARBITER_MODEL_ROOTS once symlinks are
    resolved.

    Loading a model trusts its files, so they come only from folders the operator chose. The
    message names where the setting came from, not the path: leads read it in the API.
    """
    try:
        folder = Path(base_model or default_base_model()).resolve()
        roots = [Path(root).resolve() for root in settings.ARBITER_MODEL_ROOTS]
    except (OSError, ValueError):  # e.g. a NUL byte in the path
        raise InvalidTrainingOptions(f"{source} is not a valid folder name") from None
    if not any(folder.is_relative_to(root) for root in roots):
        raise InvalidTrainingOptions(f"{source} is not under ARBITER_MODEL_ROOTS, the only folders base models load from")
    if not folder.is_dir():
        raise InvalidTrainingOptions(f"{source} is not a folder")
    lacks = model_folder_lacks(folder)
    if lacks:
        raise InvalidTrainingOptions(f"{source} is not a loadable model folder: it has no {' and no '.join(lacks)}")


# What transformers' from_pretrained needs in a folder, one of each group. A packaged model's
# sub-folders (sentence-transformers' 1_Pooling has a config.json) lack the weights and the
# tokenizer, and training would fail on them with an unrelated tokenizer error.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
# A vocabulary: tokenizer_config.json alone only configures one.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "tokenizer.model", "sentencepiece.bpe.model")


def model_folder_lacks(folder: Path) -> list[str]:
    """What `folder` lacks to load as a base model: config.json, weights, a tokenizer; [] for none."""
    lacks = [] if (folder / "config.json").is_file() else ["config.json"]
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        lacks.append("weights (model.safetensors, pytorch_model.bin or a sharded index)")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        lacks.append("tokenizer (tokenizer.json, vocab.txt, vocab.json or a SentencePiece model)")
    return lacks


def choice_label(folder: Path, root: Path) -> str:
    """"name (root)", and for a base Arbiter knows by that name (make base-mpnet) what it costs."""
    known = PACKAGED_BASES.get(folder.name)
    return f"{folder.name} ({root})" + (f": {known.cost}" if known else "")


def base_model_choices(*, current=""):
    """[(value, label)] for a project's base model: the default, then every loadable model folder
    (model_folder_lacks nothing) that is a root in ARBITER_MODEL_ROOTS or directly inside one. The
    project's current value stays listed, so opening the form never changes it silently."""
    choices = [("", DEFAULT_CHOICE_LABEL)]
    for root in settings.ARBITER_MODEL_ROOTS:
        root = Path(root)
        folders = [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []
        choices += [(str(p), choice_label(p, root)) for p in folders if not model_folder_lacks(p)]
    if current and current not in {value for value, _ in choices}:
        choices.append((current, f"{current} (current)"))
    return choices
