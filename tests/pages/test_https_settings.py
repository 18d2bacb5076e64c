"""ARBITER_HTTPS=1 is all a deployment behind HTTPS needs for Django's deploy check to pass."""

import json
import os
import secrets
import subprocess
import sys

from django.conf import settings

DEPLOYMENT = {"DEBUG": "0", "ALLOWED_HOSTS": "arbiter.example.com"}


def run_manage(tmp_path, *args, **env):
    """manage.py in a fresh process, on the embedded database, with only these settings given."""
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests' conftest in this process, never in a deployment.
    dropped = ("ARBITER_HTTPS", "SECURE_COOKIES", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environ = {k: v for k, v in os.environ.items() if k not in dropped}
    environ.update(SECRET_KEY=secrets.token_urlsafe(50), ARBITER_DATA_DIR=str(tmp_path), **DEPLOYMENT, **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_under(tmp_path, **env):
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    ]
    code = f"from django.conf import settings; import json; print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    result = run_manage(tmp_path, "shell", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_deploy_check_passes_with_arbiter_https(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", ARBITER_HTTPS="1")
    assert result.returncode == 0, result.stderr


def test_deploy_check_fails_without_it(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


def test_arbiter_https_turns_on_secure_cookies_hsts_redirect_and_the_proxy_header(tmp_path):
    on = settings_under(tmp_path, ARBITER_HTTPS="1")
    assert on["SESSION_COOKIE_SECURE"] and on["CSRF_COOKIE_SECURE"] and on["SECURE_SSL_REDIRECT"]
    assert on["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert on["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600 and on["SECURE_HSTS_INCLUDE_SUBDOMAINS"]


def test_hsts_age_and_subdomains_are_configurable(tmp_path):
    tuned = settings_under(tmp_path, ARBITER_HTTPS="1", ARBITER_HSTS_SECONDS="3600", ARBITER_HSTS_INCLUDE_SUBDOMAINS="0")
    assert tuned["SECURE_HSTS_SECONDS"] == 3600 and not tuned["SECURE_HSTS_INCLUDE_SUBDOMAINS"]


def test_secure_cookies_alone_still_means_secure_cookies_only(tmp_path):
    cookies_only = settings_under(tmp_path, SECURE_COOKIES="1")
    assert cookies_only["SESSION_COOKIE_SECURE"] and cookies_only["CSRF_COOKIE_SECURE"]
    assert not cookies_only["SECURE_SSL_REDIRECT"] and cookies_only["SECURE_HSTS_SECONDS"] == 0
    assert cookies_only["SECURE_PROXY_SSL_HEADER"] is None
