"""A reviewer (not a lead) reviews by keyboard on the review page, at 1280 and 390 px: accepts
one judgment, skips one, rejects one with a reason. The labeler then reads the reason on My
recent judgments, the rejected pair is out of a default export and in one with review=any, and
the prompt goes to another labeler."""

import json

import pytest
from playwright.sync_api import expect

from annotator import exports
from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Judgment
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


def _exported_judgments(project, **params):
    options = exports.export_options_from(params, project=project)
    text = "".join(exports.export_stream(project=project, options=options))
    return {json.loads(line)["judgment_id"] for line in text.splitlines()}


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["1280px", "390px"])
def test_a_reviewer_reviews_by_keyboard_and_the_labeler_reads_the_rejection(
    browser, live_server, project, labeler, viewport
):
    factories.member(project, "reviewer", username="rita")
    factories.prompts(project, 3)
    judged = []
    for n in range(3):
        assignment = assignment_next_for(annotator=labeler, project=project)
        judged.append(
            judgment_record(
                assignment=assignment,
                result=JudgmentResult(choice="a"),
                client_id=f"j{n}",
            )[0]
        )
    first, second, third = judged

    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    _log_in(page, live_server, "rita")
    page.get_by_role("link", name="Review").first.click()
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(page.locator(".review-progress")).to_contain_text("0 of 3 judgments reviewed · 3 left for you")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    expect(page.get_by_role("link", name=str(first.pk), exact=True)).to_be_visible()

    page.keyboard.press("a")  # accept the first
    expect(page.locator(".messages")).to_contain_text(f"Judgment {first.pk} by labeler accepted")
    expect(page.get_by_role("link", name=str(second.pk), exact=True)).to_be_visible()
    page.keyboard.press("s")  # skip the second
    expect(page.get_by_role("link", name=str(third.pk), exact=True)).to_be_visible()
    page.keyboard.press("r")  # the cursor goes to the reason, and no "r" is typed
    expect(page.locator("#review-reason")).to_be_focused()
    expect(page.locator("#review-reason")).to_have_value("")
    page.keyboard.type("Chose the answer that ignores the question.")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text(f"Judgment {third.pk} by labeler rejected")
    expect(page.locator(".empty")).to_contain_text("No more judgments after the ones you skipped")
    expect(page.locator(".review-progress")).to_contain_text("2 of 3 judgments reviewed · 1 left for you")
    page.keyboard.press("j")  # nothing to skip to: the page stays
    page.get_by_role("link", name="Back to the skipped ones").click()
    expect(page.get_by_role("link", name=str(second.pk), exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

    reviews = dict(Judgment.objects.values_list("pk", "review"))
    assert reviews == {first.pk: "accepted", second.pk: "", third.pk: "rejected"}
    assert Judgment.objects.get(pk=third.pk).review_reason == "Chose the answer that ignores the question."

    # The labeler reads the rejection and its reason.
    context.clear_cookies()
    _log_in(page, live_server, "labeler")
    page.goto(f"{live_server.url}/projects/{project.slug}/mine/")
    rejected = page.locator(f"#judgment-{third.pk}")
    expect(rejected.locator(".review-note")).to_contain_text(
        "Rejected by a reviewer: Chose the answer that ignores the question."
    )
    expect(page.locator(f"#judgment-{first.pk} .review-note")).to_contain_text("Accepted by a reviewer.")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    context.close()

    # Its pair leaves the default export, not one that asks for any; its prompt goes to another labeler.
    assert third.pk not in _exported_judgments(project) and first.pk in _exported_judgments(project)
    assert third.pk in _exported_judgments(project, review="any")
    assert assignment_next_for(annotator=labeler, project=project) is None
    other = factories.member(project, "labeler", username="other")
    assert assignment_next_for(annotator=other, project=project).prompt_id == third.prompt_id
