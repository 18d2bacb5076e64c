"""At a 390 px phone width nothing scrolls the page sideways; the lead's tables sort by column."""

import pytest
from playwright.sync_api import expect

from annotator.judgments import JudgmentResult, judgment_record
from annotator.members import membership_add
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LONG_WORD = "https://example.com/" + "a-very-long-path-segment/" * 12  # no space to break at


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


def _page_width(page):
    return page.evaluate("document.documentElement.scrollWidth")


def _judge(project, user, choice):
    assignment = assignment_next_for(annotator=user, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(choice=choice), client_id=f"c-{assignment.pk}")


def test_project_list_lead_page_and_labeling_page_fit_a_phone(phone, live_server):
    project = factories.project(slug="phone", name="A project with a rather long name for a phone")
    lead = factories.member(project, "lead", username="lead-with-a-long-username")
    for n in range(3):
        factories.member(project, "labeler", username=f"labeler-number-{n}-{LONG_WORD[:30]}")
    factories.prompts(project, 3, text=f"Read {LONG_WORD} and answer")
    _judge(project, lead, "a")
    _log_in(phone, live_server, lead.username)

    assert _page_width(phone) <= PHONE["width"]
    phone.goto(f"{live_server.url}/projects/phone/")
    expect(phone.locator("table#people")).to_be_visible()
    assert _page_width(phone) <= PHONE["width"]
    phone.goto(f"{live_server.url}/projects/phone/label/")
    expect(phone.locator("form.judge")).to_be_visible()
    assert _page_width(phone) <= PHONE["width"]
    ranked = factories.project(slug="ranked", mode="ranking", completions_shown=4)
    membership_add(project=ranked, user=lead, role="labeler")
    factories.prompts(ranked, 1, completions=4, text=f"Rank these: {LONG_WORD}")
    phone.goto(f"{live_server.url}/projects/ranked/label/")
    expect(phone.locator("ol.ranking")).to_be_visible()
    assert _page_width(phone) <= PHONE["width"]
    phone.goto(f"{live_server.url}/projects/phone/mine/")
    expect(phone.locator("li.judgment")).to_have_count(1)
    assert _page_width(phone) <= PHONE["width"]


def test_the_people_table_sorts_by_a_column_and_back(page, live_server):
    project = factories.project(slug="sorted")
    lead = factories.member(project, "lead", username="lead")
    busy = factories.member(project, "labeler", username="busy")
    factories.member(project, "labeler", username="aaa-idle")
    factories.prompts(project, 3)
    for _ in range(2):
        _judge(project, busy, "a")
    _judge(project, lead, "b")
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/sorted/")
    users = page.locator("table#people tbody tr td:first-child")
    expect(users).to_have_text(["busy", "lead", "aaa-idle"])  # the server's order: busiest first

    total = page.get_by_role("button", name="Total")
    total.click()
    expect(users).to_have_text(["aaa-idle", "lead", "busy"])
    expect(page.locator("table#people th[aria-sort=ascending]")).to_have_text("Total")
    total.click()
    expect(users).to_have_text(["busy", "lead", "aaa-idle"])
    page.get_by_role("button", name="User").click()
    expect(users).to_have_text(["aaa-idle", "busy", "lead"])
