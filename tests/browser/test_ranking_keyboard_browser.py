"""Ranking (and judging) by keyboard in Chromium, as a labeler reported it going wrong.

A typed rank moves focus on to the next card still waiting, the cards stay where
they are (the rank is a badge on the card), "Change" on My recent judgments opens
the item with the previous answer filled in, and every key that changes the answer
changes the "Will store" line. Each test checks the judgment stored in the database.
Run at a desktop's and a phone's width.
"""

import pytest
from playwright.sync_api import expect

from annotator.models import Classification, Comparison, Judgment, Membership, Project
from tests import factories
from tests.browser.test_labeling_browser import _log_in, _shown_assignment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [pytest.param(1280, id="desktop"), pytest.param(390, id="phone")]


@pytest.fixture(params=WIDTHS)
def width(request, page):
    page.set_viewport_size({"width": request.param, "height": 844})
    return request.param


def _ranking_project(labeler, *, slug="ranked", shown=4, prompts=2):
    project = factories.project(slug=slug, mode=Project.Mode.RANKING, completions_shown=shown)
    Membership.objects.create(project=project, user=labeler)
    factories.prompts(project, prompts, completions=shown)
    return project


def _open(page, live_server, slug):
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/{slug}/label/")
    expect(page.locator("form.judge")).to_be_visible()


def _cards(page):
    return page.locator("form.judge .completion")


def _ids(page):
    return _cards(page).evaluate_all("els => els.map(e => Number(e.dataset.completion))")


def _card(page, completion_id):
    return page.locator(f"form.judge .completion[data-completion='{completion_id}']")


def _boxes(page):
    """Where each card sits on the page (not the viewport, which scrolls with the focus)."""
    return _cards(page).evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [e.dataset.completion, Math.round(r.left + scrollX), Math.round(r.top + scrollY),"
        " Math.round(r.width), Math.round(r.height)]; })"
    )


def _change_first_judgment(page):
    page.get_by_role("link", name="My recent judgments").click()
    expect(page.locator("li.judgment")).to_have_count(1)
    page.get_by_role("button", name="Change").click()
    expect(page.locator(".messages")).to_contain_text("judge this item again")


def test_x_2_3_1_excludes_the_first_card_and_ranks_the_others_as_typed(page, live_server, labeler, width):
    _ranking_project(labeler)
    _open(page, live_server, "ranked")
    a, b, c, d = _ids(page)
    before = _boxes(page)
    expect(_card(page, a)).to_be_focused()

    page.keyboard.press("x")  # A too hard: on to B
    expect(_card(page, b)).to_be_focused()
    page.keyboard.press("2")  # B second: on to C
    expect(_card(page, c)).to_be_focused()
    page.keyboard.press("3")  # C third: on to D
    expect(_card(page, d)).to_be_focused()
    page.keyboard.press("1")  # D first: nothing left to rank

    assert _ids(page) == [a, b, c, d] and _boxes(page) == before  # no card moved
    for completion, badge in ((a, "x"), (b, "2"), (c, "3"), (d, "1")):
        expect(_card(page, completion).locator("[data-rank-badge]")).to_have_text(badge)
    expect(page.locator("[data-will-store]")).to_have_text("Will store: D > B > C (3 pairs). Excluded: A.")
    item = _shown_assignment(page)
    page.keyboard.press("Enter")
    expect(page.locator("form.judge")).not_to_have_attribute("data-assignment", str(item))

    judgment = Judgment.objects.get()
    assert judgment.ranking == [d, b, c] and judgment.excluded == [a]
    assert set(Comparison.objects.values_list("chosen_id", "rejected_id")) == {(d, b), (d, c), (b, c)}


