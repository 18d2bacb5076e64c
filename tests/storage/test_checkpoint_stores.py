"""LocalStore and S3Store (through moto's S3 server) behave alike: publish, list, download, open, delete."""

import io
import json
import urllib.request
from pathlib import Path

import pytest

from rewardtrain.checkpoints import MANIFEST_FILE, write_manifest
from rewardtrain.storage import LocalStore, S3Store, StoredVersion, check_name, store_from_url


def checkpoint_folder(path, *, weights=b"w" * 1000):
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(weights)
    (path / "config.json").write_text(json.dumps({"a": 1}))
    (path / "sub").mkdir()
    (path / "sub" / "vocab.txt").write_text("hello\n")
    write_manifest(path)
    return path


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return request.getfixturevalue("s3_storage")


def files_under(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_published_folder_downloads_byte_for_byte(store, tmp_path):
    folder = checkpoint_folder(tmp_path / "written")
    store.publish(folder, "proj/v1")
    copy = tmp_path / "copy"
    copy.mkdir()
    moved = store.download("proj/v1", copy)
    assert files_under(copy) == files_under(folder)
    assert moved == sum(len(data) for data in files_under(folder).values())
    with store.open("proj/v1", "sub/vocab.txt") as handle:
        assert handle.read() == b"hello\n"
    with pytest.raises(FileNotFoundError):
        store.open("proj/v1", "nothing.bin")


def test_stored_versions_say_which_have_their_manifest_and_delete_removes_one(store, tmp_path):
    store.publish(checkpoint_folder(tmp_path / "a"), "proj/v1")
    store.publish(checkpoint_folder(tmp_path / "b"), "other/v3")
    found = {stored.name: stored.has_manifest for stored in store.stored_versions()}
    assert found == {"proj/v1": True, "other/v3": True}
    assert [stored.name for stored in store.stored_versions("proj")] == ["proj/v1"]
    store.delete("proj/v1")
    assert [stored.name for stored in store.stored_versions()] == ["other/v3"]
    assert all(isinstance(stored, StoredVersion) for stored in store.stored_versions())


def test_a_version_is_published_once(store, tmp_path):
    store.publish(checkpoint_folder(tmp_path / "a"), "proj/v1")
    with pytest.raises(FileExistsError):
        store.publish(checkpoint_folder(tmp_path / "b"), "proj/v1")


def test_names_are_slug_and_number_never_paths():
    assert check_name("my-proj_2/v12") == "my-proj_2/v12"
    for bad in ("../etc/v1", "/abs/v1", "proj/v1/..", "proj/latest", "proj"):
        with pytest.raises(ValueError):
            check_name(bad)


def test_the_s3_store_uploads_the_manifest_last(s3_storage, tmp_path):
    folder = checkpoint_folder(tmp_path / "a")
    uploaded = []
    s3_storage.client.meta.events.register("before-parameter-build.s3.PutObject", lambda params, **_: uploaded.append(params["Key"]))
    s3_storage.publish(folder, "proj/v1")
    assert len(uploaded) == 4 and uploaded[-1].endswith(f"proj/v1/{MANIFEST_FILE}")


def test_an_upload_that_stops_before_the_manifest_leaves_a_prefix_without_one(s3_storage, tmp_path):
    folder = checkpoint_folder(tmp_path / "a")

    def lose_the_link(params, **_):
        if params["Key"].endswith(MANIFEST_FILE):
            raise ConnectionError("the store went away")

    s3_storage.client.meta.events.register("before-parameter-build.s3.PutObject", lose_the_link)
    with pytest.raises(ConnectionError):
        s3_storage.publish(folder, "proj/v1")
    assert [(stored.name, stored.has_manifest) for stored in s3_storage.stored_versions()] == [("proj/v1", False)]


def test_a_presigned_url_downloads_the_file_without_credentials(s3_storage, tmp_path):
    folder = checkpoint_folder(tmp_path / "a")
    s3_storage.publish(folder, "proj/v1")
    url = s3_storage.presigned_url("proj/v1", "config.json", seconds=60)
    assert "Signature" in url or "X-Amz-Signature" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == (folder / "config.json").read_bytes()


def test_the_setting_picks_the_store(tmp_path, monkeypatch):
    assert isinstance(store_from_url("", local_root=tmp_path), LocalStore)
    assert store_from_url(str(tmp_path / "x"), local_root=tmp_path).root == tmp_path / "x"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = store_from_url("s3://bucket/some/prefix", local_root=tmp_path, endpoint_url="http://127.0.0.1:9")
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("bucket", "some/prefix")
    assert s3.client.meta.endpoint_url == "http://127.0.0.1:9"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://store.internal:8333")  # boto3's own variable, as the hosts set it
    assert store_from_url("s3://bucket", local_root=tmp_path).client.meta.endpoint_url == "http://store.internal:8333"
    for bad in ("s3://", "gs://bucket/x"):
        with pytest.raises(ValueError):
            store_from_url(bad, local_root=tmp_path)


def test_a_key_that_would_land_outside_the_download_folder_is_not_written(s3_storage, tmp_path):
    folder = checkpoint_folder(tmp_path / "a")
    s3_storage.publish(folder, "proj/v1")
    for rel in ("sub/../../escaped.txt", "/escaped.txt"):
        s3_storage.client.put_object(Bucket=s3_storage.bucket, Key=f"{s3_storage.prefix}/proj/v1/{rel}", Body=b"x")
    (tmp_path / "dl" / "copy").mkdir(parents=True)
    s3_storage.download("proj/v1", tmp_path / "dl" / "copy")
    assert not (tmp_path / "dl" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not Path("/escaped.txt").exists()  # Path(dest) / "/escaped.txt" is the filesystem root's
    assert files_under(tmp_path / "dl" / "copy") == files_under(folder)


def test_a_single_object_is_put_read_and_deleted_beside_the_versions_which_it_never_joins(s3_storage, tmp_path):
    key = ".uploads/" + "0" * 32
    s3_storage.publish(checkpoint_folder(tmp_path / "a"), "proj/v1")
    s3_storage.put_object(key, io.BytesIO(b"line 1\nline 2\n"))
    out = io.BytesIO()
    s3_storage.download_object(key, out)
    assert out.getvalue() == b"line 1\nline 2\n"
    assert [v.name for v in s3_storage.stored_versions()] == ["proj/v1"]  # the reaper never sees it
    s3_storage.delete_object(key)
    s3_storage.delete_object(key)  # already gone: nothing happens
    with pytest.raises(FileNotFoundError):
        s3_storage.download_object(key, io.BytesIO())
    for bad in ("proj/v1", "../" + "0" * 32, ".uploads/x/../" + "0" * 32, "uploads/" + "0" * 32):
        with pytest.raises(ValueError):
            s3_storage.put_object(bad, io.BytesIO(b""))
