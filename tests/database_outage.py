"""A real PostgreSQL outage for one test process: every backend of its test database is
terminated and the connection settings point at a closed port until the outage ends. The
shared server is never stopped (the test database is this process's own)."""

import threading

import psycopg
from django.db import connection

UNREACHABLE_PORT = "9"  # discard: nothing listens there


def outage(seconds):
    """Cut every connection to the test database and refuse new ones for `seconds`; returns the
    timer that ends it (join it before the test ends)."""
    params = connection.get_connection_params()
    settings_dict = connection.settings_dict  # shared by every thread's connection
    port = settings_dict["PORT"]
    settings_dict["PORT"] = UNREACHABLE_PORT
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [settings_dict["NAME"]],
        )
    restore = threading.Timer(seconds, settings_dict.__setitem__, ["PORT", port])
    restore.start()
    return restore
