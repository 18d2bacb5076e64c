"""make test without PostgreSQL skips the tests that need it; with CI=true it refuses to."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDS_POSTGRES = "tests/api/test_concurrency_postgres.py"


def run_pytest_without_services(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CI")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", NEEDS_POSTGRES, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_postgres_the_postgres_tests_are_skipped_with_the_reason():
    result = run_pytest_without_services()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "needs PostgreSQL" in result.stdout and "skipped" in result.stdout


def test_in_ci_a_missing_postgres_is_an_error_not_a_skip():
    result = run_pytest_without_services(CI="true")
    assert result.returncode != 0
    assert "CI=true" in result.stdout + result.stderr
