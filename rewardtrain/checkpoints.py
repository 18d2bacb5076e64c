"""Publishing checkpoints atomically: a half-written model is never visible.

Everything is written into a hidden temporary folder beside the target (same filesystem), then
renamed into place with one `os.replace`. A worker killed mid-write leaves only a hidden
`.<name>.tmp-*` folder, which `cleanup_partial` removes.

The last file written before the rename is `manifest.json`: every other file's relative path,
size and sha256. `verify_checkpoint` checks a folder against it before anything loads it, so a
truncated copy, a flipped byte, a missing or added file, or a symlink planted in (or as) the
folder is refused instead of served. The manifest alone guards against corruption and
accidents only: whoever can write the folder can also rewrite it. So the manifest's own sha256
and size (`manifest_pin`) are recorded outside the folder at publish (on the version's row), and
`verify_checkpoint` given that pin refuses a manifest that changed since.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from arbiter_reward import reward as reward_module
from arbiter_reward.reward import LORA_ADAPTER_FOLDER, LORA_BASE_FOLDER, encoding_for
from rewardtrain.lora import is_lora, save_model
from rewardtrain.model_card import base_model_name, model_card

if TYPE_CHECKING:  # the trainer imports torch; publishing and verifying need none of it
    from rewardtrain.training import TrainResult

# Published files are readable by group and others, folders searchable where readable, so that
# a scoring or serving process under another user can load them (settings.ARBITER_CHECKPOINT_MODE).
DEFAULT_FILE_MODE = 0o644
METADATA_FILE = "arbiter.json"
MANIFEST_FILE = "manifest.json"
TEMP_MARKER = ".tmp-"
MODELING_FILE = Path(reward_module.__file__).with_name("modeling_arbiter.py")  # not imported: it needs transformers
HASH_CHUNK = 1 << 20


class CheckpointInvalid(ValueError):
    """A checkpoint folder that does not match its manifest. The message names files relative
    to the folder, never a filesystem path: it is shown to API users."""


class ManifestMissing(CheckpointInvalid):
    """A folder without manifest.json, e.g. one published before manifests existed."""


class ManifestChanged(CheckpointInvalid):
    """manifest.json is not the one published: its bytes differ from the recorded pin."""


class ManifestPin(NamedTuple):
    """What was published: the sha256 and size of manifest.json's bytes."""

    sha256: str
    size: int


def folder_mode(file_mode: int) -> int:
    """The mode of a checkpoint's folders for `file_mode`: searchable (x) by whoever may read (r)."""
    return file_mode | (file_mode & 0o444) >> 2


def check_file_mode(file_mode: int) -> int:
    """`file_mode` if it is a plain permission mode that lets the owner read and write (the
    trainer rewrites and removes its folders); ValueError otherwise."""
    if not isinstance(file_mode, int) or file_mode & ~0o777 or file_mode & 0o600 != 0o600:
        raise ValueError(f"checkpoint file mode {file_mode!r} must be an octal mode from 0600 to 0777 that the owner can read and write, e.g. 0644")
    return file_mode


