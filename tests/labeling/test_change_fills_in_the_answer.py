"""What "Change" on My recent judgments opens: the item with the answer being changed filled in (plain form)."""

import pytest

from annotator.models import Judgment, Membership, Project
from tests import factories

pytestmark = pytest.mark.django_db


def _label_url(project):
    return f"/projects/{project.slug}/label/"


def _judge_then_change(client, project, fields):
    """Submit the shown item with `fields`, then press Change on it; returns the page shown after."""
    page = client.get(_label_url(project))
    assignment = page.context["assignment"]
    posted = {"assignment": assignment.pk, "client_id": "first", **fields(assignment.shown)}
    assert client.post(_label_url(project), posted).status_code == 302
    judgment = Judgment.objects.get()
    client.post(f"/projects/{project.slug}/mine/{judgment.pk}/undo/", {"then": "change"})
    return assignment.shown, client.get(_label_url(project))


@pytest.fixture
def ranking_project(labeler):
    project = factories.project(slug="ranked", mode=Project.Mode.RANKING, completions_shown=4)
    Membership.objects.create(project=project, user=labeler)
    factories.prompts(project, 2, completions=4)
    return project


def test_a_changed_ranking_comes_back_with_its_ranks_exclusions_and_comment(client, labeler, ranking_project):
    client.force_login(labeler)
    shown, page = _judge_then_change(
        client,
        ranking_project,
        lambda shown: {
            "excluded": [shown[0]],
            f"rank_{shown[1]}": "2",
            f"rank_{shown[2]}": "3",
            f"rank_{shown[3]}": "1",
            "comment": "D <b>only</b>",
        },
    )
    a, b, c, d = shown
    html = page.content.decode()
    assert page.context["assignment"].shown == shown
    assert f'value="{a}" data-exclude checked' in html
    assert f'value="{b}" data-exclude>' in html
    for completion, rank in ((b, 2), (c, 3), (d, 1)):
        select = html.split(f'name="rank_{completion}"', 1)[1].split("</select>", 1)[0]
        assert f'<option value="{rank}" selected>' in select and select.count("selected") == 1
    assert "selected" not in html.split(f'name="rank_{a}"', 1)[1].split("</select>", 1)[0]
    assert "D &lt;b&gt;only&lt;/b&gt;</textarea>" in html  # the comment, escaped


def test_a_changed_pairwise_choice_comes_back_with_its_strength(client, project, labeler):
    factories.prompts(project, 1)
    client.force_login(labeler)
    _, page = _judge_then_change(client, project, lambda shown: {"choice": "b", "strength": "much"})
    html = page.content.decode()
    assert 'data-previous-choice="b"' in html
    assert '<option value="much" selected>' in html


def test_the_answer_stays_filled_in_until_the_item_is_submitted_again(client, labeler, ranking_project):
    client.force_login(labeler)
    shown, page = _judge_then_change(
        client, ranking_project, lambda shown: {f"rank_{c}": str(r) for r, c in enumerate(shown, 1)}
    )
    assert page.context["answer"].ranks == {c: r for r, c in enumerate(shown, 1)}
    assert client.get(_label_url(ranking_project)).context["answer"].ranks  # a reload shows it again
    ranks = {f"rank_{c}": str(r) for r, c in enumerate(reversed(shown), 1)}
    client.post(
        _label_url(ranking_project), {"assignment": page.context["assignment"].pk, "client_id": "again", **ranks}
    )
    assert Judgment.objects.get().ranking == list(reversed(shown))
    after = client.get(_label_url(ranking_project))
    assert after.context["assignment"].prompt_id != page.context["assignment"].prompt_id
    assert not after.context["answer"].ranks and "answers_to_change" in client.session
    assert client.session["answers_to_change"] == {}


def test_an_item_never_changed_comes_blank(client, labeler, ranking_project):
    client.force_login(labeler)
    page = client.get(_label_url(ranking_project))
    assert " selected>" not in page.content.decode() and 'data-previous-choice=""' in page.content.decode()
