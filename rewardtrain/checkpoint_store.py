"""The configured checkpoint store and this host's model cache, for versions' rows.

A row's `path` is its store-relative name, `<slug>/v<N>` (storage.version_name). Whatever loads
or reads a version asks here for a local folder: with the local store it is the store's own
folder (no copy); with a remote one it is this host's verified copy in ARBITER_MODEL_CACHE,
fetched on first use. A row whose path is absolute (published before names, outside
ARBITER_CHECKPOINT_DIR, so the migration left it) is read from that folder as before.
"""

import logging
import shutil
import tempfile
import threading
from contextlib import nullcontext
from pathlib import Path

from django.conf import settings

from rewardtrain.checkpoints import manifest_pin
from rewardtrain.model_cache import ModelCache
from rewardtrain.storage import CheckpointStore, store_from_url, version_name

log = logging.getLogger(__name__)

_stores: dict[tuple, CheckpointStore] = {}
_stores_lock = threading.Lock()


def store() -> CheckpointStore:
    """The store settings name, made once per process and configuration (a boto3 client is reused)."""
    url = settings.ARBITER_CHECKPOINT_STORAGE if settings.ARBITER_CHECKPOINT_STORAGE.startswith("s3://") else ""
    key = (url, str(settings.ARBITER_CHECKPOINT_DIR), settings.ARBITER_S3_ENDPOINT_URL)
    with _stores_lock:
        if key not in _stores:
            _stores[key] = store_from_url(
                url, local_root=settings.ARBITER_CHECKPOINT_DIR, endpoint_url=settings.ARBITER_S3_ENDPOINT_URL
            )
        return _stores[key]


def model_cache() -> ModelCache:
    return ModelCache(settings.ARBITER_MODEL_CACHE, max_bytes=settings.ARBITER_MODEL_CACHE_BYTES)


def is_remote() -> bool:
    return store().remote


def name_of(version) -> str:
    return version_name(version.project.slug, version.version)


def identity(version) -> str:
    """What tells one published checkpoint from any other this process may see: its store, its
    name and its pin (a test's store, or a store restored from a backup, reuses names)."""
    return f"{store()!r}:{version.path}:{version.manifest_sha256}"


def _legacy_folder(version) -> Path | None:
    path = Path(version.path)
    return path if path.is_absolute() else None


def verification_root(version) -> Path:
    """The folder `version`'s local copy must lie inside (checkpoints.verify_checkpoint's root)."""
    if _legacy_folder(version) is not None or not is_remote():
        return Path(settings.ARBITER_CHECKPOINT_DIR) / version.project.slug
    return model_cache().root / version.project.slug


def cached_folder(version) -> Path | None:
    """`version`'s local folder if this host has it without fetching; None when a fetch is needed."""
    legacy = _legacy_folder(version)
    if legacy is not None:
        return legacy
    if not is_remote():
        return store().local_folder(version.path)
    return model_cache().cached(version.path)


def version_folder(version) -> Path:
    """`version`'s local folder, fetched (and verified against its pin) into the cache first when
    the store is remote; CheckpointInvalid when the fetched copy does not verify."""
    found = cached_folder(version)
    if found is not None:
        return found
    return model_cache().fetch(version.path, store=store(), pin=version.manifest_pin)


def holding(version):
    """A context in which `version`'s cached copy is not evicted (nothing to hold for a local folder)."""
    if is_remote() and _legacy_folder(version) is None:
        return model_cache().using(version.path)
    return nullcontext()


def staging_folder(*, project, number) -> Path:
    """Where the trainer writes version `number`: its place in the local store, or a temporary
    folder in the cache (same filesystem as its final place there) when the store is remote."""
    if not is_remote():
        return store().local_folder(version_name(project.slug, number))
    temp_root = model_cache().root / ".staging" / project.slug
    # The project's only run writes here (single flight): anything left is a killed run's.
    shutil.rmtree(temp_root, ignore_errors=True)
    temp_root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"v{number}-", dir=temp_root)) / f"v{number}"


def publish(folder: Path, *, project, number):
    """Put the written `folder` in the store as version `number` (every file, then the manifest)
    and return (its name, its manifest pin) for the row."""
    name = version_name(project.slug, number)
    pin = manifest_pin(folder)
    store().publish(folder, name)
    return name, pin


def unpublish(folder: Path, *, name: str) -> None:
    """Remove a version whose row was not written: from the store and this host."""
    try:
        store().delete(name)
    finally:
        _remove_staging(folder)


def published(folder: Path, *, name: str) -> None:
    """The row is written: keep the staging copy as this host's cached copy (remote store only).
    The version is published whatever happens here: a copy not kept is fetched when needed."""
    if is_remote():
        try:
            model_cache().adopt(name, folder)
        except OSError as error:
            log.warning("could not keep %s in the model cache: %s", name, error)
        _remove_staging(folder)


def _remove_staging(folder: Path) -> None:
    if is_remote():
        shutil.rmtree(Path(folder).parent, ignore_errors=True)


def stored_numbers(*, project) -> list[int]:
    """Version numbers with anything in the store, a manifest or not (a number is never reused)."""
    return [int(stored.name.rsplit("/v", 1)[1]) for stored in store().stored_versions(project.slug)]
