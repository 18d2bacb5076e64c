"""A forked process (a Celery worker's new child, a gunicorn worker) never draws its parent's
pooled connections: both would talk over one socket."""

import os

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_forked_child_opens_its_own_connections(pooled):
    parent_before = backend_pid()
    connection.close()  # back into the pool, idle, as between two tasks
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report its backend and leave without pytest's teardown
        try:
            os.write(write_end, str(backend_pid()).encode())
            connection.close()
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child_pid = int(pipe.read() or 0)
    os.waitpid(child, 0)
    assert child_pid and child_pid != parent_before
    assert backend_pid() not in (0, child_pid)  # the parent still works, on its own connection
