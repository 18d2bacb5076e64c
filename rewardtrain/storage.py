"""Where published checkpoints live: a local folder or an S3-compatible bucket, behind one interface.

A version is named by its project's slug and number, `<slug>/v<N>`, never by a host's path: the
name is what the version's row records, and each store maps it to its own place (a folder under
the checkpoint directory, or the key prefix `<prefix>/<slug>/v<N>/` in a bucket).

`ARBITER_CHECKPOINT_STORAGE` picks the store (`store_from_url`): unset or a folder is a
`LocalStore` (the embedded default, as before: the folder is the checkpoint, nothing is copied);
`s3://bucket/prefix` is an `S3Store`.

The S3 client is boto3: maintained by AWS, it speaks to any S3-compatible endpoint (SeaweedFS,
Garage, Ceph RGW, moto in the tests) given AWS_ENDPOINT_URL, reads region and credentials from
the standard AWS_* variables, streams gets and puts (multipart above a threshold) and signs
short-lived download URLs. django-storages would add a Django layer over the same boto3 without
the listing and prefix deletes publishing needs; s3fs would add an async fsspec stack.

Publishing to a bucket is made atomic by order: every file is uploaded, then manifest.json
last. A prefix without a manifest is an upload that has not finished (or never will): no host
fetches it (the version's row, written only after the manifest, is what names it), and the
reaper deletes it. Django-free, like checkpoints.py.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, NamedTuple

from rewardtrain.checkpoints import MANIFEST_FILE, TEMP_MARKER

VERSION_NAME = re.compile(r"(?P<slug>[-\w]+)/v(?P<number>\d+)")


class StoredVersion(NamedTuple):
    """A version's prefix as found in a store: whether its manifest is there, and when it last changed."""

    name: str
    has_manifest: bool
    modified: datetime


def version_name(slug: str, number: int) -> str:
    """The store-relative name of a project's version: `<slug>/v<N>`."""
    return f"{slug}/v{number}"


OBJECT_KEY = re.compile(r"\.[a-z]+/[0-9a-f]{32}")


def check_object_key(key: str) -> str:
    """`key` if it names a single object (`.<kind>/<hex uuid>`); ValueError otherwise. The dot
    keeps it out of every version's prefix: no project slug starts with one."""
    if not OBJECT_KEY.fullmatch(key):
        raise ValueError(f"{key!r} is not an object key (.<kind>/<hex uuid>)")
    return key


def check_name(name: str) -> str:
    """`name` if it is a version name (`<slug>/v<N>`); ValueError otherwise (no `..`, no absolute path)."""
    if not VERSION_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a version name (<slug>/v<N>)")
    return name


class CheckpointStore(ABC):
    """Published checkpoints by name. `remote` stores need a local copy fetched before loading."""

    remote = False

    @abstractmethod
    def publish(self, folder: Path, name: str) -> None:
        """Make `folder`'s files the version `name`, manifest.json last."""

    @abstractmethod
    def download(self, name: str, dest: Path) -> int:
        """Copy version `name`'s files (manifest included) into the empty folder `dest`; the bytes copied."""

    @abstractmethod
    def open(self, name: str, rel: str) -> BinaryIO:
        """A readable binary stream of file `rel` of version `name`; FileNotFoundError when it is not there."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove everything stored under version `name` (a project's slug alone removes the project's)."""

    @abstractmethod
    def stored_versions(self, slug: str | None = None) -> list[StoredVersion]:
        """Every version prefix in the store (of project `slug` only, when given)."""

    def local_folder(self, name: str) -> Path | None:
        """The folder holding version `name` on this host, if the store is a local folder."""
        return None

    def presigned_url(self, name: str, rel: str, *, seconds: int) -> str | None:
        """A URL that downloads file `rel` of `name` for `seconds` without credentials; None when the store has none."""
        return None


