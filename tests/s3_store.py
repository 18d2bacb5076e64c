"""An S3-compatible store for tests: moto's server mode (real S3 HTTP on a free port), one
bucket for the session and a fresh prefix per test, reached through ordinary settings
(ARBITER_CHECKPOINT_STORAGE, ARBITER_S3_ENDPOINT_URL, the AWS_* variables) as a deployment is.

`s3_storage` points a test's checkpoint storage at it; with ARBITER_TEST_STORAGE=s3 every test
gets it (tests/conftest.py), so the suite runs on either store."""

import socket
import uuid

import pytest

BUCKET = "arbiter-test"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(moto_endpoint, settings, monkeypatch):
    """This test's checkpoints in s3://arbiter-test/<a fresh prefix>; the store object."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.ARBITER_S3_ENDPOINT_URL = moto_endpoint
    settings.ARBITER_CHECKPOINT_STORAGE = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    from rewardtrain import checkpoint_store

    store = checkpoint_store.store()
    try:
        store.client.create_bucket(Bucket=BUCKET)
    except store.client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return store
