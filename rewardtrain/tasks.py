"""Celery tasks: thin wrappers that take ids and call one service.

Expected failures are reported on the TrainingRun row by the service, never retried. A worker
that dies mid-run (killed for memory) leaves its message to be delivered again: acks_late keeps
it unacknowledged and reject_on_worker_lost requeues it; the service retries such a run once.
"""

from celery import shared_task

from rewardtrain import live_scoring, runs


# ignore_result: the run's row is its outcome. The name is what runs.TRAIN_TASK sends.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def train_reward_model(self, run_id):
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
