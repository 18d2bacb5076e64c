"""PostgreSQL going away under a running training run: a short outage is ridden out (heartbeat and
progress writes retried on a new connection), a long one fails the attempt with the database's
error and the run is retried once, as after a killed worker. The outage is real
(tests/database_outage.py).
"""

import pytest

from rewardtrain.runs import training_run_execute, training_run_start
from tests.database_outage import UNREACHABLE_PORT, outage
from tests.rewardtrain.comparisons import SMALL

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def outage_at_first_step(seconds, *, attempts=(1,)):
    """An on_progress callback that starts an outage at the first step of each of `attempts`."""
    timers, seen = [], []

    def on_progress(report):
        if report["step"] == 1 and len(seen) + 1 in attempts:
            timers.append(outage(seconds))
        if report["step"] == 1:
            seen.append(report)

    on_progress.timers = timers
    return on_progress


def finish(timers):
    for timer in timers:
        timer.join()


def test_a_run_rides_out_a_short_database_outage(trainable, settings):
    settings.ARBITER_DB_RETRY_SECONDS = 30
    run = training_run_start(project=trainable, trigger="manual", options=SMALL, enqueue=False)
    on_progress = outage_at_first_step(3)
    try:
        run = training_run_execute(run_id=run.id, progress_every=0, on_progress=on_progress)
    finally:
        finish(on_progress.timers)
    assert len(on_progress.timers) == 1  # the outage happened
    assert (run.status, run.attempts, run.error) == ("succeeded", 1, "")
    assert run.version.is_current and run.progress["step"] == run.progress["total"]


def test_an_outage_past_the_retries_is_retried_once_and_succeeds(trainable, settings):
    settings.ARBITER_DB_RETRY_SECONDS = 1
    run = training_run_start(project=trainable, trigger="manual", options=SMALL, enqueue=False)
    on_progress = outage_at_first_step(3, attempts=(1,))
    try:
        run = training_run_execute(run_id=run.id, progress_every=0, on_progress=on_progress)
    finally:
        finish(on_progress.timers)
    assert (run.status, run.attempts, run.error) == ("succeeded", 2, "")
    assert run.version.is_current


def test_an_outage_past_the_retries_in_both_attempts_fails_the_run_with_the_databases_error(trainable, settings):
    settings.ARBITER_DB_RETRY_SECONDS = 1
    run = training_run_start(project=trainable, trigger="manual", options=SMALL, enqueue=False)
    on_progress = outage_at_first_step(3, attempts=(1, 2))
    try:
        run = training_run_execute(run_id=run.id, progress_every=0, on_progress=on_progress)
    finally:
        finish(on_progress.timers)
    assert (run.status, run.attempts) == ("failed", 2)
    assert run.error.startswith("lost its database in attempt 2 of 2: "), run.error
    assert "heartbeats" not in run.error and run.version is None
    assert UNREACHABLE_PORT in run.error or "connection" in run.error.lower()
