"""The labeling page's numbers and messages, and the plain form's defaults."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from annotator.judgments import JudgmentResult, judgment_record
from annotator.members import membership_add
from annotator.models import Assignment, Comparison, Completion, Judgment, Project
from annotator.queue import assignment_next_for
from annotator.selectors import project_progress
from annotator.views import LEASE_EXPIRED_MESSAGE, MISMATCH_MESSAGE
from tests import factories

pytestmark = pytest.mark.django_db

FETCH = {"X-Requested-With": "fetch"}


def _label_url(project):
    return reverse("label", args=[project.slug])


def _progress_text(html):
    """The progress line as a reader sees it: tags gone, whitespace collapsed."""
    line = re.search(r'<p class="progress".*?</p>', html, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", line).replace("·", " ").split())


def _judge(project, user, choice="a"):
    assignment = assignment_next_for(annotator=user, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(choice=choice), client_id=f"{user.pk}-{assignment.pk}")


def test_all_done_after_judging_everything_says_what_still_needs_others(client, labeler):
    project = factories.project(overlap=2)
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 1)
    _judge(project, labeler)
    client.force_login(labeler)
    html = client.get(_label_url(project)).content.decode()
    assert "All done here" in html
    assert _progress_text(html) == "Done today: 1 Left for you: 0 Done by you, still need labels from others: 1"


def test_prompts_others_hold_are_not_left_for_you_and_the_page_says_they_may_come_back(client, project, labeler):
    factories.prompts(project, 1)  # overlap 1
    other = factories.member(project, "labeler")
    assignment_next_for(annotator=other, project=project)
    client.force_login(labeler)
    html = client.get(_label_url(project)).content.decode()
    assert "All done here" not in html and "Nothing for you right now" in html
    assert "1 prompt you could still label" in html
    assert _progress_text(html) == "Done today: 0 Left for you: 0 Being labeled by others right now: 1"


def test_a_lapsed_lease_of_someone_else_is_left_for_you_again(client, project, labeler):
    factories.prompts(project, 1)
    other = factories.member(project, "labeler")
    held = assignment_next_for(annotator=other, project=project)
    Assignment.objects.filter(pk=held.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert project_progress(project=project, annotator=labeler)["left_for_you"] == 1
    client.force_login(labeler)
    html = client.get(_label_url(project)).content.decode()
    assert 'class="judge"' in html and "Left for you: 1" in _progress_text(html)


def test_left_for_you_counts_the_item_you_hold_and_is_zero_exactly_when_nothing_is_offered(labeler):
    project = factories.project(overlap=2)
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 3)
    others = [factories.member(project, "labeler") for _ in range(2)]
    for _round in range(4):
        offered = assignment_next_for(annotator=labeler, project=project)
        progress = project_progress(project=project, annotator=labeler)
        assert (progress["left_for_you"] == 0) == (offered is None)
        if offered is None:
            break
        judgment_record(assignment=offered, result=JudgmentResult(choice="b"), client_id=f"mine-{offered.pk}")
        for other in others:  # others take (and keep) leases in between
            assignment_next_for(annotator=other, project=project)
    progress = project_progress(project=project, annotator=labeler)
    assert progress["left_for_you"] == 0
    assert progress["waiting_for_others"] + progress["held_by_others"] <= progress["remaining"]


def test_the_lead_numbers_are_unchanged_for_the_project_page(lead, project):
    factories.prompts(project, 2)
    progress = project_progress(project=project)
    assert (progress["prompts"], progress["remaining"], progress["judgments_wanted"]) == (2, 2, 2)
    assert "left_for_you" not in progress and progress["done_today"] is None


class _Selected(HTMLParser):
    """The rank options rendered as selected."""

    def __init__(self, html):
        super().__init__()
        self.selected, self._in_rank = [], False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._in_rank = "data-rank" in attrs
        if tag == "option" and self._in_rank and "selected" in attrs:
            self.selected.append(attrs.get("value"))


@pytest.fixture
def ranking_project(labeler):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 1, completions=3)
    return project


def test_the_plain_ranking_form_arrives_unranked_and_its_defaults_store_nothing(client, labeler, ranking_project):
    client.force_login(labeler)
    html = client.get(_label_url(ranking_project)).content.decode()
    assert _Selected(html).selected == []
    assignment = Assignment.objects.get()
    # What a browser without JavaScript posts for the untouched form: every rank select empty.
    data = {"assignment": assignment.pk, "client_id": "plain-1", **{f"rank_{c}": "" for c in assignment.shown}}
    response = client.post(_label_url(ranking_project), data, follow=True)
    assert "Give every completion a rank" in response.content.decode()
    assert not Judgment.objects.exists()


def test_a_plain_form_edit_without_ranks_stores_only_the_edit(client, labeler, ranking_project):
    client.force_login(labeler)
    client.get(_label_url(ranking_project))
    assignment = Assignment.objects.get()
    x = assignment.shown[0]
    data = {
        "assignment": assignment.pk,
        "client_id": "plain-1",
        "edit_of": x,
        f"edit_text_{x}": "Better than all three.",
        **{f"rank_{c}": "" for c in assignment.shown},
    }
    assert client.post(_label_url(ranking_project), data).status_code == 302
    edited = Completion.objects.get(origin=Completion.Origin.EDITED)
    judgment = Judgment.objects.get()
    assert (judgment.ranking, judgment.excluded) == ([], [])
    assert sorted(Comparison.objects.values_list("rejected_id", flat=True)) == sorted(assignment.shown)
    assert set(Comparison.objects.values_list("chosen_id", flat=True)) == {edited.pk}


def test_a_submit_after_the_lease_lapsed_into_a_full_prompt_is_a_409_the_page_explains(client, project, labeler):
    factories.prompts(project, 2)
    mine = assignment_next_for(annotator=labeler, project=project)
    Assignment.objects.filter(pk=mine.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _judge(project, factories.member(project, "labeler"))
    client.force_login(labeler)
    data = {"assignment": mine.pk, "client_id": "late-1", "choice": "a"}
    response = client.post(_label_url(project), data, headers=FETCH)
    assert response.status_code == 409
    assert response.json()["errors"]["item"] == f"{LEASE_EXPIRED_MESSAGE} Here is the next one."
    assert not Judgment.objects.filter(annotator=labeler).exists()
    plain = client.post(_label_url(project), data, follow=True).content.decode()
    assert "Your time on that item ran out" in plain and 'class="judge"' in plain


def test_a_reused_client_id_with_another_answer_is_a_422_the_page_explains(client, project, labeler):
    factories.prompts(project, 2)
    client.force_login(labeler)
    assignment = assignment_next_for(annotator=labeler, project=project)
    data = {"assignment": assignment.pk, "client_id": "same-1", "choice": "a"}
    assert client.post(_label_url(project), data, headers=FETCH).status_code == 200
    response = client.post(_label_url(project), {**data, "choice": "b"}, headers=FETCH)
    assert response.status_code == 422
    assert response.json()["errors"]["item"] == f"{MISMATCH_MESSAGE} Here is the next one."
    assert list(Judgment.objects.values_list("choice", flat=True)) == ["a"]


class _Scripts(HTMLParser):
    """Inline scripts and event-handler attributes: what a strict CSP would block."""

    def __init__(self, html):
        super().__init__()
        self.blocked = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src"):
            self.blocked.append("inline <script>")
        self.blocked += [f"{tag} {name}" for name in attrs if name.startswith("on")]
        if any((value or "").strip().lower().startswith("javascript:") for value in attrs.values()):
            self.blocked.append(f"{tag} javascript: url")


@pytest.mark.parametrize("mode", [Project.Mode.PAIRWISE, Project.Mode.RANKING])
def test_the_labeling_page_has_nothing_a_strict_content_security_policy_blocks(client, labeler, mode):
    project = factories.project(mode=mode, completions_shown=3, instructions="Be *kind*.")
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 2, completions=3)
    client.force_login(labeler)
    page = client.get(_label_url(project)).content.decode()
    partial = client.get(_label_url(project), headers=FETCH).content.decode()
    assert 'data-will-store' in page and "data-confirm" in page
    assert _Scripts(page).blocked == [] and _Scripts(partial).blocked == []
