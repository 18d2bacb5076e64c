"""Labeling a classify project in a real browser: digits, arrows, x and Enter; a phone's width."""

import pytest
from playwright.sync_api import expect

from annotator.members import membership_add
from annotator.models import Classification, Judgment, Project
from tests import factories
from tests.browser.test_labeling_browser import _log_in, _shown_assignment
from tests.browser.test_phone_width_browser import LONG_WORD, PHONE, _page_width

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = ["not hate", "hate", "unsure"]


def _classify_project(labeler, *, slug="toxic", shown=3, prompts=2, labels=LABELS, text="Prompt"):
    project = factories.project(
        slug=slug, mode=Project.Mode.CLASSIFY, completions_shown=shown, labels=labels, positive_label=labels[0]
    )
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, prompts, completions=shown, text=text)
    return project


def _card_ids(page):
    return page.locator("ol.classify > li").evaluate_all("els => els.map(e => Number(e.dataset.completion))")


def _card(page, completion_id):
    return page.locator(f"ol.classify > li[data-completion='{completion_id}']")


def test_labeler_labels_by_digits_and_arrows_excludes_one_and_submits_with_enter(page, live_server, labeler):
    _classify_project(labeler)
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/toxic/label/")
    page.evaluate("window.sameDocument = true")  # gone if any submit reloaded the page
    submit = page.get_by_role("button", name="Submit labels")
    first_item = _shown_assignment(page)
    a, b, c = _card_ids(page)
    expect(_card(page, a)).to_be_focused()  # the first card is focused, ready for keys
    expect(submit).to_be_disabled()

    page.keyboard.press("2")  # A: hate, and on to B
    expect(page.locator(f"input[name=label_{a}][value='hate']")).to_be_checked()
    expect(_card(page, b)).to_be_focused()
    page.keyboard.press("x")  # B too hard, and on to C
    expect(_card(page, b)).to_have_class("completion excluded")
    expect(_card(page, c)).to_be_focused()
    page.keyboard.press("ArrowUp")  # back to B
    expect(_card(page, b)).to_be_focused()
    page.keyboard.press("1")  # B: not hate after all, which takes it back in; on to C, the one left
    expect(page.locator(f"input[name=excluded][value='{b}']")).not_to_be_checked()
    expect(_card(page, c)).to_be_focused()
    page.keyboard.press("Enter")  # C has no label yet: nothing is sent
    expect(page.locator("#status")).to_contain_text("1 left")
    expect(page.locator("[data-will-store]")).to_contain_text("A: hate, B: not hate (2 labels). 1 of 3 still need")
    page.keyboard.press("3")  # C: unsure
    expect(submit).to_be_enabled()
    page.keyboard.press("Enter")
    expect(page.locator("form.judge")).not_to_have_attribute("data-assignment", str(first_item), timeout=20_000)

    judgment = Judgment.objects.get(assignment_id=first_item)
    assert judgment.labels == {str(a): "hate", str(b): "not hate", str(c): "unsure"} and judgment.excluded == []
    assert set(Classification.objects.values_list("completion_id", "label")) == {(a, "hate"), (b, "not hate"), (c, "unsure")}

    # The second item: A too hard, then the arrows' other pair to reach C before B.
    second_item = _shown_assignment(page)
    a, b, c = _card_ids(page)
    expect(_card(page, a)).to_be_focused()
    page.keyboard.press("x")  # A excluded: on to B
    page.keyboard.press("ArrowRight")  # C
    page.keyboard.press("2")  # C: hate; on to B, the one left
    expect(_card(page, b)).to_be_focused()
    page.keyboard.press("ArrowLeft")  # A, still excluded
    expect(_card(page, a)).to_be_focused()
    page.keyboard.press("ArrowDown")  # B
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True

    judgment = Judgment.objects.get(assignment_id=second_item)
    assert judgment.labels == {str(b): "not hate", str(c): "hate"} and judgment.excluded == [a]
    assert set(Classification.objects.filter(judgment=judgment).values_list("completion_id", "label")) == {
        (b, "not hate"),
        (c, "hate"),
    }


def test_labels_picked_by_clicking_and_every_card_excluded_is_not_sent(page, live_server, labeler):
    _classify_project(labeler, shown=2, prompts=1)
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/toxic/label/")
    a, b = _card_ids(page)
    submit = page.get_by_role("button", name="Submit labels")
    _card(page, a).get_by_text("hate", exact=True).click()
    page.keyboard.press("x")  # the clicked radio is in A: A excluded, its label dropped
    expect(page.locator(f"input[name=label_{a}]:checked")).to_have_count(0)
    page.keyboard.press("x")  # B excluded too: nothing labelled, nothing to send
    expect(page.locator("[data-will-store]")).to_contain_text("Label at least one, or skip the item.")
    expect(submit).to_be_disabled()
    _card(page, b).get_by_text("not hate", exact=True).click()  # a label takes B back in
    expect(page.locator(f"input[name=excluded][value='{b}']")).not_to_be_checked()
    submit.click()
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()
    judgment = Judgment.objects.get()
    assert judgment.labels == {str(b): "not hate"} and judgment.excluded == [a]


def test_retry_after_a_lost_response_stores_the_labels_once(page, live_server, labeler):
    _classify_project(labeler, shown=1, prompts=2)
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/toxic/label/")
    first = _shown_assignment(page)

    def deliver_then_drop(route):
        route.fetch()  # the server stores the judgment...
        route.abort()  # ...but the answer never reaches the page

    page.route("**/label/", deliver_then_drop, times=1)
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Could not reach the server")
    assert Classification.objects.count() == 1

    page.keyboard.press("Enter")  # the retry carries the same client_id
    expect(page.locator("form.judge")).not_to_have_attribute("data-assignment", str(first), timeout=20_000)
    assert Judgment.objects.count() == 1 and Classification.objects.count() == 1
    assert Judgment.objects.get().assignment_id == first


def test_the_classify_page_fits_a_phone(browser, live_server, labeler):
    labels = ["acceptable", "hateful " + LONG_WORD[:60], "needs-a-second-look-by-someone-who-knows-the-context"]
    _classify_project(labeler, labels=labels, shown=4, prompts=1, text=f"Label these: {LONG_WORD}")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    try:
        _log_in(phone, live_server, "labeler")
        phone.goto(f"{live_server.url}/projects/toxic/label/")
        expect(phone.locator("ol.classify > li")).to_have_count(4)
        assert _page_width(phone) <= PHONE["width"]
        phone.keyboard.press("2")  # a picked label's look must not widen the page either
        assert _page_width(phone) <= PHONE["width"]
    finally:
        context.close()
