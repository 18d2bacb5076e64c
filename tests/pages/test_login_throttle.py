"""Failed logins lock a username or an address for a window: 429 before any password is hashed."""

import uuid

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.urls import reverse

from annotator import throttling
from annotator.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.django_db

PER_USERNAME, PER_ADDRESS, WINDOW = 3, 5, 600


class CountingHasher(MD5PasswordHasher):
    """The tests' fast hasher, counting every password it hashes (checking one hashes it too)."""

    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def throttle(settings, monkeypatch):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    settings.ARBITER_LOGIN_FAILURES_PER_USERNAME = PER_USERNAME
    settings.ARBITER_LOGIN_FAILURES_PER_ADDRESS = PER_ADDRESS
    settings.ARBITER_LOGIN_WINDOW_SECONDS = WINDOW
    now = [1_000_000.0]
    monkeypatch.setattr(throttling, "_clock", lambda: now[0])
    CountingHasher.calls = 0
    return now


def _login(client, username, password, address="10.0.0.1", **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def _fail(client, username, times, address="10.0.0.1"):
    for _ in range(times):
        assert _login(client, username, "wrong", address).status_code == 200


def test_after_the_limit_a_username_gets_429_with_retry_after_and_no_password_is_hashed(client, labeler):
    _fail(client, "labeler", PER_USERNAME)
    CountingHasher.calls = 0
    for password in ("wrong", factories.PASSWORD):
        response = _login(client, "labeler", password)
        assert response.status_code == 429
        assert response["Retry-After"] == str(WINDOW)
    assert CountingHasher.calls == 0


def test_the_lockout_page_says_why_and_for_how_long(client, labeler):
    _fail(client, "labeler", PER_USERNAME)
    html = _login(client, "labeler", "wrong").content.decode()
    assert "Too many failed logins" in html and "paused for 10 minutes" in html
    assert 'name="username"' in html  # the form is still there for when the pause is over


def test_the_right_password_works_again_once_the_window_is_over(client, labeler, throttle):
    _fail(client, "labeler", PER_USERNAME)
    throttle[0] += WINDOW - 1
    response = _login(client, "labeler", factories.PASSWORD)
    assert response.status_code == 429 and response["Retry-After"] == "1"  # refusals did not extend it
    throttle[0] += 1
    response = _login(client, "labeler", factories.PASSWORD)
    assert response.status_code == 302 and response.url == reverse("project_list")


def test_a_success_clears_the_usernames_count(client, labeler):
    _fail(client, "labeler", PER_USERNAME - 1)
    assert _login(client, "labeler", factories.PASSWORD).status_code == 302
    client.logout()
    _fail(client, "labeler", PER_USERNAME - 1)
    assert _login(client, "labeler", factories.PASSWORD).status_code == 302


def test_spellings_of_a_username_share_one_count(client, labeler):
    _fail(client, "Labeler", 1)
    _fail(client, " LABELER", 1)
    _fail(client, "labeler", PER_USERNAME - 2)
    assert _login(client, "labeler", factories.PASSWORD).status_code == 429


def test_a_locked_username_leaves_other_usernames_from_the_same_address_alone(client, labeler, lead):
    _fail(client, "labeler", PER_USERNAME)
    assert _login(client, "labeler", factories.PASSWORD).status_code == 429
    assert _login(client, "lead", factories.PASSWORD).status_code == 302


def test_an_address_guessing_many_usernames_is_locked_and_other_addresses_are_not(client, labeler):
    for n in range(PER_ADDRESS):
        _fail(client, f"guess-{n}", 1, address="10.6.6.6")
    CountingHasher.calls = 0
    assert _login(client, "labeler", factories.PASSWORD, address="10.6.6.6").status_code == 429
    assert CountingHasher.calls == 0
    assert _login(client, "labeler", factories.PASSWORD, address="10.0.0.2").status_code == 302


def test_ipv6_addresses_count_by_their_64(client, labeler):
    for n in range(PER_ADDRESS):
        _fail(client, f"guess-{n}", 1, address=f"2001:db8:1:2::{n + 1:x}")
    assert _login(client, "labeler", factories.PASSWORD, address="2001:db8:1:2::ffff").status_code == 429
    assert _login(client, "labeler", factories.PASSWORD, address="2001:db8:1:3::1").status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(client, settings, labeler):
    settings.ARBITER_TRUSTED_PROXY_HOPS = 1
    for n in range(PER_ADDRESS):
        # The client's own X-Forwarded-For entry (left) proves nothing; the proxy's (right) counts.
        _login(client, f"guess-{n}", "wrong", address="10.0.0.9", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 198.51.100.7")
    locked = _login(client, "labeler", factories.PASSWORD, address="10.0.0.9", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert locked.status_code == 429
    other = _login(client, "labeler", factories.PASSWORD, address="10.0.0.9", HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert other.status_code == 302


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(client, labeler):
    for n in range(PER_ADDRESS):
        _login(client, f"guess-{n}", "wrong", address="10.0.0.9", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}")
    assert _login(client, "labeler", factories.PASSWORD, address="10.0.0.9").status_code == 429


def test_a_form_that_checked_no_password_does_not_count(client, labeler):
    for _ in range(PER_USERNAME + 1):
        assert client.post(reverse("login"), {"username": "labeler"}, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert _login(client, "labeler", factories.PASSWORD).status_code == 302


def test_every_lockout_is_audited_once_without_a_project(client, labeler):
    _fail(client, "labeler", PER_USERNAME)
    _login(client, "labeler", "wrong")  # refused: neither counted nor audited again
    entry = AuditEntry.objects.get(action="login.lockout")
    assert entry.project is None and entry.actor is None
    assert entry.detail == {"scope": "login-username", "subject": "labeler", "failures": PER_USERNAME, "seconds": WINDOW}


def test_staff_see_a_lock_and_lift_it_and_the_lift_is_audited(client, labeler):
    staff = factories.user("staffer", is_staff=True)
    _fail(client, "labeler", PER_USERNAME, address="10.0.0.1")
    client.force_login(staff)
    html = client.get(reverse("login_locks")).content.decode()
    assert "login-username" in html and "<code>labeler</code>" in html and "Lift" in html
    response = client.post(reverse("login_lock_lift"), {"scope": "login-username", "subject": "labeler"})
    assert response.status_code == 302 and response.url == reverse("login_locks")
    assert "Nothing is locked." in client.get(reverse("login_locks")).content.decode()
    lift = AuditEntry.objects.get(action="login.unlock")
    assert lift.project is None and lift.actor == staff and lift.detail == {"scope": "login-username", "subject": "labeler"}
    client.logout()
    assert _login(client, "labeler", factories.PASSWORD).status_code == 302


def test_lifting_a_lock_that_is_over_is_not_audited(client, labeler, throttle):
    superuser = factories.user("root", is_superuser=True)
    _fail(client, "labeler", PER_USERNAME)
    throttle[0] += WINDOW
    client.force_login(superuser)
    assert "Nothing is locked." in client.get(reverse("login_locks")).content.decode()
    client.post(reverse("login_lock_lift"), {"scope": "login-username", "subject": "labeler"})
    assert not AuditEntry.objects.filter(action="login.unlock").exists()


def test_project_members_and_outsiders_cannot_see_or_lift_locks(client, labeler, admin_user, outsider):
    _fail(client, "labeler", PER_USERNAME)
    for user in (labeler, admin_user, outsider):
        client.force_login(user)
        assert client.get(reverse("login_locks")).status_code == 403
        lift = client.post(reverse("login_lock_lift"), {"scope": "login-username", "subject": "labeler"})
        assert lift.status_code == 403
    client.logout()
    assert client.get(reverse("login_locks")).status_code == 302  # to the login page
    assert _login(client, "labeler", factories.PASSWORD).status_code == 429  # still locked


def test_a_lift_of_an_unknown_scope_is_400_naming_the_field(client):
    client.force_login(factories.user("staffer", is_staff=True))
    response = client.post(reverse("login_lock_lift"), {"scope": "everything", "subject": "labeler"})
    assert response.status_code == 400 and b"scope" in response.content


@pytest.mark.redis
def test_on_redis_a_lock_holds_and_lifts(client, settings, labeler):
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # apart from other test runs on the same Redis
        },
    }
    _fail(client, "labeler", PER_USERNAME)
    CountingHasher.calls = 0
    assert _login(client, "labeler", factories.PASSWORD).status_code == 429
    assert CountingHasher.calls == 0
    client.force_login(factories.user("staffer", is_staff=True))
    assert "<code>labeler</code>" in client.get(reverse("login_locks")).content.decode()
    client.post(reverse("login_lock_lift"), {"scope": "login-username", "subject": "labeler"})
    client.logout()
    assert _login(client, "labeler", factories.PASSWORD).status_code == 302