def test_arrows_move_the_focus_and_alt_arrows_move_a_rank(page, live_server, labeler, width):
    _ranking_project(labeler)
    _open(page, live_server, "ranked")
    a, b, c, d = _ids(page)
    before = _boxes(page)

    page.keyboard.press("ArrowDown")
    expect(_card(page, b)).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(_card(page, c)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(_card(page, b)).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(_card(page, a)).to_be_focused()
    page.keyboard.press("ArrowUp")  # the first stays first
    expect(_card(page, a)).to_be_focused()

    for rank in "1234":  # A, B, C, D in turn: each rank moves on to the next card
        page.keyboard.press(rank)
    expect(page.locator("[data-will-store]")).to_have_text("Will store: A > B > C > D (6 pairs).")
    _card(page, a).focus()
    page.keyboard.press("Alt+ArrowDown")  # A down one rank: it swaps with B, and keeps the focus
    expect(_card(page, a)).to_be_focused()
    expect(_card(page, a).locator("[data-rank-badge]")).to_have_text("2")
    expect(_card(page, b).locator("[data-rank-badge]")).to_have_text("1")
    expect(page.locator("[data-will-store]")).to_have_text("Will store: B > A > C > D (6 pairs).")
    assert _boxes(page) == before
    page.keyboard.press("Enter")
    expect(page.locator("[data-will-store]")).to_contain_text("nothing yet")  # the next item

    assert Judgment.objects.get().ranking == [b, a, c, d]


def test_change_opens_a_ranking_with_its_ranks_exclusions_and_comment(page, live_server, labeler, width):
    _ranking_project(labeler, prompts=1)
    _open(page, live_server, "ranked")
    a, b, c, d = _ids(page)
    for key in ("x", "2", "3", "1"):
        page.keyboard.press(key)
    page.keyboard.press("c")
    page.keyboard.type("D is the only correct one")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()

    _change_first_judgment(page)
    assert _ids(page) == [a, b, c, d]
    expect(page.locator(f"input[data-exclude][value='{a}']")).to_be_checked()
    for completion, rank in ((a, ""), (b, "2"), (c, "3"), (d, "1")):
        expect(page.locator(f"select[name=rank_{completion}]")).to_have_value(rank)
    expect(_card(page, d).locator("[data-rank-badge]")).to_have_text("1")
    expect(page.locator("textarea[name=comment]")).to_have_value("D is the only correct one")
    expect(page.locator("[data-will-store]")).to_have_text("Will store: D > B > C (3 pairs). Excluded: A.")

    _card(page, b).focus()
    page.keyboard.press("1")  # B first now: it swaps with D, which takes B's 2
    expect(page.locator("[data-will-store]")).to_have_text("Will store: B > D > C (3 pairs). Excluded: A.")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()

    judgment = Judgment.objects.get()
    assert judgment.ranking == [b, d, c] and judgment.excluded == [a]
    assert judgment.comment == "D is the only correct one"


def test_strength_key_changes_will_store_and_change_opens_choice_and_strength(
    page, live_server, project, labeler, width
):
    factories.prompts(project, 1)
    _open(page, live_server, project.slug)
    a, b = _ids(page)
    will_store = page.locator("[data-will-store]")
    expect(will_store).not_to_contain_text("better")

    page.keyboard.press("m")
    expect(will_store).to_contain_text("slightly better")
    page.keyboard.press("m")
    expect(will_store).to_contain_text("much better")
    page.keyboard.press("2")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()
    judgment = Judgment.objects.get()
    assert (judgment.choice, judgment.strength) == ("b", "much")

    _change_first_judgment(page)
    expect(page.locator("select[name=strength]")).to_have_value("much")
    expect(page.get_by_role("button", name="B is better")).to_have_attribute("aria-pressed", "true")
    expect(will_store).to_contain_text("Will store: B > A, much better (1 pair).")
    page.keyboard.press("m")  # much → none
    expect(will_store).to_contain_text("Will store: B > A (1 pair).")
    page.keyboard.press("m")  # none → slightly
    expect(will_store).to_contain_text("Will store: B > A, slightly better (1 pair).")
    page.keyboard.press("Enter")  # the previous choice, now slightly better
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()

    judgment = Judgment.objects.get()
    assert (judgment.choice, judgment.strength) == ("b", "slightly")
    assert list(Comparison.objects.values_list("chosen_id", "rejected_id")) == [(b, a)]


def test_tie_and_both_bad_while_editing_change_will_store(page, live_server, labeler, width):
    project = factories.project(slug="edits", allow_edit=True, allow_tie=True)
    Membership.objects.create(project=project, user=labeler)
    factories.prompts(project, 1)
    _open(page, live_server, "edits")
    will_store = page.locator("[data-will-store]")
    page.keyboard.press("e")
    page.keyboard.type(" Better.")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Keep the edit").click()
    page.keyboard.press("t")
    expect(will_store).to_contain_text("tie: no pair")
    page.keyboard.press("b")
    expect(will_store).to_contain_text("both bad: no pair")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()
    assert Judgment.objects.get().choice == "both_bad"


def test_change_opens_a_classify_item_with_its_labels(page, live_server, labeler, width):
    labels = ["good", "bad"]
    project = factories.project(
        slug="sorted", mode=Project.Mode.CLASSIFY, completions_shown=3, labels=labels, positive_label="good"
    )
    Membership.objects.create(project=project, user=labeler)
    factories.prompts(project, 1, completions=3)
    _open(page, live_server, "sorted")
    a, b, c = _ids(page)
    for key in ("2", "x", "1"):  # A bad, B too hard, C good
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()

    _change_first_judgment(page)
    expect(page.locator(f"input[name=label_{a}][value='bad']")).to_be_checked()
    expect(page.locator(f"input[data-exclude][value='{b}']")).to_be_checked()
    expect(page.locator(f"input[name=label_{c}][value='good']")).to_be_checked()
    expect(page.locator("[data-will-store]")).to_contain_text("A: bad, B: excluded, C: good (2 labels)")
    _card(page, c).focus()
    page.keyboard.press("2")  # C bad now
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()

    judgment = Judgment.objects.get()
    assert judgment.labels == {str(a): "bad", str(c): "bad"} and judgment.excluded == [b]
    assert Classification.objects.filter(judgment=judgment).count() == 2
