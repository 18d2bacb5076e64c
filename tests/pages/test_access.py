"""Who may see the labeler's pages, and the plain (no JavaScript) form."""

import pytest
from django.urls import reverse

from annotator.members import membership_add
from annotator.models import Assignment, Comparison, Completion, Judgment, Project
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def _label_url(project):
    return reverse("label", args=[project.slug])


def _leased(project, user):
    return assignment_next_for(annotator=user, project=project)


def _ranking_project_with_one_item(labeler):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 1, completions=3)
    return project


def test_anonymous_visitor_is_sent_to_login(client, project):
    for url in (reverse("project_list"), _label_url(project)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login") + "?next=")


def test_login_form_logs_in_and_lands_on_the_project_list(client, labeler):
    response = client.post(reverse("login"), {"username": "labeler", "password": factories.PASSWORD})
    assert response.status_code == 302 and response.url == reverse("project_list")
    assert client.get(reverse("project_list")).status_code == 200


def test_outsider_gets_404_on_another_projects_label_page(client, project, outsider):
    factories.prompts(project, 1)
    client.force_login(outsider)
    assert client.get(_label_url(project)).status_code == 404
    assert client.post(_label_url(project), {"assignment": 1, "client_id": "x", "choice": "a"}).status_code == 404
    assert not Assignment.objects.exists()  # nothing was leased to them either


def test_unknown_project_is_the_same_404_as_a_forbidden_one(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("label", args=["no-such-project"])).status_code == 404


def test_labeler_sees_only_their_projects_in_the_list(client, project, labeler):
    factories.project(slug="secret-project", name="Secret project")
    client.force_login(labeler)
    html = client.get(reverse("project_list")).content.decode()
    assert project.name in html and _label_url(project) in html
    assert "Secret project" not in html and "secret-project" not in html


def test_project_list_shows_progress(client, project, labeler):
    factories.prompts(project, 3)
    client.force_login(labeler)
    client.post(_label_url(project), {"assignment": _leased(project, labeler).pk, "client_id": "c1", "choice": "a"})
    html = client.get(reverse("project_list")).content.decode()
    assert '<td class="num">1</td>' in html  # done today
    assert "2 of 3" in html  # prompts left


def test_labeler_cannot_post_a_judgment_on_someone_elses_assignment(client, project, labeler):
    factories.prompts(project, 1)
    other = factories.member(project, "labeler")
    assignment = _leased(project, other)
    client.force_login(labeler)
    response = client.post(_label_url(project), {"assignment": assignment.pk, "client_id": "c1", "choice": "a"})
    assert response.status_code == 404
    assert not Judgment.objects.exists()


def test_label_page_shows_the_leased_pair_in_display_order(client, project, labeler):
    factories.prompts(project, 1)
    client.force_login(labeler)
    html = client.get(_label_url(project)).content.decode()
    shown = _leased(project, labeler).shown
    texts = [Completion.objects.get(pk=i).text for i in shown]
    assert html.index(texts[0]) < html.index(texts[1])
    assert 'value="a"' in html and 'value="tie"' in html and "<kbd>1</kbd>" in html


def test_plain_form_post_stores_the_judgment_and_redirects_to_the_next_item(client, project, labeler):
    factories.prompts(project, 2)
    client.force_login(labeler)
    client.get(_label_url(project))
    assignment = _leased(project, labeler)
    response = client.post(
        _label_url(project),
        {
            "assignment": assignment.pk,
            "client_id": "form-1",
            "choice": "b",
            "strength": "much",
            "comment": " close call ",
            "time_spent_ms": "",
        },
    )
    assert response.status_code == 302 and response.url == _label_url(project)
    judgment = Judgment.objects.get()
    assert (judgment.choice, judgment.strength, judgment.comment) == ("b", "much", "close call")
    comparison = Comparison.objects.get()
    assert (comparison.chosen_id, comparison.rejected_id) == (assignment.shown[1], assignment.shown[0])
    assert _leased(project, labeler).prompt_id != assignment.prompt_id


def test_double_post_with_the_same_client_id_stores_one_judgment(client, project, labeler):
    factories.prompts(project, 2)
    client.force_login(labeler)
    data = {"assignment": _leased(project, labeler).pk, "client_id": "same-id", "choice": "a"}
    first = client.post(_label_url(project), data)
    second = client.post(_label_url(project), data)
    assert first.status_code == second.status_code == 302
    assert Judgment.objects.count() == 1 and Comparison.objects.count() == 1


def test_script_submit_gets_the_next_item_partial(client, project, labeler):
    factories.prompts(project, 2)
    client.force_login(labeler)
    first = _leased(project, labeler)
    response = client.post(
        _label_url(project),
        {"assignment": first.pk, "client_id": "js-1", "choice": "tie", "time_spent_ms": "4200"},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'class="judge"' in html
    assert f'name="assignment" value="{first.pk}"' not in html
    assert Judgment.objects.get().time_spent_ms == 4200


def test_script_submit_of_an_invalid_judgment_is_a_400_with_the_errors(client, project, labeler):
    factories.prompts(project, 1)
    project.allow_tie = False
    project.save()
    client.force_login(labeler)
    data = {"assignment": _leased(project, labeler).pk, "client_id": "js-1", "choice": "tie"}
    response = client.post(_label_url(project), data, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 400
    assert "choice" in response.json()["errors"]
    assert not Judgment.objects.exists()


def test_invalid_plain_post_redirects_back_with_a_message(client, project, labeler):
    factories.prompts(project, 1)
    project.allow_tie = False
    project.save()
    client.force_login(labeler)
    data = {"assignment": _leased(project, labeler).pk, "client_id": "form-1", "choice": "tie"}
    response = client.post(_label_url(project), data, follow=True)
    assert "Ties are not allowed" in response.content.decode()
    assert not Judgment.objects.exists()


def test_second_submit_under_a_new_client_id_is_a_409_conflict(client, project, labeler):
    factories.prompts(project, 2)
    client.force_login(labeler)
    assignment_pk = _leased(project, labeler).pk
    headers = {"X-Requested-With": "fetch"}
    client.post(_label_url(project), {"assignment": assignment_pk, "client_id": "c1", "choice": "a"}, headers=headers)
    response = client.post(
        _label_url(project), {"assignment": assignment_pk, "client_id": "c2", "choice": "b"}, headers=headers
    )
    assert response.status_code == 409
    assert "already" in response.json()["errors"]["item"]
    assert Judgment.objects.count() == 1


def test_skip_moves_on_without_a_judgment(client, project, labeler):
    factories.prompts(project, 2)
    client.force_login(labeler)
    first = _leased(project, labeler)
    response = client.post(_label_url(project), {"assignment": first.pk, "client_id": "c1", "skip": "1"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == Assignment.Status.SKIPPED and not Judgment.objects.exists()


def test_plain_form_edit_stores_an_edited_completion_that_beats_both(client, project, labeler):
    factories.prompts(project, 1)
    client.force_login(labeler)
    assignment = _leased(project, labeler)
    b = assignment.shown[1]
    response = client.post(
        _label_url(project),
        {"assignment": assignment.pk, "client_id": "c1", "edit_of": b, f"edit_text_{b}": "A better answer."},
    )
    assert response.status_code == 302
    edited = Completion.objects.get(origin=Completion.Origin.EDITED)
    assert (edited.text, edited.parent_id, edited.author) == ("A better answer.", b, labeler)
    assert Judgment.objects.get().choice == ""  # an edit alone says nothing about A against B
    assert Comparison.objects.filter(chosen=edited).count() == 2 == Comparison.objects.count()


def test_plain_form_ranking_stores_ranks_and_exclusions(client, labeler):
    project = _ranking_project_with_one_item(labeler)
    client.force_login(labeler)
    html = client.get(_label_url(project)).content.decode()
    x, y, z = _leased(project, labeler).shown
    assert f'name="rank_{x}"' in html and f'name="excluded" value="{z}"' in html
    ranks = {f"rank_{x}": "2", f"rank_{y}": "1", f"rank_{z}": "3", "excluded": [str(z)]}
    data = {"assignment": _leased(project, labeler).pk, "client_id": "r1", **ranks}
    response = client.post(_label_url(project), data)
    assert response.status_code == 302
    judgment = Judgment.objects.get()
    assert judgment.ranking == [y, x] and judgment.excluded == [z]
    assert list(Comparison.objects.values_list("chosen_id", "rejected_id")) == [(y, x)]


def test_ranking_with_two_equal_ranks_is_rejected(client, labeler):
    project = _ranking_project_with_one_item(labeler)
    client.force_login(labeler)
    x, y, z = _leased(project, labeler).shown
    ranks = {f"rank_{x}": "1", f"rank_{y}": "1", f"rank_{z}": "2"}
    data = {"assignment": _leased(project, labeler).pk, "client_id": "r1", **ranks}
    response = client.post(_label_url(project), data, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 400 and "same rank" in response.json()["errors"]["ranking"]


def test_all_done_state_when_nothing_is_left(client, project, labeler):
    client.force_login(labeler)
    html = client.get(_label_url(project)).content.decode()
    assert "All done" in html and 'class="judge"' not in html


def test_lead_gets_a_manage_link_and_labeler_does_not(client, project, labeler, lead):
    manage_link = f'href="{reverse("project_detail", args=[project.slug])}"'
    client.force_login(lead)
    assert manage_link in client.get(reverse("project_list")).content.decode()
    client.force_login(labeler)
    assert manage_link not in client.get(reverse("project_list")).content.decode()


def test_labeler_never_sees_another_labelers_judgment(client, labeler):
    project = factories.project(overlap=2)
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 1)
    other = factories.member(project, "labeler")
    client.force_login(other)
    data = {"assignment": _leased(project, other).pk, "client_id": "o1", "choice": "b", "comment": "secret opinion"}
    client.post(_label_url(project), data)

    client.force_login(labeler)
    html = client.get(_label_url(project)).content.decode()
    assert 'class="judge"' in html  # the same prompt, offered for its second judgment
    assert "secret opinion" not in html and "Done today: <strong>0</strong>" in html
