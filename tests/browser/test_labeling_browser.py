"""A labeler's session in a real browser: log in, judge by keyboard, rank, edit."""

import pytest
from playwright.sync_api import expect

from annotator.members import membership_add
from annotator.models import Comparison, Completion, Judgment, Project
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


def _shown_assignment(page):
    return int(page.locator("form.judge").get_attribute("data-assignment"))


def _press_and_wait_for_next(page, key):
    """Press a key that submits; wait until the script swapped in the next item."""
    before = _shown_assignment(page)
    page.keyboard.press(key)
    # a wait bound, not a timing claim: the first submit after start-up can be slow on a loaded machine
    expect(page.locator("form.judge")).not_to_have_attribute("data-assignment", str(before), timeout=20_000)
    return before


def test_labeler_judges_pairs_by_keyboard_and_edits_one(page, live_server, project, labeler):
    factories.prompts(project, 4)
    _log_in(page, live_server, "labeler")
    page.click(f"a[href='/projects/{project.slug}/label/']")
    expect(page.locator("form.judge")).to_be_visible()
    page.evaluate("window.sameDocument = true")  # gone if any submit reloaded the page

    first = _press_and_wait_for_next(page, "1")
    expect(page.locator(".progress")).to_contain_text("Done today: 1")

    # Typing in the comment box must not trigger the "1"/"2" shortcuts.
    page.keyboard.press("c")
    page.keyboard.type("1 and 2 are close; b is wordier")
    assert page.locator("textarea[name=comment]").input_value() == "1 and 2 are close; b is wordier"
    page.keyboard.press("Escape")
    second = _press_and_wait_for_next(page, "2")
    third = _press_and_wait_for_next(page, "t")

    edited_assignment = _shown_assignment(page)
    page.keyboard.press("e")
    editor = page.locator("details.edit[open] textarea")
    expect(editor).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("A careful, corrected answer.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True

    choices = dict(Judgment.objects.values_list("assignment_id", "choice"))
    assert choices == {first: "a", second: "b", third: "tie", edited_assignment: ""}  # an edit alone is no choice
    assert Judgment.objects.get(assignment_id=second).comment == "1 and 2 are close; b is wordier"
    assert all(ms and ms > 0 for ms in Judgment.objects.values_list("time_spent_ms", flat=True))
    edit_judgment = Judgment.objects.get(assignment_id=edited_assignment)
    edited = Completion.objects.get(origin=Completion.Origin.EDITED)
    assert edited.text == "A careful, corrected answer." and edited.author == labeler
    assert edited.parent_id == edit_judgment.shown[0]  # nothing was focused, so the editor opened on A
    assert Comparison.objects.filter(judgment__assignment_id=first).count() == 1
    assert Comparison.objects.filter(judgment__assignment_id=third).count() == 0
    assert Comparison.objects.filter(chosen=edited).count() == 2


def test_labeler_ranks_by_keyboard_and_excludes_one(page, live_server, labeler):
    project = factories.project(slug="ranked", mode=Project.Mode.RANKING, completions_shown=3)
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 1, completions=3)
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/ranked/label/")
    cards = page.locator("ol.ranking > li")
    a, b, c = cards.evaluate_all("els => els.map(e => Number(e.dataset.completion))")
    expect(cards.first).to_be_focused()  # the first card is focused, ready for keys

    page.keyboard.press("3")  # A to rank 3, and on to B, the next unranked
    expect(cards.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")  # back to A
    page.keyboard.press("Alt+ArrowUp")  # A's rank one better: 2; the cards keep their places
    assert cards.evaluate_all("els => els.map(e => Number(e.dataset.completion))") == [a, b, c]
    expect(page.locator(f"select[name=rank_{a}]")).to_have_value("2")
    page.keyboard.press("x")  # A too hard: excluded, its rank gone, and on to B
    expect(page.locator(f"select[name=rank_{b}]")).to_have_value("")  # nothing ranked B or C yet
    expect(cards.nth(1)).to_be_focused()
    page.keyboard.press("1")  # B first, and on to C
    page.keyboard.press("2")  # C second
    expect(page.locator(f"select[name=rank_{c}]")).to_have_value("2")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()

    judgment = Judgment.objects.get()
    assert judgment.ranking == [b, c] and judgment.excluded == [a]
    assert list(Comparison.objects.values_list("chosen_id", "rejected_id")) == [(b, c)]


def test_labeler_ranks_by_drag_and_drop(page, live_server, labeler):
    project = factories.project(slug="dragged", mode=Project.Mode.RANKING, completions_shown=3)
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 1, completions=3)
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/dragged/label/")
    cards = page.locator("ol.ranking > li")
    a, b, c = cards.evaluate_all("els => els.map(e => Number(e.dataset.completion))")

    page.locator(f"li[data-completion='{c}'] .handle").drag_to(cards.first, target_position={"x": 40, "y": 5})
    expect(page.locator(f"select[name=rank_{c}]")).to_have_value("1")
    expect(page.get_by_role("button", name="Submit ranking")).to_be_disabled()  # A and B are unranked
    page.get_by_role("button", name="Use the shown order").click()
    page.get_by_role("button", name="Submit ranking").click()
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()

    assert Judgment.objects.get().ranking == [c, a, b]


def test_retry_after_a_lost_response_stores_the_judgment_once(page, live_server, project, labeler):
    factories.prompts(project, 2)
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/{project.slug}/label/")
    first = _shown_assignment(page)

    def deliver_then_drop(route):
        route.fetch()  # the server stores the judgment...
        route.abort()  # ...but the answer never reaches the page

    page.route("**/label/", deliver_then_drop, times=1)
    page.keyboard.press("1")
    expect(page.locator("#status")).to_contain_text("Could not reach the server")
    assert Judgment.objects.count() == 1

    _press_and_wait_for_next(page, "1")  # the retry carries the same client_id
    assert Judgment.objects.count() == 1
    assert Judgment.objects.get().assignment_id == first