def write_checkpoint(result: TrainResult, target_dir: Path, *, metadata: dict, file_mode: int = DEFAULT_FILE_MODE) -> Path:
    """Write model, tokenizer, arbiter.json and a model card, then publish them in one rename.

    Every file gets `file_mode` and every folder `folder_mode(file_mode)`, whatever the umask
    (mkdtemp makes its folder 0700, and safetensors may write 0600).
    """
    check_file_mode(file_mode)
    target_dir = Path(target_dir)
    if target_dir.exists():
        raise FileExistsError(f"checkpoint {target_dir} already exists")
    created = [folder for folder in [target_dir.parent, *target_dir.parent.parents] if not folder.exists()]
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    for folder in created:  # e.g. a project's first version: its folder, readable alike
        folder.chmod(folder_mode(file_mode))
    temp = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}{TEMP_MARKER}", dir=target_dir.parent))
    try:
        config = result.config
        # By name, never the server's path: arbiter.json travels with the checkpoint.
        base_model = base_model_name(metadata.get("base_model") or config.base_model)
        full = {
            **metadata,
            "metrics": result.metrics,
            "train_config": {**config.to_dict(), "base_model": base_model},
            "base_model": base_model,
            "history": result.history,
            # LocalReward refuses one it does not implement; a decoder's says whether its chat template renders the input.
            "encoding": encoding_for(result.tokenizer, config.max_length, config.pooling),
            "head": result.head,  # which output is the reward (a classifier's positive label)
        }
        if is_lora(result.model):  # published unmerged (lora_merge=False): say what a loader needs
            full["lora_adapter"] = {
                "base": LORA_BASE_FOLDER,
                "adapter": LORA_ADAPTER_FOLDER,
                "loads_with": "arbiter_reward.LocalReward, or peft: PeftModel.from_pretrained(base model, adapter folder)",
            }
        meta_text = json.dumps(full, indent=2, sort_keys=True)  # fails early on unserialisable metadata
        result.model.config.problem_type = None  # one raw logit, no regression/classification loss implied
        save_model(result.model, temp)  # model.safetensors + config.json, or a LoRA adapter checkpoint's base/ and adapter/
        # Saved so that a plain tokenizer(prompt, completion, truncation="only_first") cuts the
        # prompt from its start at max_length, as Arbiter does.
        # (transformers 5 saves truncation_side only from init_kwargs.)
        tokenizer = result.tokenizer
        saved = tokenizer.truncation_side, tokenizer.model_max_length, dict(tokenizer.init_kwargs)
        tokenizer.truncation_side, tokenizer.model_max_length = "left", config.max_length
        tokenizer.init_kwargs.update(truncation_side="left", model_max_length=config.max_length)
        try:
            tokenizer.save_pretrained(temp)
        finally:
            tokenizer.truncation_side, tokenizer.model_max_length, tokenizer.init_kwargs = saved
        (temp / METADATA_FILE).write_text(meta_text)
        # The scoring client, so the folder alone scores as Arbiter does with torch and transformers,
        # and the mean-pooled model type that a mean-pooled config.json names in its auto_map
        # (mean_pooled_config sets it): transformers runs it only with trust_remote_code.
        shutil.copyfile(reward_module.__file__, temp / "arbiter_reward.py")
        shutil.copyfile(MODELING_FILE, temp / MODELING_FILE.name)
        (temp / "README.md").write_text(model_card(full, target_dir.name))
        write_manifest(temp)
        set_modes(temp, file_mode)
        fsync_tree(temp)
        if target_dir.exists():  # someone published the same name meanwhile
            raise FileExistsError(f"checkpoint {target_dir} already exists")
        os.replace(temp, target_dir)
        fsync_dir(target_dir.parent)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return target_dir


def set_modes(folder: Path, file_mode: int) -> None:
    """`file_mode` on every file under `folder`, folder_mode(file_mode) on it and its folders."""
    for path in folder.rglob("*"):
        path.chmod(folder_mode(file_mode) if path.is_dir() else file_mode)
    folder.chmod(folder_mode(file_mode))


def read_metadata(path: str | Path) -> dict:
    """arbiter.json of a checkpoint ({} when it has none, e.g. a plain base model)."""
    meta = Path(path) / METADATA_FILE
    return json.loads(meta.read_text()) if meta.exists() else {}


def write_manifest(folder: Path) -> None:
    """manifest.json: path, size and sha256 of every file in `folder` (written last)."""
    files = [
        {"path": rel, "size": (folder / rel).stat().st_size, "sha256": file_sha256(folder / rel)}
        for rel in sorted(_walk_files(folder))
        if rel != MANIFEST_FILE
    ]
    (folder / MANIFEST_FILE).write_text(json.dumps({"algorithm": "sha256", "files": files}, indent=2))


