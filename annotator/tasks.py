from celery import shared_task
from django.db import connection

from .imports import import_job_run


@shared_task
def ping(value):
    """A trivial round trip through a worker; it answers with the database it reached."""
    return {"echo": value, "database": connection.vendor}


@shared_task
def import_job_run_task(job_id):
    """A large upload's import: the service claims the job, so a redelivered message imports nothing twice."""
    job = import_job_run(job_id=job_id)
    return {"job": job_id, "status": job.status if job else None}
