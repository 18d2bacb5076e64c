"""Each user makes, names, sees and revokes their own API tokens on /accounts/tokens/; the key is
shown once, works as `Token` and `Bearer`, and DRF's command-line tokens keep working beside them."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotator import authentication, tokens
from annotator.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db


def _make(client, name):
    response = client.post(reverse("token_list"), {"name": name}, follow=True)
    assert response.redirect_chain == [(reverse("token_list"), 302)]
    return re.search(r'<code id="new-key"[^>]*>([0-9a-f]+)</code>', response.content.decode()).group(1)


def _api(key, keyword="Token"):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return api


def test_the_tokens_page_needs_a_login(client):
    assert client.get(reverse("token_list")).status_code == 302


def test_a_new_key_is_shown_once_and_works_as_token_and_bearer(client, labeler, project):
    client.force_login(labeler)
    key = _make(client, "labeling script")
    assert _api(key).get("/api/v1/projects/").json()[0]["slug"] == project.slug
    assert _api(key, "Bearer").get("/api/v1/projects/").status_code == 200
    page = client.get(reverse("token_list")).content.decode()  # as after a reload: no second token
    assert "labeling script" in page and key not in page and key[:8] in page
    assert ApiToken.objects.count() == 1 and "new_token_key" not in client.session
    assert ApiToken.objects.get().key_hash != key  # only its hash is stored


def test_a_second_token_with_another_name_works_beside_the_first(client, labeler):
    client.force_login(labeler)
    first, second = _make(client, "script"), _make(client, "notebook")
    assert first != second
    assert _api(first).get("/api/v1/projects/").status_code == 200
    assert _api(second).get("/api/v1/projects/").status_code == 200
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == [
        "notebook",
        "script",
    ]


def test_a_token_without_a_name_is_refused_naming_the_field(client, labeler):
    client.force_login(labeler)
    response = client.post(reverse("token_list"), {"name": ""})
    assert response.status_code == 400 and "Name: This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_last_use_is_shown_and_written_at_most_once_a_minute(client, labeler):
    client.force_login(labeler)
    key = _make(client, "script")
    assert "never" in client.get(reverse("token_list")).content.decode()
    api = _api(key)
    api.get("/api/v1/projects/")
    used = ApiToken.objects.get().last_used_at
    assert used is not None
    assert used.strftime("%Y-%m-%d %H:%M") in client.get(reverse("token_list")).content.decode()
    with CaptureQueriesContext(connection) as captured:
        api.get("/api/v1/projects/")
    assert not [q for q in captured.captured_queries if q["sql"].startswith("UPDATE") and "api_token" in q["sql"]]
    assert ApiToken.objects.get().last_used_at == used
    ApiToken.objects.update(last_used_at=used - timedelta(minutes=2))
    api.get("/api/v1/projects/")
    assert ApiToken.objects.get().last_used_at > used - timedelta(minutes=1)


def test_a_remembered_token_writes_its_last_use_only_once_a_minute(settings, labeler):
    settings.ARBITER_TOKEN_CACHE_SECONDS = 10
    authentication._remembered.clear()
    _token, key = tokens.token_create(user=labeler, name="script")
    api = _api(key)
    api.get("/api/v1/projects/")
    first = ApiToken.objects.get().last_used_at
    ApiToken.objects.update(last_used_at=None)  # a write from now on would show
    with CaptureQueriesContext(connection) as captured:
        api.get("/api/v1/projects/")
    assert not [q for q in captured.captured_queries if "api_token" in q["sql"]]  # not even a read
    assert ApiToken.objects.get().last_used_at is None and first is not None
    authentication._remembered.clear()


def test_a_revoked_token_gets_401_and_the_revocation_is_audited(client, labeler):
    client.force_login(labeler)
    key = _make(client, "script")
    token = ApiToken.objects.get()
    assert client.post(reverse("token_revoke", args=[token.id])).status_code == 302
    assert _api(key).get("/api/v1/projects/").status_code == 401
    assert _api(key, "Bearer").get("/api/v1/projects/").status_code == 401
    assert list(AuditEntry.objects.filter(project=None).values_list("action", "actor_username").order_by("id")) == [
        ("token.create", "labeler"),
        ("token.revoke", "labeler"),
    ]
    assert AuditEntry.objects.get(action="token.revoke").detail["name"] == "script"


def test_another_users_token_cannot_be_revoked(client, labeler, outsider):
    token, key = tokens.token_create(user=labeler, name="labeler's bot")
    client.force_login(outsider)
    assert client.post(reverse("token_revoke", args=[token.id])).status_code == 404
    assert "bot" not in client.get(reverse("token_list")).content.decode()
    assert _api(key).get("/api/v1/projects/").status_code == 200


def test_revoking_needs_a_post(client, labeler):
    token, _key = tokens.token_create(user=labeler, name="script")
    client.force_login(labeler)
    assert client.get(reverse("token_revoke", args=[token.id])).status_code == 405
    assert ApiToken.objects.exists()


def test_a_token_of_an_inactive_user_gets_401(labeler):
    _token, key = tokens.token_create(user=labeler, name="script")
    labeler.is_active = False
    labeler.save()
    assert _api(key).get("/api/v1/projects/").status_code == 401


def test_the_command_line_token_keeps_working_is_listed_and_can_be_revoked(client, labeler):
    drf = Token.objects.create(user=labeler)
    assert _api(drf.key).get("/api/v1/projects/").status_code == 200
    client.force_login(labeler)
    page = client.get(reverse("token_list")).content.decode()
    assert "Command-line token" in page and drf.key[:8] in page and drf.key not in page
    assert client.post(reverse("command_line_token_revoke")).status_code == 302
    assert _api(drf.key).get("/api/v1/projects/").status_code == 401
    assert AuditEntry.objects.get(action="token.revoke").detail["name"] == "command-line token"


def test_an_unknown_key_of_the_new_length_gets_401(db):
    assert _api("0" * tokens.KEY_LENGTH).get("/api/v1/projects/").status_code == 401
    assert _api("0" * (tokens.KEY_LENGTH + 1)).get("/api/v1/projects/").status_code == 401


def test_the_top_bar_links_to_tokens_and_password(client, labeler):
    client.force_login(labeler)
    page = client.get(reverse("project_list")).content.decode()
    assert reverse("token_list") in page and reverse("password_change") in page
