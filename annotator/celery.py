import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")

app = Celery("arbiter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def broker_send_connection():
    """A new broker connection that gives up within ARBITER_BROKER_SEND_TIMEOUT: for a send that
    someone waits on ("Retrain now", the API, a beat task, an upload), to be used with `retry=False`.

    The app's own connections suit the worker, which should wait out a broker restart: kombu
    retries the first connect for broker_connection_timeout with back-off, and the Redis client
    has no read timeout, so a Redis that accepts and never answers blocked a send for ever. A
    new connection per send also never meets a pooled one the broker dropped meanwhile.
    """
    timeout = settings.ARBITER_BROKER_SEND_TIMEOUT
    options = {"max_retries": 0}  # one connect attempt, no back-off loop (the SQLAlchemy transport drops it)
    if app.conf.broker_write_url.startswith(("redis://", "rediss://")):
        options.update(socket_connect_timeout=timeout, socket_timeout=timeout)
    return app.connection_for_write(connect_timeout=timeout, transport_options=options)
