"""Celery tasks: thin wrappers that take ids and call one service.

Expected failures are reported on the TrainingRun row by the service, never retried: a
training run is long, and a redelivered one is marked failed rather than trained twice.
"""

from celery import shared_task

from rewardtrain import services


@shared_task(bind=True, acks_late=True)
def train_reward_model(self, run_id):
    run = services.training_run_execute(run_id=run_id, task_id=self.request.id)
    return {"run": run_id, "status": run.status if run else None}


@shared_task
def schedule_retraining():
    return [run.id for run in services.schedule_retraining()]


@shared_task
def reap_stale_runs():
    return services.reap_stale_runs()
