"""Which folders a base model may load from (ARBITER_MODEL_ROOTS): the check training runs and
the choices the project settings page offers.

Torch-free and free of either app's models, so the console (annotator) and the trainer's
services both use it without importing each other.
"""

from pathlib import Path

from django.conf import settings

from rewardtrain.config import InvalidTrainingOptions, default_base_model

DEFAULT_CHOICE_LABEL = "Default (ARBITER_BASE_MODEL, else the packaged all-MiniLM-L6-v2)"


def base_model_check(base_model: str, *, source: str) -> None:
    """Raise InvalidTrainingOptions unless `base_model` ("" = the packaged model) is a folder
    under one of ARBITER_MODEL_ROOTS once symlinks are resolved.

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


def base_model_choices(*, current=""):
    """[(value, label)] for a project's base model: the default, then every model folder (one
    with a config.json) that is a root in ARBITER_MODEL_ROOTS or directly inside one. The
    project's current value stays listed, so opening the form never changes it silently."""
    choices = [("", DEFAULT_CHOICE_LABEL)]
    for root in settings.ARBITER_MODEL_ROOTS:
        root = Path(root)
        folders = [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []
        choices += [(str(p), f"{p.name} ({root})") for p in folders if (p / "config.json").is_file()]
    if current and current not in {value for value, _ in choices}:
        choices.append((current, f"{current} (current)"))
    return choices
