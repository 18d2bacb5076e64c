"""A labeler makes and revokes an API token and changes their password in Chromium, at a desktop
and a phone width, with nothing wider than the phone."""

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from tests import factories

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
