"""This host's cache of versions fetched from a bucket: verified before it is swapped in, one
download for many concurrent fetches, least recently used versions evicted whole, never one in use."""

import os
import threading
import time

import pytest

from rewardtrain.checkpoints import CheckpointInvalid, manifest_pin
from rewardtrain.model_cache import ModelCache
from tests.storage.test_checkpoint_stores import checkpoint_folder, files_under


def published(store, tmp_path, name, *, written_to=None, **kwargs):
    folder = checkpoint_folder(tmp_path / (written_to or name.replace("/", "-")), **kwargs)
    store.publish(folder, name)
    return folder, manifest_pin(folder)


def count_gets(store):
    gets = []
    store.client.meta.events.register("before-parameter-build.s3.GetObject", lambda params, **_: gets.append(params["Key"]))
    return gets


def test_a_fetched_version_is_the_published_one_and_a_second_fetch_downloads_nothing(s3_storage, tmp_path):
    folder, pin = published(s3_storage, tmp_path, "proj/v1")
    cache = ModelCache(tmp_path / "cache", max_bytes=10**9)
    gets = count_gets(s3_storage)
    fetched = cache.fetch("proj/v1", store=s3_storage, pin=pin)
    assert fetched == tmp_path / "cache" / "proj" / "v1" and files_under(fetched) == files_under(folder)
    assert len(gets) == 4
    assert cache.fetch("proj/v1", store=s3_storage, pin=pin) == fetched and len(gets) == 4


def test_a_corrupted_object_is_refused_and_nothing_is_kept(s3_storage, tmp_path):
    _, pin = published(s3_storage, tmp_path, "proj/v1")
    key = f"{s3_storage.prefix}/proj/v1/model.safetensors"
    s3_storage.client.put_object(Bucket=s3_storage.bucket, Key=key, Body=b"x" * 1000)  # same size, other bytes
    cache = ModelCache(tmp_path / "cache", max_bytes=10**9)
    with pytest.raises(CheckpointInvalid, match="model.safetensors does not match its sha256"):
        cache.fetch("proj/v1", store=s3_storage, pin=pin)
    assert cache.cached("proj/v1") is None
    assert os.listdir(tmp_path / "cache" / ".tmp") == []  # the download is gone too


def test_a_manifest_rewritten_in_the_store_is_refused_by_the_rows_pin(s3_storage, tmp_path):
    _, pin = published(s3_storage, tmp_path, "proj/v1")
    s3_storage.delete("proj/v1")
    published(s3_storage, tmp_path, "proj/v1", written_to="forged", weights=b"z" * 1000)  # files and manifest replaced alike
    with pytest.raises(CheckpointInvalid, match="manifest changed since publish"):
        ModelCache(tmp_path / "cache", max_bytes=10**9).fetch("proj/v1", store=s3_storage, pin=pin)


def test_a_prefix_without_its_manifest_is_never_fetched(s3_storage, tmp_path):
    folder = checkpoint_folder(tmp_path / "a")
    s3_storage.client.upload_file(str(folder / "config.json"), s3_storage.bucket, f"{s3_storage.prefix}/proj/v1/config.json")
    with pytest.raises(CheckpointInvalid, match="manifest.json is missing"):
        ModelCache(tmp_path / "cache", max_bytes=10**9).fetch("proj/v1", store=s3_storage, pin=None)


def test_concurrent_fetches_of_one_version_download_it_once(s3_storage, tmp_path):
    _, pin = published(s3_storage, tmp_path, "proj/v1")
    gets = count_gets(s3_storage)
    # Each thread its own cache object, as each gunicorn worker has: only the file lock is shared.
    results, start = [], threading.Barrier(6)

    def fetch():
        start.wait()
        results.append(ModelCache(tmp_path / "cache", max_bytes=10**9).fetch("proj/v1", store=s3_storage, pin=pin))

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(set(results)) == 1
    assert len(gets) == 4  # one download of the version's four files


def test_the_least_recently_used_versions_are_evicted_whole_never_one_in_use(s3_storage, tmp_path):
    pins = {n: published(s3_storage, tmp_path, f"proj/v{n}")[1] for n in (1, 2, 3, 4)}
    size = sum(len(data) for data in files_under(tmp_path / "proj-v1").values())
    cache = ModelCache(tmp_path / "cache", max_bytes=2 * size)  # room for two versions
    for n in (1, 2):
        cache.fetch(f"proj/v{n}", store=s3_storage, pin=pins[n])
        time.sleep(0.02)  # distinct mtimes
    cache.cached("proj/v1")  # v1 used again: v2 is now the least recently used
    time.sleep(0.02)
    cache.fetch("proj/v3", store=s3_storage, pin=pins[3])
    assert [cache.cached(f"proj/v{n}") is not None for n in (1, 2, 3)] == [True, False, True]
    with cache.using("proj/v1"):
        time.sleep(0.02)
        cache.cached("proj/v3")  # v1 is now the oldest, but in use
        cache.fetch("proj/v4", store=s3_storage, pin=pins[4])
        assert [cache.cached(f"proj/v{n}") is not None for n in (1, 3, 4)] == [True, False, True]


def test_eviction_counts_versions_only_never_a_trainers_staging_folder(s3_storage, tmp_path):
    _, pin = published(s3_storage, tmp_path, "proj/v1")
    staging = tmp_path / "cache" / ".staging" / "vision" / "v3-abc"  # a run of project "vision" writing v3
    staging.mkdir(parents=True)
    (staging / "big.bin").write_bytes(b"x" * 10_000)
    cache = ModelCache(tmp_path / "cache", max_bytes=0)
    cache.fetch("proj/v1", store=s3_storage, pin=pin)
    assert cache.evict() == ["proj/v1"] and (staging / "big.bin").exists()
