"""A labeler changes a judgment and undoes another from "My recent judgments", in a real browser."""

import pytest
from playwright.sync_api import expect

from annotator.models import Assignment, AuditEntry, Comparison, Judgment
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


def _shown_assignment(page):
    return page.locator("form.judge").get_attribute("data-assignment")


def test_labeler_changes_one_judgment_and_undoes_another(page, live_server, project, labeler):
    factories.prompts(project, 2)
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/{project.slug}/label/")
    first = _shown_assignment(page)
    first_prompt = Assignment.objects.get(pk=first).prompt_id
    page.get_by_role("button", name="A is better").click()
    expect(page.locator("form.judge")).not_to_have_attribute("data-assignment", first)

    page.get_by_role("link", name="My recent judgments").click()
    expect(page.locator("li.judgment")).to_have_count(1)
    expect(page.locator("li.judgment")).to_contain_text("A is better")
    expect(page.locator("li.judgment .pairs")).to_contain_text("A > B")
    page.get_by_role("button", name="Change").click()

    # The same item is back on the labeling page, under a new lease; the one after it waits.
    expect(page.locator(".messages")).to_contain_text("judge this item again")
    again = _shown_assignment(page)
    assert Assignment.objects.get(pk=again).prompt_id == first_prompt
    page.get_by_role("button", name="B is better").click()
    expect(page.locator("form.judge")).not_to_have_attribute("data-assignment", again)
    judgment = Judgment.objects.get()
    assert judgment.choice == "b" and judgment.prompt_id == first_prompt
    assert list(Comparison.objects.values_list("chosen_id", flat=True)) == [judgment.shown[1]]

    page.get_by_role("link", name="My recent judgments").click()
    expect(page.locator("li.judgment")).to_contain_text("B is better")
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".messages")).to_contain_text("Your judgment was undone")
    expect(page.locator("li.judgment")).to_have_count(0)
    assert not Judgment.objects.exists() and not Comparison.objects.exists()
    assert AuditEntry.objects.filter(action="judgment.undo").count() == 2


def test_a_judgment_past_the_window_offers_no_undo(page, live_server, project, labeler, settings):
    settings.ARBITER_UNDO_MINUTES = 0
    factories.prompts(project, 1)
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/{project.slug}/label/")
    page.get_by_role("button", name="A is better").click()
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()
    page.get_by_role("link", name="My recent judgments").click()
    expect(page.locator("li.judgment")).to_contain_text("Final:")
    expect(page.get_by_role("button", name="Undo")).to_have_count(0)
