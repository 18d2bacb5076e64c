"""Celery tasks: thin wrappers that take ids and call one service.

Expected failures are reported on the TrainingRun row by the service, never retried. A worker
that dies mid-run (killed for memory) leaves its message to be delivered again: acks_late keeps
it unacknowledged and reject_on_worker_lost requeues it; the service retries such a run once.
"""

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down

from rewardtrain import live_scoring, runs, worker_shutdown

# A worker told to stop has its training run stop at the next step and queued again; the next
# worker to start sends it.
worker_shutting_down.connect(worker_shutdown.request_stop)


@worker_ready.connect
def _send_runs_waiting_for_a_worker(**_signal_kwargs):
    runs.resend_unsent_runs()


# ignore_result: the run's row is its outcome. The name is what runs.TRAIN_TASK sends.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def train_reward_model(self, run_id):
    with worker_shutdown.stop_on_signal():
        run = runs.training_run_execute(run_id=run_id, task_id=self.request.id)
    return {"run": run_id, "status": run.status if run else None}


@shared_task
def schedule_retraining():
    return [run.id for run in runs.schedule_retraining()]


@shared_task
def reap_stale_runs():
    return runs.reap_stale_runs()


@shared_task(ignore_result=True)
def score_fresh_labels():
    return live_scoring.score_fresh_labels()


@shared_task(ignore_result=True)
def refresh_queue_scores():
    return live_scoring.refresh_queue_scores()