def manifest_pin(folder: str | Path) -> ManifestPin:
    """The pin of `folder`'s manifest.json as it is now; ManifestMissing when it has none."""
    try:
        data = (Path(folder) / MANIFEST_FILE).read_bytes()
    except FileNotFoundError:
        raise ManifestMissing(f"{MANIFEST_FILE} is missing") from None
    return ManifestPin(sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def verify_checkpoint(folder: str | Path, *, root: str | Path, pin: ManifestPin | None = None) -> None:
    """Raise CheckpointInvalid unless `folder` is a real folder inside `root` holding exactly
    the files its manifest lists, each with the listed size and sha256; and, given the `pin`
    recorded at publish, unless the manifest is byte for byte the one published (ManifestChanged).
    Without a pin (a version published before pins) the manifest is taken on trust.

    A file the manifest does not list is refused too: from_pretrained picks up whatever it
    finds (another weights file, an index, added tokens), so an extra file can change what
    loads. Symlinks are refused wherever they are; `root` itself may be one.
    """
    folder = Path(folder)
    if folder.is_symlink():
        raise CheckpointInvalid("the checkpoint folder is a symbolic link")
    if not folder.is_dir():
        raise CheckpointInvalid("the checkpoint folder is missing")
    resolved_root = Path(root).resolve()
    resolved = folder.resolve()
    if resolved == resolved_root or not resolved.is_relative_to(resolved_root):
        raise CheckpointInvalid("the checkpoint folder is outside the checkpoint root")
    try:
        data = (folder / MANIFEST_FILE).read_bytes()
    except FileNotFoundError:
        raise ManifestMissing(f"{MANIFEST_FILE} is missing") from None
    except OSError:
        raise CheckpointInvalid(f"{MANIFEST_FILE} is unreadable") from None
    # The bytes checked against the pin are the bytes parsed: no second read to swap in between.
    if pin is not None and len(data) != pin.size:
        raise ManifestChanged(f"manifest changed since publish: {MANIFEST_FILE} is {len(data)} bytes, {pin.size} were published")
    if pin is not None and hashlib.sha256(data).hexdigest() != pin.sha256:
        raise ManifestChanged(f"manifest changed since publish: {MANIFEST_FILE} does not match the sha256 recorded at publish")
    try:
        manifest = json.loads(data)
        listed = {entry["path"]: entry for entry in manifest["files"]}
    except (ValueError, KeyError, TypeError):
        raise CheckpointInvalid(f"{MANIFEST_FILE} is unreadable") from None
    present = _walk_files(folder) - {MANIFEST_FILE}
    missing, extra = sorted(set(listed) - present), sorted(present - set(listed))
    if missing:
        raise CheckpointInvalid(f"missing: {', '.join(missing)}")
    if extra:
        raise CheckpointInvalid(f"not in the manifest: {', '.join(extra)}")
    for rel in sorted(present):
        size = (folder / rel).stat().st_size
        if size != listed[rel].get("size"):
            raise CheckpointInvalid(f"{rel} is {size} bytes, the manifest says {listed[rel].get('size')}")
        if file_sha256(folder / rel) != listed[rel].get("sha256"):
            raise CheckpointInvalid(f"{rel} does not match its sha256 in the manifest")


def _walk_files(folder: Path) -> set[str]:
    """Relative POSIX paths of the regular files under `folder`; CheckpointInvalid on a symlink
    or anything else that is not a plain file or folder."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise CheckpointInvalid(f"{rel} is a symbolic link")
            if stat.S_ISREG(mode):
                found.add(rel)
            elif not stat.S_ISDIR(mode):
                raise CheckpointInvalid(f"{rel} is not a regular file")
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cleanup_partial(parent_dir: str | Path) -> list[Path]:
    """Remove temp folders left by killed writers; call when no writer is running in parent_dir."""
    removed = []
    parent = Path(parent_dir)
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        if entry.name.startswith(".") and TEMP_MARKER in entry.name and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def fsync_tree(folder: Path) -> None:
    """Best effort: flush every file and the folder itself before the rename publishes them."""
    for path in folder.rglob("*"):
        if path.is_file():
            try:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                pass
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
