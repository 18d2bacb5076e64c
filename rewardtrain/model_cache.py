"""This host's copies of versions fetched from a remote store (ARBITER_MODEL_CACHE), bounded in size.

A fetch downloads into a temporary folder inside the cache, verifies it against the manifest
pin recorded on the version's row (checkpoints.verify_checkpoint), and only then renames it
into place as `<cache>/<slug>/v<N>`: a folder in place is always a whole, verified version.
A corrupted or partial download is removed and the error raised; nothing is swapped in.

Gunicorn's workers are processes, so "fetch once" is a file lock per version (fcntl): the
first process downloads, the others wait on the lock and find the folder there. The same lock,
taken shared by `using`, marks a version in use (a run warm-starting from it, a scorer loading
it); eviction takes it exclusively without waiting, and skips a version it cannot take.

Beyond `max_bytes`, the least recently used versions are removed whole (a hit touches the
folder's mtime). Django-free.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from rewardtrain.checkpoints import ManifestPin, verify_checkpoint
from rewardtrain.storage import CheckpointStore, check_name

LOCKS = ".locks"
TEMP = ".tmp"


class ModelCache:
    def __init__(self, root: str | Path, *, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def folder(self, name: str) -> Path:
        return self.root / check_name(name)

    def cached(self, name: str) -> Path | None:
        """The verified copy of `name` if this host has one (marked as just used), else None."""
        folder = self.folder(name)
        if not folder.is_dir():
            return None
        try:
            os.utime(folder)
        except OSError:  # evicted meanwhile
            return None
        return folder

    def fetch(self, name: str, *, store: CheckpointStore, pin: ManifestPin | None) -> Path:
        """The local folder of `name`: the cached copy, else downloaded from `store`, verified
        against `pin` (CheckpointInvalid when it does not match: nothing kept) and renamed in."""
        with self._lock(name, fcntl.LOCK_EX):
            found = self.cached(name)
            if found is not None:
                return found
            (self.root / TEMP).mkdir(parents=True, exist_ok=True)
            temp = Path(tempfile.mkdtemp(prefix=name.replace("/", "-") + "-", dir=self.root / TEMP))
            try:
                store.download(name, temp)
                verify_checkpoint(temp, root=temp.parent, pin=pin)
                self.folder(name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, self.folder(name))
            except BaseException:
                shutil.rmtree(temp, ignore_errors=True)
                raise
        self.evict(keep=name)
        return self.folder(name)

    def adopt(self, name: str, folder: Path) -> None:
        """Move a folder this host just published as `name` into the cache: no download for it later."""
        with self._lock(name, fcntl.LOCK_EX):
            target = self.folder(name)
            if target.exists():
                shutil.rmtree(folder, ignore_errors=True)
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder, target)
        self.evict(keep=name)

    @contextmanager
    def using(self, name: str):
        """Hold `name` in the cache (no eviction) while the block runs."""
        with self._lock(name, fcntl.LOCK_SH):
            yield self.cached(name)

    def evict(self, *, keep: str | None = None) -> list[str]:
        """Remove least recently used versions, whole, until the cache holds at most max_bytes;
        never `keep` nor one in use. The names removed."""
        entries = []
        for folder in self.root.glob("*/v*"):
            # Not .locks, .tmp nor a trainer's .staging: only <slug>/v<N> folders are versions.
            if folder.is_dir() and not folder.parent.name.startswith(".") and folder.name[1:].isdigit():
                name = f"{folder.parent.name}/{folder.name}"
                entries.append((folder.stat().st_mtime, name, _size(folder)))
        total = sum(size for _, _, size in entries)
        removed = []
        for _, name, size in sorted(entries):
            if total <= self.max_bytes:
                break
            if name == keep:
                continue
            try:
                with self._lock(name, fcntl.LOCK_EX | fcntl.LOCK_NB):
                    shutil.rmtree(self.folder(name), ignore_errors=True)
            except BlockingIOError:
                continue  # in use or being fetched
            total -= size
            removed.append(name)
        return removed

    @contextmanager
    def _lock(self, name: str, mode: int):
        (self.root / LOCKS).mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCKS / (check_name(name).replace("/", "--") + ".lock"), "a") as handle:
            fcntl.flock(handle, mode)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
