"""The default connection drawn from Django's PostgreSQL connection pool, as ARBITER_DB_POOL sets
it, for the tests that run in this process (a run with ARBITER_DB_POOL set has it already)."""

import pytest
from django.db import connection


@pytest.fixture
def pooled():
    settings_dict = connection.settings_dict
    saved = settings_dict["CONN_MAX_AGE"], dict(settings_dict["OPTIONS"])
    if not settings_dict["OPTIONS"].get("pool"):
        connection.close()
        settings_dict["CONN_MAX_AGE"] = 0
        settings_dict["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 2}
    connection.ensure_connection()
    assert connection.connection._pool is connection.pool  # drawn from the pool
    yield connection.pool
    connection.close()
    if not saved[1].get("pool"):
        connection.close_pool()
        settings_dict["CONN_MAX_AGE"], settings_dict["OPTIONS"] = saved
