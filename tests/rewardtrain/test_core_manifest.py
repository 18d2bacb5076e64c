"""The checkpoint manifest: written at publish time, and any change to the folder is refused."""

import hashlib
import json
import os
import shutil

import pytest

from rewardtrain.checkpoints import (
    MANIFEST_FILE,
    CheckpointInvalid,
    ManifestPin,
    manifest_pin,
    verify_checkpoint,
    write_checkpoint,
    write_manifest,
)
from rewardtrain.training import TrainConfig, train


@pytest.fixture(scope="module")
def trained(tiny_model, toy_pairs):
    config = TrainConfig(base_model=tiny_model, batch_size=8, epochs=1, threads=1, max_length=32)
    return train(toy_pairs(16), [], config)


@pytest.fixture(scope="module")
def published(trained, tmp_path_factory):
    """A pristine published checkpoint; each test corrupts its own copy."""
    return write_checkpoint(trained, tmp_path_factory.mktemp("pristine") / "v1", metadata={"version": 1})


@pytest.fixture
def root(published, tmp_path):
    shutil.copytree(published, tmp_path / "root" / "v1")
    return tmp_path / "root"


def refusal(folder, root, pin=None):
    with pytest.raises(CheckpointInvalid) as error:
        verify_checkpoint(folder, root=root, pin=pin)
    return str(error.value)


def flip_a_weights_byte(folder):
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))


def test_the_manifest_lists_every_other_file_with_its_size_and_sha256(published):
    manifest = json.loads((published / MANIFEST_FILE).read_text())
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.name for p in published.iterdir()} - {MANIFEST_FILE}
    assert set(listed) == on_disk and {"model.safetensors", "config.json", "arbiter.json", "README.md"} <= on_disk
    weights = listed["model.safetensors"]
    assert weights["size"] == (published / "model.safetensors").stat().st_size and len(weights["sha256"]) == 64
    verify_checkpoint(published, root=published.parent)


def test_transformers_still_loads_a_published_folder(published):
    """With trust_remote_code: a mean-pooled model's class is the folder's modeling_arbiter.py."""
    from transformers import AutoModelForSequenceClassification

    assert AutoModelForSequenceClassification.from_pretrained(published, trust_remote_code=True).config.num_labels == 1


def test_an_untouched_copy_verifies(root):
    verify_checkpoint(root / "v1", root=root)


def test_a_truncated_file_is_refused(root):
    weights = root / "v1" / "model.safetensors"
    size = weights.stat().st_size
    os.truncate(weights, size - 100)
    assert refusal(root / "v1", root) == f"model.safetensors is {size - 100} bytes, the manifest says {size}"


def test_a_flipped_byte_is_refused(root):
    weights = root / "v1" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    assert refusal(root / "v1", root) == "model.safetensors does not match its sha256 in the manifest"


def test_a_missing_file_is_refused(root):
    (root / "v1" / "config.json").unlink()
    assert refusal(root / "v1", root) == "missing: config.json"


def test_a_missing_or_broken_manifest_is_refused(root):
    (root / "v1" / MANIFEST_FILE).write_text("{not json")
    assert refusal(root / "v1", root) == "manifest.json is unreadable"
    (root / "v1" / MANIFEST_FILE).unlink()
    assert refusal(root / "v1", root) == "manifest.json is missing"


def test_an_extra_file_is_refused_because_from_pretrained_would_read_it(root):
    (root / "v1" / "pytorch_model.bin").write_bytes(b"other weights")
    assert refusal(root / "v1", root) == "not in the manifest: pytorch_model.bin"


def test_a_version_folder_that_is_a_symlink_out_of_the_root_is_refused(root, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.copytree(root / "v1", outside)
    (root / "v2").symlink_to(outside, target_is_directory=True)
    assert refusal(root / "v2", root) == "the checkpoint folder is a symbolic link"


def test_a_folder_reached_through_a_symlinked_parent_outside_the_root_is_refused(root, tmp_path):
    shutil.copytree(root / "v1", tmp_path / "elsewhere" / "v1")
    (root / "project").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert refusal(root / "project" / "v1", root) == "the checkpoint folder is outside the checkpoint root"


def test_a_folder_outside_the_root_is_refused(root, tmp_path):
    assert refusal(root / "v1", tmp_path / "other-root") == "the checkpoint folder is outside the checkpoint root"


def test_a_symlinked_file_is_refused_even_with_the_right_content(root, tmp_path):
    weights = root / "v1" / "model.safetensors"
    shutil.move(weights, tmp_path / "weights")
    weights.symlink_to(tmp_path / "weights")
    assert refusal(root / "v1", root) == "model.safetensors is a symbolic link"


def test_a_symlinked_checkpoint_root_is_fine(root, tmp_path):
    """Operators may put the checkpoint folder on another disk through a link."""
    (tmp_path / "link").symlink_to(root, target_is_directory=True)
    verify_checkpoint(tmp_path / "link" / "v1", root=tmp_path / "link")


def test_the_pin_is_the_sha256_and_size_of_the_manifest_bytes(root):
    manifest = (root / "v1" / MANIFEST_FILE).read_bytes()
    assert manifest_pin(root / "v1") == ManifestPin(sha256=hashlib.sha256(manifest).hexdigest(), size=len(manifest))
    verify_checkpoint(root / "v1", root=root, pin=manifest_pin(root / "v1"))


def test_weights_and_manifest_rewritten_together_pass_the_manifest_but_not_the_pin(root):
    pin = manifest_pin(root / "v1")
    flip_a_weights_byte(root / "v1")
    write_manifest(root / "v1")  # what someone who can write the folder can do
    verify_checkpoint(root / "v1", root=root)  # the manifest alone cannot tell
    assert refusal(root / "v1", root, pin) == (
        "manifest changed since publish: manifest.json does not match the sha256 recorded at publish"
    )


def test_a_manifest_rewritten_to_another_size_is_refused_naming_both_sizes(root):
    pin = manifest_pin(root / "v1")
    manifest = root / "v1" / MANIFEST_FILE
    manifest.write_text(json.dumps(json.loads(manifest.read_text())))  # same entries, other bytes
    verify_checkpoint(root / "v1", root=root)
    size = manifest.stat().st_size
    assert refusal(root / "v1", root, pin) == (
        f"manifest changed since publish: manifest.json is {size} bytes, {pin.size} were published"
    )


def test_an_added_file_listed_in_a_rewritten_manifest_is_refused_by_the_pin(root):
    pin = manifest_pin(root / "v1")
    (root / "v1" / "pytorch_model.bin").write_bytes(b"other weights")
    write_manifest(root / "v1")
    assert refusal(root / "v1", root, pin).startswith("manifest changed since publish: ")


def test_with_the_pin_the_files_are_still_checked_against_the_manifest(root):
    pin = manifest_pin(root / "v1")
    flip_a_weights_byte(root / "v1")
    assert refusal(root / "v1", root, pin) == "model.safetensors does not match its sha256 in the manifest"


def test_a_pinned_folder_without_its_manifest_is_refused_as_missing(root):
    pin = manifest_pin(root / "v1")
    (root / "v1" / MANIFEST_FILE).unlink()
    assert refusal(root / "v1", root, pin) == "manifest.json is missing"
