from celery import shared_task
from django.db import connection


@shared_task
def ping(value):
    """A trivial round trip through a worker; it answers with the database it reached."""
    return {"echo": value, "database": connection.vendor}
