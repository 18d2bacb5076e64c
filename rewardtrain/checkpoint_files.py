"""A published checkpoint's files, read for a web download: listed ones only, never past the folder.

Which names may be read is decided by the manifest, never by the request: a name the manifest
does not list (`../settings.py`, `/etc/passwd`, a file planted since) is `NotListed`. The manifest
read here is checked against the pin recorded at publish, so a rewritten manifest lists nothing.
Callers verify the whole version first (verification.version_verify); the checks here hold on
their own too, in case the folder changes between the two: a symlink is refused, and a file
whose size changed ends the archive early rather than write a malformed one.

The `.tar` is written by tarfile's own headers (TarInfo.tobuf) around each file read in chunks,
so memory stays constant whatever the checkpoint weighs, and its length is known before the first byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

from rewardtrain.checkpoints import (
    MANIFEST_FILE,
    CheckpointInvalid,
    ManifestChanged,
    ManifestPin,
)

CHUNK = 1 << 16


class NotListed(LookupError):
    """The name is not a file of this checkpoint: not in its manifest (nor the manifest itself)."""


def listed_files(folder: str | Path, *, pin: ManifestPin | None) -> dict[str, dict]:
    """{relative path: manifest entry} for every file the manifest lists, plus manifest.json itself
    (its sha256 is the pin's). CheckpointInvalid when the manifest is missing, unreadable or not the pinned one."""
    try:
        data = (Path(folder) / MANIFEST_FILE).read_bytes()
    except OSError:
        raise CheckpointInvalid(f"{MANIFEST_FILE} is missing or unreadable") from None
    digest = hashlib.sha256(data).hexdigest()
    if pin is not None and (len(data), digest) != (pin.size, pin.sha256):
        raise ManifestChanged(f"manifest changed since publish: {MANIFEST_FILE} does not match the sha256 recorded at publish")
    try:
        entries = {entry["path"]: entry for entry in json.loads(data)["files"]}
    except (ValueError, KeyError, TypeError):
        raise CheckpointInvalid(f"{MANIFEST_FILE} is unreadable") from None
    return {**entries, MANIFEST_FILE: {"path": MANIFEST_FILE, "size": len(data), "sha256": digest}}


def open_listed(folder: str | Path, name: str, listed: dict[str, dict]):
    """The file `name` of `folder` opened for binary reading, when `listed` holds it; NotListed
    otherwise. CheckpointInvalid when it, or a folder on the way to it, is a symlink or not a plain file."""
    if name not in listed:
        raise NotListed(name)
    folder = Path(folder)
    path = folder
    for part in Path(name).parts:
        if part in ("", ".", "..") or os.sep in part:  # a manifest written by Arbiter never holds one
            raise NotListed(name)
        path = path / part
        if stat.S_ISLNK(path.lstat().st_mode):
            raise CheckpointInvalid(f"{name} is a symbolic link")
    handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb")  # a link swapped in since: ELOOP
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise CheckpointInvalid(f"{name} is not a regular file")
    return handle


def read_listed(folder: str | Path, name: str, listed: dict[str, dict]) -> bytes:
    """A small listed file's bytes (the model card, arbiter.json), refused unless they match the manifest's sha256."""
    with open_listed(folder, name, listed) as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != listed[name].get("sha256"):
        raise CheckpointInvalid(f"{name} does not match its sha256 in the manifest")
    return data


def tar_headers(folder: str | Path, listed: dict[str, dict], *, prefix: str) -> list[tuple[str, tarfile.TarInfo]]:
    """(name, TarInfo) of every listed file, sorted, under `prefix/` in the archive; sizes as on disk now."""
    headers = []
    for name in sorted(listed):
        with open_listed(folder, name, listed) as handle:
            info = os.fstat(handle.fileno())
        member = tarfile.TarInfo(f"{prefix}/{name}")
        member.size, member.mtime, member.mode = info.st_size, int(info.st_mtime), 0o644
        headers.append((name, member))
    return headers


def tar_length(headers: list[tuple[str, tarfile.TarInfo]]) -> int:
    """The byte length of tar_chunks(...) for these headers: the Content-Length."""
    body = sum(len(_header(member)) + _padded(member.size) for _name, member in headers)
    return body + _end_length(body)


def tar_chunks(folder: str | Path, listed: dict[str, dict], headers) -> Iterator[bytes]:
    """The archive, chunk by chunk: each header, the file's bytes, zeros to a whole block; then
    the end-of-archive blocks padded to a whole record, as tarfile.close() writes them."""
    written = 0
    for name, member in headers:
        header = _header(member)
        yield header
        with open_listed(folder, name, listed) as handle:
            left = member.size
            while left:
                chunk = handle.read(min(CHUNK, left))
                if not chunk:  # shrank since the headers: stop rather than send a malformed archive
                    raise CheckpointInvalid(f"{name} changed while it was being sent")
                left -= len(chunk)
                yield chunk
        padding = _padded(member.size) - member.size
        if padding:
            yield tarfile.NUL * padding
        written += len(header) + _padded(member.size)
    yield tarfile.NUL * _end_length(written)


def _header(member: tarfile.TarInfo) -> bytes:
    return member.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, "surrogateescape")


def _padded(size: int) -> int:
    return _padded_to(size, tarfile.BLOCKSIZE)


def _end_length(written: int) -> int:
    end = written + 2 * tarfile.BLOCKSIZE
    return _padded_to(end, tarfile.RECORDSIZE) - written


def _padded_to(size: int, unit: int) -> int:
    return -(-size // unit) * unit
