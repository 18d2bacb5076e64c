"""A labeler makes and revokes an API token, changes their password and resets a forgotten one
from the e-mailed link; a lead reads when each member last judged and logged in. In Chromium, at a
desktop and a phone width, with nothing wider than the page."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect
from rest_framework.test import APIClient

from annotator.models import AuditEntry
from tests import factories
from tests.browser.test_phone_width_browser import _judge, _log_in, _page_width

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW = "a-new-password-42"


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_labeler_makes_uses_and_revokes_a_token_then_changes_password(browser, live_server, viewport):
    project = factories.project(slug="tokens")
    factories.member(project, "labeler", username="labeler")
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "labeler")
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.click("text=Tokens")
    page.fill("#id_name", "labeling script")
    page.click("text=Make token")
    key = page.locator("#new-key").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/projects/").json()[0]["slug"] == "tokens"
    page.reload()
    expect(page.locator("#new-key")).to_have_count(0)  # shown once
    row = page.locator("tr", has_text="labeling script")
    expect(row).not_to_contain_text("never")  # its use is shown
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("tr", has_text="labeling script")).to_have_count(0)
    assert api.get("/api/v1/projects/").status_code == 401

    page.click("text=Password")
    page.fill("#id_old_password", factories.PASSWORD)
    page.fill("#id_new_password1", NEW)
    page.fill("#id_new_password2", NEW)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    context.close()


def test_a_labeler_resets_a_forgotten_password_from_the_e_mailed_link(page_at, live_server):
    page, width = page_at
    project = factories.project(slug="reset")
    labeler = factories.member(project, "labeler", username="forgetful")
    get_user_model().objects.filter(pk=labeler.pk).update(email="forgetful@example.com")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.fill("#id_email", "forgetful@example.com")
    assert _page_width(page) <= width
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    # The live server runs in this process, so the test outbox holds what it sent.
    [message] = mail.outbox
    assert message.to == ["forgetful@example.com"]
    link = re.search(r"https?://\S+", message.body).group(0)
    assert link.startswith(live_server.url)
    page.goto(link)
    page.fill("#id_new_password1", NEW)
    page.fill("#id_new_password2", NEW)
    assert _page_width(page) <= width
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Password set")).to_be_visible()
    assert AuditEntry.objects.filter(action="password.reset", actor_username="forgetful").count() == 1

    page.goto(link)  # it works once
    expect(page.locator("#id_new_password1")).to_have_count(0)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "forgetful")
    page.fill("#id_password", NEW)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


def test_a_lead_reads_when_each_member_last_judged_and_logged_in(page_at, browser, live_server):
    page, width = page_at
    project = factories.project(slug="activity")
    factories.member(project, "lead", username="lead")
    busy = factories.member(project, "labeler", username="busy")
    factories.member(project, "labeler", username="idle")
    factories.prompts(project, 2)
    _judge(project, busy, "a")
    context = browser.new_context()
    _log_in(context.new_page(), live_server, "busy")  # a login of busy's own, in another browser
    context.close()
    busy.refresh_from_db()
    judged = busy.judgments.get().created_at

    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/activity/members/")
    cells = page.locator("tr", has_text="busy").locator("td")
    expect(cells.nth(2)).to_have_text(timezone.localtime(judged).strftime("%Y-%m-%d %H:%M"))
    expect(cells.nth(3)).to_have_text(timezone.localtime(busy.last_login).strftime("%Y-%m-%d %H:%M"))
    cells = page.locator("tr", has_text="idle").locator("td")
    expect(cells.nth(2)).to_have_text("never")
    expect(cells.nth(3)).to_have_text("never")
    assert _page_width(page) <= width
