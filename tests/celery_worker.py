"""Start a real Celery worker in a subprocess, pointed at the test database."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection


def test_database_url():
    """The URL of the database the tests run on (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@contextmanager
def running_worker(*, broker_url, result_backend, log_path: Path, queues="default,training", pool="solo", extra_env=None):
    """A worker consuming `queues` until the block ends; its log goes to log_path.

    pool="prefork" runs tasks in one child process (pool_children finds it), as deployed.
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "DATABASE_URL": test_database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": result_backend,
        "ARBITER_DATA_DIR": str(settings.DATA_DIR),
        "ARBITER_CHECKPOINT_DIR": str(settings.ARBITER_CHECKPOINT_DIR),
        # The test's checkpoint storage (a moto bucket with ARBITER_TEST_STORAGE=s3) and its own cache.
        "ARBITER_CHECKPOINT_STORAGE": settings.ARBITER_CHECKPOINT_STORAGE,
        "ARBITER_S3_ENDPOINT_URL": settings.ARBITER_S3_ENDPOINT_URL,
        "ARBITER_MODEL_CACHE": str(Path(settings.ARBITER_MODEL_CACHE).with_name("worker-model-cache")),
        "ARBITER_MODEL_ROOTS": ":".join(str(root) for root in settings.ARBITER_MODEL_ROOTS),
        **(extra_env or {}),
    }
    celery = [sys.executable, "-m", "celery", "-A", "annotator"]
    # Messages left by earlier runs would reach this worker first.
    purge = subprocess.run([*celery, "purge", "-f", "-Q", queues], env=env, capture_output=True, text=True)
    if purge.returncode:
        raise RuntimeError(f"celery purge failed:\n{purge.stdout}{purge.stderr}")
    log = open(log_path, "w")
    worker = subprocess.Popen(
        [*celery, "worker", "-P", pool, "-c", "1", "-Q", queues, "-l", "info", "--without-gossip", "--without-mingle"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while "ready." not in log_path.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def pool_children(worker) -> list[int]:
    """Pids of the worker's pool processes (its children), read from /proc (Linux)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (name) state ppid ...": the name may hold spaces, so split after its ")".
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
        if ppid == worker.pid:
            children.append(int(stat.parent.name))
    return children
