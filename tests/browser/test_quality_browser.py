"""The quality page in chromium: its SVG charts render, the labelers table sorts by a column, a
username opens the judgments browser filtered to that labeler, and it fits a 390 px phone."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.test_phone_width_browser import PHONE, _log_in, _page_width, phone  # noqa: F401
from tests.quality.hand_judged import hand_judged_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAME = "labeler-with-a-rather-long-username-for-a-phone"


@pytest.fixture
def judged():
    project = hand_judged_project(bob=LONG_NAME)
    factories.member(project, "lead", username="lead")
    return project


def test_the_charts_render_the_table_sorts_and_a_name_opens_its_judgments(page, live_server, judged):
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/judged/")
    page.get_by_role("link", name="Quality").click()
    expect(page.get_by_role("heading", name="Quality of")).to_be_visible()

    charts = page.locator("svg.q-chart")
    expect(charts).to_have_count(8)
    for n in range(8):
        box = charts.nth(n).bounding_box()
        assert box["width"] > 200 and box["height"] > 40  # drawn, not an empty box
    agreement_bars = page.locator("#chart-agreement rect.bar")
    expect(agreement_bars).to_have_count(2)
    assert float(agreement_bars.first.get_attribute("width")) == pytest.approx(236.0)

    users = page.locator("table#labelers tbody tr td:first-child a")
    expect(users).to_have_text(["ann", LONG_NAME])  # the server's order: by username
    gold = page.locator("table#labelers thead th", has_text="Gold accuracy")
    gold.get_by_role("button").click()  # ascending: the long name's 66.7 % first
    expect(users).to_have_text([LONG_NAME, "ann"])
    expect(gold).to_have_attribute("aria-sort", "ascending")
    gold.get_by_role("button").click()
    expect(users).to_have_text(["ann", LONG_NAME])
    expect(page.locator("table#labelers tr.flagged td:first-child a")).to_have_text([LONG_NAME])

    users.filter(has_text=LONG_NAME).click()
    expect(page).to_have_url(f"{live_server.url}/projects/judged/judgments/?labeler={LONG_NAME}")
    expect(page.locator("select[name=labeler]")).to_have_value(LONG_NAME)
    rows = page.locator("table.data tbody tr td:nth-child(2)")
    expect(rows).to_have_text([LONG_NAME] * 3)


def test_the_quality_page_fits_a_phone(phone, live_server, judged):  # noqa: F811
    _log_in(phone, live_server, "lead")
    phone.goto(f"{live_server.url}/projects/judged/quality/")
    expect(phone.locator("table#labelers")).to_be_visible()
    expect(phone.locator("svg.q-chart")).to_have_count(8)
    assert _page_width(phone) <= PHONE["width"]
    for n in range(8):
        assert phone.locator("svg.q-chart").nth(n).bounding_box()["width"] <= PHONE["width"]
