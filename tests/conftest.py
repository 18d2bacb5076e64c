"""Shared fixtures: the three users every permission test checks, and row factories."""

import os

import pytest
from django.conf import settings

from tests import factories
from tests.brokers import broker_down, broker_hung  # noqa: F401 (fixtures for every test)
from tests.prompt_states import prompt_states  # noqa: F401 (a fixture for the prompts browser's tests)
from tests.s3_store import moto_endpoint, s3_storage  # noqa: F401 (an S3-compatible store for any test)


def _service_missing(marker):
    if marker == "postgres":
        if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
            return None
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis":
        return None if os.environ.get("REDIS_URL") else "needs Redis: set REDIS_URL=redis://..."
    return None


def pytest_collection_modifyitems(config, items):
    """Skip tests whose service was not given; with CI=true a missing service is an error.
    With ARBITER_TEST_STORAGE=s3, skip the tests of the local folder store's own behaviour."""
    in_ci = os.environ.get("CI", "").lower() == "true"
    if os.environ.get("ARBITER_TEST_STORAGE") == "s3":
        for item in items:
            if "local_storage" in item.keywords:
                item.add_marker(pytest.mark.skip(reason="local folder storage only (ARBITER_TEST_STORAGE=s3)"))
    for marker in ("postgres", "redis"):
        reason = _service_missing(marker)
        if not reason:
            continue
        wanted = [item for item in items if marker in item.keywords]
        if wanted and in_ci:
            raise pytest.UsageError(f"CI=true and {len(wanted)} tests {reason}")
        for item in wanted:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path, request):
    """Every test publishes checkpoints into its own folder (or, with ARBITER_TEST_STORAGE=s3,
    its own prefix of a moto bucket) and caches fetched ones in its own folder; passwords hash fast.

    API tokens are read on every request (no per-process memory), so a test that
    deletes a token or deactivates a user sees it at once; tests/api/test_token_cache.py
    turns the memory on.
    """
    settings.ARBITER_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.ARBITER_CHECKPOINT_STORAGE = ""
    settings.ARBITER_MODEL_CACHE = tmp_path / "model-cache"
    if os.environ.get("ARBITER_TEST_STORAGE") == "s3":
        request.getfixturevalue("s3_storage")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ARBITER_TOKEN_CACHE_SECONDS = 0
    # Failed logins and bad tokens counted per test (the data dir's file cache, or Redis, would
    # carry counts from one test, or one test run, to the next).
    settings.CACHES = {**settings.CACHES, "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(tmp_path)}}


@pytest.fixture
def project(db):
    return factories.project()


@pytest.fixture
def labeler(project):
    return factories.member(project, "labeler", username="labeler")


@pytest.fixture
def lead(project):
    return factories.member(project, "lead", username="lead")


@pytest.fixture
def admin_user(project):
    return factories.member(project, "admin", username="projectadmin")


@pytest.fixture
def outsider(db):
    return factories.user("outsider")

