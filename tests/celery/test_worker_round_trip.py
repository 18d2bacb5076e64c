import os

import pytest
from celery import Celery

from tests.celery_worker import running_worker


def _round_trip(broker_url, result_backend, tmp_path):
    # Not the current app: shared tasks sent later in this process must keep using annotator's app.
    client = Celery(broker=broker_url, backend=result_backend, set_as_current=False)
    with running_worker(broker_url=broker_url, result_backend=result_backend, log_path=tmp_path / "worker.log"):
        result = client.send_task("annotator.tasks.ping", args=["hello"], queue="default")
        return result.get(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_task_on_the_embedded_broker(tmp_path):
    answer = _round_trip(
        f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}", f"db+sqlite:///{tmp_path / 'results.sqlite3'}", tmp_path
    )
    assert answer["echo"] == "hello"
    assert answer["database"] in ("sqlite", "postgresql")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_task_on_redis(tmp_path):
    url = os.environ.get("REDIS_URL", "")
    answer = _round_trip(url, url, tmp_path)
    assert answer["echo"] == "hello"
