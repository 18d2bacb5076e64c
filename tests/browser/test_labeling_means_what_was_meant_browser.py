"""In Chromium, a submission stores only what the labeler said, and says so first.

Each test uses the page as a labeler would (keyboard first) and checks both
what the page posted and the rows stored.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotator.judgments import JudgmentResult, judgment_record
from annotator.members import membership_add
from annotator.models import Assignment, Comparison, Completion, Judgment, Project
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STRICT_CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


def _log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "labeler")
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


def _open(page, live_server, project):
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/projects/{project.slug}/label/")
    expect(page.locator("form.judge")).to_be_visible()


def _posts(page):
    """Every judgment form the labeling page posts, as {field: [values]}."""
    sent = []
    page.on("request", lambda r: sent.append(_fields(r.post_data)) if r.method == "POST" and "/label/" in r.url else None)
    return sent


def _fields(multipart):
    # FormData posts multipart/form-data: "--boundary\r\n<headers>\r\n\r\n<value>\r\n" per field.
    boundary = multipart.split("\r\n", 1)[0]
    fields = {}
    for part in multipart.split(boundary)[1:-1]:
        head, _, value = part.partition("\r\n\r\n")
        name = head.split('name="', 1)[1].split('"', 1)[0]
        fields.setdefault(name, []).append(value.removesuffix("\r\n"))
    return fields


def _card(page, letter):
    return page.locator(f".completion[aria-label='Completion {letter}']")


def _ids(page):
    return [int(i) for i in page.locator(".completion").evaluate_all("els => els.map(e => e.dataset.completion)")]


def test_an_edit_alone_sends_no_choice_and_stores_only_edited_beats_every_shown(page, live_server, project, labeler):
    factories.prompts(project, 1)
    posts = _posts(page)
    _open(page, live_server, project)
    a, b = _ids(page)
    will_store = page.locator("[data-will-store]")
    expect(will_store).to_contain_text("Will store: nothing yet")

    _card(page, "B").focus()
    page.keyboard.press("e")
    page.keyboard.press("Control+a")
    page.keyboard.type("A better answer than both.")
    expect(will_store).to_have_text(
        "Will store: edited B > A, edited B > original B (2 pairs). "
        "Press 1, 2, t or b to also say which original is better, or save the edit alone."
    )
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()

    assert "choice" not in posts[0] and posts[0]["edit_of"] == [str(b)]
    edited = Completion.objects.get(origin=Completion.Origin.EDITED)
    assert Judgment.objects.get().choice == ""
    assert sorted(Comparison.objects.values_list("chosen_id", "rejected_id")) == sorted([(edited.pk, a), (edited.pk, b)])


def test_an_edit_with_a_pressed_choice_stores_both_as_previewed(page, live_server, project, labeler):
    factories.prompts(project, 1)
    posts = _posts(page)
    _open(page, live_server, project)
    a, b = _ids(page)

    _card(page, "B").focus()
    page.keyboard.press("e")
    page.keyboard.type(" And one more sentence.")
    page.keyboard.press("Escape")  # asks; Esc again keeps the edit and leaves the box
    expect(page.locator("[data-confirm]")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("[data-confirm]")).to_be_hidden()
    page.keyboard.press("1")  # with an edit in progress a choice joins it instead of sending
    expect(page.locator("[data-will-store]")).to_contain_text(
        "Will store: edited B > A, edited B > original B, A > B (3 pairs)."
    )
    expect(page.get_by_role("button", name="A is better")).to_have_attribute("aria-pressed", "true")
    assert posts == []
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()

    assert posts[0]["choice"] == ["a"] and posts[0]["edit_of"] == [str(b)]
    edited = Completion.objects.get(origin=Completion.Origin.EDITED)
    assert edited.text.endswith("And one more sentence.")
    assert Judgment.objects.get().choice == "a"
    assert sorted(Comparison.objects.values_list("chosen_id", "rejected_id")) == sorted(
        [(edited.pk, a), (edited.pk, b), (a, b)]
    )


def test_escape_with_typed_text_keeps_the_draft_and_only_an_explicit_discard_drops_it(
    page, live_server, project, labeler
):
    factories.prompts(project, 1)
    _open(page, live_server, project)
    editor = page.locator("details.edit[open] textarea")

    page.keyboard.press("e")
    original = editor.input_value()
    page.keyboard.press("Escape")  # nothing typed: the box just closes
    expect(page.locator("[data-confirm]")).to_be_hidden()
    expect(page.locator("details.edit[open]")).to_have_count(0)

    page.keyboard.press("e")
    page.keyboard.type(" typed words")
    page.keyboard.press("Escape")
    question = page.get_by_role("alertdialog")
    expect(question).to_contain_text("You typed an edit of A. Keep it")
    expect(page.get_by_role("button", name="Keep the edit")).to_be_focused()
    assert editor.input_value() == original + " typed words"

    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Discard the edit")).to_be_focused()
    page.keyboard.press("Enter")
    expect(question).to_be_hidden()
    expect(page.locator("details.edit[open]")).to_have_count(0)
    expect(page.locator("[data-will-store]")).to_contain_text("Will store: nothing yet")
    assert not Judgment.objects.exists()


def test_skipping_with_a_draft_asks_first_and_keeping_it_sends_nothing(page, live_server, project, labeler):
    factories.prompts(project, 2)
    _open(page, live_server, project)
    first = int(page.locator("form.judge").get_attribute("data-assignment"))

    page.keyboard.press("e")
    page.keyboard.type(" draft")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")  # keep it
    page.keyboard.press("s")
    expect(page.get_by_role("alertdialog")).to_contain_text("Skipping discards your edit of A")
    page.keyboard.press("Enter")  # "Keep the edit" has the focus
    assert Assignment.objects.get(pk=first).status == Assignment.Status.ACTIVE
    assert page.locator("details.edit[open] textarea").input_value().endswith(" draft")

    page.keyboard.press("s")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # discard, then the skip goes through
    expect(page.locator("form.judge")).not_to_have_attribute("data-assignment", str(first))
    assert Assignment.objects.get(pk=first).status == Assignment.Status.SKIPPED
    assert not Judgment.objects.exists()


@pytest.fixture
def ranking_project(labeler):
    project = factories.project(slug="ranked", mode=Project.Mode.RANKING, completions_shown=3)
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 2, completions=3)
    return project


def test_ranking_arrives_unranked_and_enter_on_a_fresh_item_stores_nothing(page, live_server, ranking_project):
    posts = _posts(page)
    _open(page, live_server, ranking_project)
    for select in page.locator("select[data-rank]").all():
        expect(select).to_have_value("")
    submit = page.get_by_role("button", name="Submit ranking")
    expect(submit).to_be_disabled()
    expect(page.locator("[data-will-store]")).to_contain_text("Will store: nothing yet. 3 of 3 still need a rank")

    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Give every completion a rank")
    assert posts == [] and not Judgment.objects.exists()

    page.keyboard.press("o")  # "use the shown order", on purpose
    x, y, z = _ids(page)
    expect(page.locator("[data-will-store]")).to_have_text("Will store: A > B > C (3 pairs).")
    expect(submit).to_be_enabled()
    page.keyboard.press("Enter")
    expect(page.locator("form.judge")).to_be_visible()
    expect(page.locator("#status")).to_be_empty()
    assert Judgment.objects.get().ranking == [x, y, z]


def test_ranks_typed_in_any_order_are_the_ranks_stored(page, live_server, ranking_project):
    _open(page, live_server, ranking_project)
    a, b, c = _ids(page)
    for completion, rank in ((a, "3"), (b, "1"), (c, "2")):  # the worst one first
        page.locator(f"li[data-completion='{completion}']").focus()
        page.keyboard.press(rank)
    assert _ids(page) == [a, b, c]  # the cards keep their places; the ranks are what is stored
    expect(page.locator("[data-will-store]")).to_have_text("Will store: B > C > A (3 pairs).")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_be_empty()
    expect(page.locator("[data-will-store]")).to_contain_text("nothing yet")  # the next item, unranked
    assert Judgment.objects.get().ranking == [b, c, a]


def test_enter_on_a_fresh_pairwise_item_stores_nothing(page, live_server, project, labeler):
    factories.prompts(project, 1)
    posts = _posts(page)
    _open(page, live_server, project)
    page.keyboard.press("Enter")
    page.locator(".completion").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert posts == [] and not Judgment.objects.exists()


def test_a_submit_after_the_lease_lapsed_and_others_filled_the_prompt_says_so_and_moves_on(
    page, live_server, project, labeler
):
    factories.prompts(project, 2)
    _open(page, live_server, project)
    mine = Assignment.objects.get(annotator=labeler)
    Assignment.objects.filter(pk=mine.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    other = factories.member(project, "labeler")
    taken = assignment_next_for(annotator=other, project=project)
    assert taken.prompt_id == mine.prompt_id  # the lapsed lease freed the place
    judgment_record(assignment=taken, result=JudgmentResult(choice="a"), client_id="other-1")

    page.keyboard.press("1")
    expect(page.locator("#status")).to_contain_text("Your time on that item ran out")
    expect(page.locator("form.judge")).not_to_have_attribute("data-assignment", str(mine.pk))
    assert Judgment.objects.filter(annotator=labeler).count() == 0
    page.keyboard.press("2")  # the next item works as usual
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()
    assert Judgment.objects.filter(annotator=labeler).count() == 1


def test_a_retry_with_a_changed_answer_says_the_first_one_was_kept_and_moves_on(page, live_server, project, labeler):
    factories.prompts(project, 2)
    _open(page, live_server, project)
    first = int(page.locator("form.judge").get_attribute("data-assignment"))

    def deliver_then_drop(route):
        route.fetch()  # the server stores "A is better"...
        route.abort()  # ...but the answer never reaches the page

    page.route("**/label/", deliver_then_drop, times=1)
    page.keyboard.press("1")
    expect(page.locator("#status")).to_contain_text("Could not reach the server")
    page.keyboard.press("2")  # the labeler changed their mind: same client_id, different answer
    expect(page.locator("#status")).to_contain_text("already stored with the answer you sent first")
    expect(page.locator("form.judge")).not_to_have_attribute("data-assignment", str(first))
    assert list(Judgment.objects.values_list("assignment_id", "choice")) == [(first, "a")]


def test_labeling_runs_under_a_strict_content_security_policy(page, live_server, project, labeler):
    factories.prompts(project, 2)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    def with_policy(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route("**/label/", with_policy)
    _open(page, live_server, project)
    page.keyboard.press("e")
    page.keyboard.type(" more")
    page.keyboard.press("Escape")
    expect(page.get_by_role("alertdialog")).to_be_visible()  # label.js runs
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-will-store]")).to_contain_text("nothing yet")  # the next item came in
    assert Judgment.objects.count() == 1
    assert violations == []


def test_closing_or_leaving_the_edit_panel_never_drops_typed_text(page, live_server, project, labeler):
    factories.prompts(project, 1)
    posts = _posts(page)
    _open(page, live_server, project)
    a, b = _ids(page)
    _card(page, "B").focus()
    page.keyboard.press("e")
    page.keyboard.type(" kept")
    page.keyboard.press("Tab")  # out of the box: the draft stays and is still what will be sent
    expect(page.locator("[data-will-store]")).to_contain_text("edited B > A")
    page.get_by_text("Edit B").click()  # closing the panel asks instead
    expect(page.get_by_role("alertdialog")).to_contain_text("You typed an edit of B")
    page.keyboard.press("Enter")  # keep
    _card(page, "A").focus()
    page.keyboard.press("e")  # one edit per item: back to B's draft, not a new one on A
    expect(page.locator("details.edit[open]")).to_have_count(1)
    expect(page.locator(f"#edit-{b}")).to_be_focused()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("heading", name="All done here")).to_be_visible()
    assert posts[0]["edit_of"] == [str(b)] and posts[0][f"edit_text_{b}"][0].endswith(" kept")
    assert Completion.objects.get(origin=Completion.Origin.EDITED).text.endswith(" kept")
