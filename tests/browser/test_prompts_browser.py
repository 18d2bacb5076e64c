"""A lead finds prompts on the prompts page and acts on two of them, at 1280 and 390 px: searches,
filters, selects two, takes them out of the queue, then puts one back. Run with DATABASE_URL set
too: the search is PostgreSQL's full-text search there, a substring on SQLite."""

import pytest
from playwright.sync_api import expect

from annotator.models import Prompt
from tests import factories
from tests.browser.conftest import BOTH_WIDTHS
from tests.prompt_states import lease

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


def _fits(page, viewport):
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@pytest.mark.parametrize("viewport", BOTH_WIDTHS, ids=["1280px", "390px"])
def test_a_lead_searches_filters_and_takes_two_prompts_out_then_puts_one_back(
    browser, live_server, project, lead, labeler, viewport
):
    apples = factories.prompts(project, 3, text="Apple pie")
    factories.prompts(project, 2, text="Banana bread")
    done = apples[2]
    Prompt.objects.filter(pk=done.pk).update(judgment_count=1)  # finished: not unfinished
    lease(apples[0], labeler)
    phone = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.set_default_timeout(10_000)
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/{project.slug}/judgments/")
    page.get_by_role("link", name="Prompts", exact=True).click()
    expect(page.get_by_role("heading", name=f"Prompts in {project.name}")).to_be_visible()
    expect(page.locator("table.prompts tbody tr")).to_have_count(5)
    _fits(page, viewport)

    page.get_by_label("Search").fill("apple")
    page.get_by_label("Show").select_option("unfinished")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.prompts tbody tr:not(:has(td.empty))")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("labeler")  # its lease
    for prompt in apples[:2]:
        page.get_by_label(f"Select {prompt.external_id}").check()
    page.get_by_label("With the selected prompts").select_option("take_out")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".messages")).to_contain_text("2 prompts taken out of the queue")
    expect(page.get_by_label("Search")).to_have_value("apple")  # back on the same search
    expect(rows).to_have_count(0)  # taken out: no longer unfinished
    assert set(Prompt.objects.filter(taken_out=True).values_list("pk", flat=True)) == {p.pk for p in apples[:2]}

    page.get_by_label("Show").select_option("taken_out")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("taken out")
    page.get_by_label(f"Select {apples[1].external_id}").check()
    page.get_by_label("With the selected prompts").select_option("put_back")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".messages")).to_contain_text("1 prompt put back in the queue")
    expect(rows).to_have_count(1)
    assert list(Prompt.objects.filter(taken_out=True).values_list("pk", flat=True)) == [apples[0].pk]
    _fits(page, viewport)
    context.close()
