"""Users change their password, or reset it by e-mail, from the web (Django's views), audited."""

import json
import os
import re

import pytest
from django.core import mail
from django.urls import reverse

from annotator.models import AuditEntry
from tests import factories
from tests.pages.test_https_settings import run_manage

pytestmark = pytest.mark.django_db

NEW = "a-new-password-42"


def _logs_in(password, username="labeler"):
    from django.test import Client

    return Client().login(username=username, password=password)


def test_password_change_works_and_the_old_password_stops(client, labeler):
    client.force_login(labeler)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(
        reverse("password_change"),
        {
            "old_password": factories.PASSWORD,
            "new_password1": NEW,
            "new_password2": NEW,
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert _logs_in(NEW) and not _logs_in(factories.PASSWORD)
    assert client.get(reverse("project_list")).status_code == 200  # still logged in after the change
    assert AuditEntry.objects.get(action="password.change").actor_username == "labeler"


def test_password_change_with_a_wrong_old_password_is_refused_naming_the_field(client, labeler):
    client.force_login(labeler)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 200 and "Old password:" in response.content.decode()
    assert _logs_in(factories.PASSWORD)


def test_password_change_needs_a_login(client):
    assert client.get(reverse("password_change")).status_code == 302


def test_reset_sends_a_mail_whose_link_sets_a_new_password(client, labeler):
    labeler.email = "labeler@example.com"
    labeler.save()
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()
    response = client.post(reverse("password_reset"), {"email": "labeler@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["labeler@example.com"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)  # Django swaps the token in the URL for one in the session
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert _logs_in(NEW) and not _logs_in(factories.PASSWORD)
    assert AuditEntry.objects.get(action="password.reset").actor_username == "labeler"
    # The link works once.
    assert "no longer valid" in client.get(link, follow=True).content.decode()


def test_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def _mail_settings(tmp_path, **env):
    names = [
        "EMAIL_BACKEND",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "EMAIL_HOST_USER",
        "EMAIL_USE_TLS",
        "DEFAULT_FROM_EMAIL",
    ]
    code = f"from django.conf import settings; import json; print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    dropped = [name for name in os.environ if name.startswith("EMAIL_") or name == "DEFAULT_FROM_EMAIL"]
    result = run_manage(tmp_path, "shell", "-c", code, **{name: "" for name in dropped}, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_embedded_default_prints_mail_to_the_console(tmp_path):
    assert _mail_settings(tmp_path)["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_smtp_comes_from_the_environment(tmp_path):
    got = _mail_settings(
        tmp_path,
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="465",
        EMAIL_HOST_USER="arbiter",
        EMAIL_USE_TLS="0",
        DEFAULT_FROM_EMAIL="labels@example.com",
    )
    assert got == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 465,
        "EMAIL_HOST_USER": "arbiter",
        "EMAIL_USE_TLS": False,
        "DEFAULT_FROM_EMAIL": "labels@example.com",
    }
