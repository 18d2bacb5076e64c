from celery import shared_task
from django.db import connection

from .imports import import_job_run, import_jobs_reap_stale


@shared_task
def ping(value):
    """A trivial round trip through a worker; it answers with the database it reached."""
    return {"echo": value, "database": connection.vendor}


# acks_late with reject_on_worker_lost: a worker killed mid-import leaves the message to be
# delivered again, and the service imports it once more (the first try's transaction rolled back).
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def import_job_run_task(job_id):
    """A large upload's import: the service claims the job, so a redelivered message imports nothing twice."""
    job = import_job_run(job_id=job_id)
    return {"job": job_id, "status": job.status if job else None}


@shared_task
def reap_stale_import_jobs():
    return import_jobs_reap_stale()