class LocalStore(CheckpointStore):
    """Checkpoints as folders `<root>/<slug>/v<N>`: today's layout. The trainer writes straight
    into place (checkpoints.write_checkpoint renames a finished folder there), so publishing the
    folder it wrote copies nothing."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self):
        return f"LocalStore({str(self.root)!r})"

    def local_folder(self, name):
        return self.root / check_name(name)

    def publish(self, folder, name):
        target = self.local_folder(name)
        if Path(folder).resolve() == target.resolve():
            return
        if target.exists():
            raise FileExistsError(f"checkpoint {name} already exists")
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=f".{target.name}{TEMP_MARKER}", dir=target.parent))
        try:
            shutil.copytree(folder, temp, dirs_exist_ok=True)
            os.replace(temp, target)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise

    def download(self, name, dest):
        shutil.copytree(self.local_folder(name), dest, dirs_exist_ok=True)
        return sum(path.stat().st_size for path in Path(dest).rglob("*") if path.is_file())

    def open(self, name, rel):
        return open(self.local_folder(name) / rel, "rb")

    def delete(self, name):
        shutil.rmtree(self.root / name, ignore_errors=True)

    def stored_versions(self, slug=None):
        found = []
        projects = [self.root / slug] if slug else (self.root.iterdir() if self.root.is_dir() else [])
        for project in projects:
            if not project.is_dir():
                continue
            for folder in project.iterdir():
                if folder.is_dir() and re.fullmatch(r"v\d+", folder.name):
                    modified = datetime.fromtimestamp(folder.stat().st_mtime, tz=timezone.utc)
                    has_manifest = (folder / MANIFEST_FILE).is_file()
                    found.append(StoredVersion(f"{project.name}/{folder.name}", has_manifest, modified))
        return found


class S3Store(CheckpointStore):
    """Checkpoints as objects `<prefix>/<slug>/v<N>/<file>` in an S3-compatible bucket."""

    remote = True

    def __init__(self, bucket: str, prefix: str = "", *, client=None, endpoint_url: str | None = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or s3_client(endpoint_url=endpoint_url)

    def __repr__(self):
        return f"S3Store('s3://{self.bucket}/{self.prefix}')"

    def _key(self, name: str, rel: str = "") -> str:
        return "/".join(part for part in (self.prefix, name, rel) if part)

    def _objects(self, prefix: str):
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def publish(self, folder, name):
        check_name(name)
        folder = Path(folder)
        files = sorted(path for path in folder.rglob("*") if path.is_file() and path.name != MANIFEST_FILE)
        if not (folder / MANIFEST_FILE).is_file():
            raise FileNotFoundError(f"{folder} has no {MANIFEST_FILE}: nothing is published without one")
        if any(True for _ in self._objects(self._key(name) + "/")):
            raise FileExistsError(f"checkpoint {name} already exists in the store")
        for path in files:
            self.client.upload_file(str(path), self.bucket, self._key(name, path.relative_to(folder).as_posix()))
        # Last: its presence is what makes the other files a published version.
        self.client.upload_file(str(folder / MANIFEST_FILE), self.bucket, self._key(name, MANIFEST_FILE))

    def download(self, name, dest):
        check_name(name)
        base = self._key(name) + "/"
        moved = 0
        for item in self._objects(base):
            rel = item["Key"][len(base):]
            target = Path(dest) / rel
            if not rel or ".." in Path(rel).parts or Path(rel).is_absolute():
                continue  # a key no publisher writes (`a/../b`, `//etc`): never written outside `dest`
            target.parent.mkdir(parents=True, exist_ok=True)
            self.client.download_file(self.bucket, item["Key"], str(target))
            moved += item["Size"]
        return moved

    def open(self, name, rel):
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(check_name(name), rel))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"{rel} of {name} is not in the store") from None

    def delete(self, name):
        keys = [{"Key": item["Key"]} for item in self._objects(self._key(name) + "/")]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True})

    def stored_versions(self, slug=None):
        base = self._key("") + "/" if self.prefix else ""
        found: dict[str, list] = {}
        for item in self._objects(base + (f"{slug}/" if slug else "")):
            parts = item["Key"][len(base):].split("/")
            if len(parts) < 3 or not VERSION_NAME.fullmatch("/".join(parts[:2])):
                continue
            name = "/".join(parts[:2])
            has_manifest, modified = found.get(name, (False, item["LastModified"]))
            found[name] = (has_manifest or parts[2:] == [MANIFEST_FILE], max(modified, item["LastModified"]))
        return [StoredVersion(name, has, modified) for name, (has, modified) in sorted(found.items())]

    def presigned_url(self, name, rel, *, seconds):
        params = {"Bucket": self.bucket, "Key": self._key(check_name(name), rel)}
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)

    # Single objects beside the versions (a background import's upload, which the web host
    # writes and a worker on another host reads): keys outside every version's prefix.

    def put_object(self, key: str, stream: BinaryIO) -> None:
        """Upload the readable binary `stream` as object `key` (multipart when large)."""
        self.client.upload_fileobj(stream, self.bucket, self._key(check_object_key(key)))

    def download_object(self, key: str, out: BinaryIO) -> None:
        """Write object `key` into the writable binary file `out`; FileNotFoundError when it is not there."""
        from botocore.exceptions import ClientError

        try:
            self.client.download_fileobj(self.bucket, self._key(check_object_key(key)), out)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(errno.ENOENT, "it is not in the checkpoint store", key) from None
            raise

    def delete_object(self, key: str) -> None:
        """Remove object `key`; nothing happens when it is not there."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(check_object_key(key)))


def s3_client(*, endpoint_url: str | None = None):
    """A boto3 S3 client: endpoint from `endpoint_url`, else AWS_ENDPOINT_URL (boto3 reads it), region
    and credentials from the standard AWS_* variables. Connect quickly and retry a few times: a store
    that cannot be reached fails a fetch or a publish, which are retried, rather than hanging them."""
    import boto3
    from botocore.config import Config

    # SigV4 for presigned URLs too: the S3-compatible stores (Garage, SeaweedFS, Ceph RGW) speak it.
    config = Config(
        connect_timeout=5, read_timeout=60, retries={"max_attempts": 8, "mode": "standard"}, signature_version="s3v4"
    )
    return boto3.client("s3", endpoint_url=endpoint_url or None, config=config)


def store_from_url(url: str, *, local_root: str | Path, endpoint_url: str | None = None) -> CheckpointStore:
    """The store ARBITER_CHECKPOINT_STORAGE names: `s3://bucket/prefix`, else a folder (`local_root` when empty)."""
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"{url!r} names no bucket: s3://bucket/prefix")
        return S3Store(bucket, prefix, endpoint_url=endpoint_url)
    if "://" in url:
        raise ValueError(f"{url!r}: ARBITER_CHECKPOINT_STORAGE is a folder or s3://bucket/prefix")
    return LocalStore(url or local_root)
