"""The labeler's "My recent judgments" page: change and undo as plain forms, for their own judgments only."""

import pytest
from django.test import Client
from django.urls import reverse

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import AuditEntry, Judgment
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def _judged(project, user, choice="a"):
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=user, project=project)
    judgment, _ = judgment_record(assignment=assignment, result=JudgmentResult(choice=choice), client_id="c1")
    return judgment


def _undo_url(judgment):
    return reverse("judgment_undo", args=[judgment.prompt.project.slug, judgment.pk])


def test_labeling_page_links_to_my_recent_judgments(client, project, labeler):
    client.force_login(labeler)
    response = client.get(reverse("label", args=[project.slug]))
    assert reverse("my_judgments", args=[project.slug]).encode() in response.content


def test_my_judgments_shows_the_choice_the_pairs_and_the_undo_form(client, project, labeler):
    judgment = _judged(project, labeler, choice="b")
    client.force_login(labeler)
    response = client.get(reverse("my_judgments", args=[project.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "B is better" in html and "B &gt; A" in html
    assert f'action="{_undo_url(judgment)}"' in html
    assert 'value="change"' in html and 'value="undo"' in html and "csrfmiddlewaretoken" in html


def test_a_judgment_past_the_window_shows_no_undo_form(client, project, labeler, settings):
    settings.ARBITER_UNDO_MINUTES = 0
    judgment = _judged(project, labeler)
    client.force_login(labeler)
    html = client.get(reverse("my_judgments", args=[project.slug])).content.decode()
    assert _undo_url(judgment) not in html and "Final:" in html


def test_other_people_do_not_see_a_labelers_judgments(client, project, labeler):
    _judged(project, labeler, choice="b")
    client.force_login(factories.member(project, "lead"))
    html = client.get(reverse("my_judgments", args=[project.slug])).content.decode()
    assert "B &gt; A" not in html and "You have not judged anything" in html


def test_an_outsider_gets_404_for_the_page(client, project, outsider):
    client.force_login(outsider)
    assert client.get(reverse("my_judgments", args=[project.slug])).status_code == 404


def test_undo_removes_the_judgment_and_returns_to_the_list(client, project, labeler):
    judgment = _judged(project, labeler)
    client.force_login(labeler)
    response = client.post(_undo_url(judgment), {"then": "undo"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("my_judgments", args=[project.slug])
    assert "Your judgment was undone" in response.content.decode()
    assert not Judgment.objects.exists()
    assert AuditEntry.objects.get().action == "judgment.undo"


def test_change_undoes_and_opens_the_same_item_on_the_labeling_page(client, project, labeler):
    judgment = _judged(project, labeler)
    client.force_login(labeler)
    response = client.post(_undo_url(judgment), {"then": "change"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("label", args=[project.slug])
    item = response.context["assignment"]
    assert (item.prompt_id, item.shown) == (judgment.prompt_id, judgment.shown)
    assert not Judgment.objects.exists()


@pytest.mark.parametrize("role", ["labeler", "lead", "admin"])
def test_undo_of_someone_elses_judgment_is_404(client, project, labeler, role):
    judgment = _judged(project, labeler)
    client.force_login(factories.member(project, role))
    assert client.post(_undo_url(judgment), {"then": "undo"}).status_code == 404
    assert Judgment.objects.count() == 1


def test_undo_by_an_outsider_is_404(client, project, labeler, outsider):
    judgment = _judged(project, labeler)
    client.force_login(outsider)
    assert client.post(_undo_url(judgment), {"then": "undo"}).status_code == 404
    assert Judgment.objects.count() == 1


def test_undo_past_the_window_is_refused_with_a_message(client, project, labeler, settings):
    settings.ARBITER_UNDO_MINUTES = 0
    judgment = _judged(project, labeler)
    client.force_login(labeler)
    response = client.post(_undo_url(judgment), {"then": "change"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("my_judgments", args=[project.slug])
    assert "can no longer be changed" in response.content.decode()
    assert Judgment.objects.count() == 1


def test_undo_needs_post_and_a_csrf_token(project, labeler):
    judgment = _judged(project, labeler)
    client = Client(enforce_csrf_checks=True)
    client.force_login(labeler)
    assert client.get(_undo_url(judgment)).status_code == 405
    assert client.post(_undo_url(judgment), {"then": "undo"}).status_code == 403
    assert Judgment.objects.count() == 1
