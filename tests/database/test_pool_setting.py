"""ARBITER_DB_POOL: unset, 0, 1 or MIN,MAX, read into Django's pool options with CONN_MAX_AGE 0;
ARBITER_PGBOUNCER_TRANSACTION_MODE turns server-side cursors off."""

import json
import os
import subprocess
import sys

import pytest

from annotator.settings import env_db_pool

PRINT_DATABASE = (
    "from django.conf import settings; import json; d = settings.DATABASES['default']; "
    "print(json.dumps([d['OPTIONS'].get('pool'), d['CONN_MAX_AGE'], d['DISABLE_SERVER_SIDE_CURSORS']]))"
)


@pytest.mark.parametrize(
    "text, expected",
    [("", None), ("0", None), ("1", {"min_size": 2, "max_size": 4}), ("2,8", {"min_size": 2, "max_size": 8}), (" 0,1 ", {"min_size": 0, "max_size": 1})],
)
def test_the_pool_sizes(monkeypatch, text, expected):
    monkeypatch.setenv("ARBITER_DB_POOL", text)
    assert env_db_pool("ARBITER_DB_POOL") == expected


@pytest.mark.parametrize("text", ["yes", "2", "8,2", "0,0", "-1,4", "1,2,3"])
def test_a_bad_value_says_what_is_wanted(monkeypatch, text):
    monkeypatch.setenv("ARBITER_DB_POOL", text)
    with pytest.raises(ValueError, match="ARBITER_DB_POOL"):
        env_db_pool("ARBITER_DB_POOL")


def database_settings(**env):
    environment = {**os.environ, "DATABASE_URL": "postgres://arbiter@db.example:5432/arbiter", "SECRET_KEY": "x", **env}
    for name in ("ARBITER_DB_POOL", "ARBITER_PGBOUNCER_TRANSACTION_MODE", "DB_CONN_MAX_AGE"):
        if name not in env:
            environment.pop(name, None)
    command = [sys.executable, "-c", f"import django; django.setup(); {PRINT_DATABASE}"]
    done = subprocess.run(command, env=environment | {"DJANGO_SETTINGS_MODULE": "annotator.settings"}, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_postgresql_gets_the_pool_and_no_persistent_connections():
    assert database_settings() == [None, 60, False]
    assert database_settings(ARBITER_DB_POOL="2,8", DB_CONN_MAX_AGE="300") == [{"min_size": 2, "max_size": 8}, 0, False]
    assert database_settings(ARBITER_PGBOUNCER_TRANSACTION_MODE="1") == [None, 60, True]
