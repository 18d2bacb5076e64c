"""The labeling page of a classify project, through the plain form and the script's submit."""

import pytest
from django.urls import reverse

from annotator.members import membership_add
from annotator.models import Assignment, Classification, Comparison, Judgment, Project
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db

LABELS = ["not hate", "hate", "unsure"]
FETCH = {"X-Requested-With": "fetch"}


def _classify_project(*members, shown=2, prompts=1, labels=LABELS):
    project = factories.project(
        mode=Project.Mode.CLASSIFY, completions_shown=shown, labels=labels, positive_label=labels[0]
    )
    for user in members:
        membership_add(project=project, user=user, role="labeler")
    factories.prompts(project, prompts, completions=shown)
    return project


def _url(project):
    return reverse("label", args=[project.slug])


def _leased(project, user):
    return assignment_next_for(annotator=user, project=project)


def test_the_page_shows_every_completion_with_one_radio_per_label_and_its_key(client, labeler):
    project = _classify_project(labeler)
    client.force_login(labeler)
    html = client.get(_url(project)).content.decode()
    x, y = _leased(project, labeler).shown
    for completion_id in (x, y):
        for label in LABELS:
            assert f'name="label_{completion_id}" value="{label}"' in html
        assert f'name="excluded" value="{completion_id}"' in html
    assert "<kbd>3</kbd>" in html and 'class="label-choice positive"' in html
    assert html.count('class="label-choice positive"') == 2  # "not hate", once per completion
    assert "Submit labels" in html
    assert 'name="choice"' not in html and "details class=\"edit\"" not in html  # no pairwise buttons, no editing


def test_label_names_and_texts_are_escaped(client, labeler):
    project = _classify_project(labeler, labels=["<b>safe</b>", "bad & worse"])
    completion = project.prompts.get().completions.first()
    completion.text = "fine <script>alert(1)</script>"
    completion.save()
    client.force_login(labeler)
    html = client.get(_url(project)).content.decode()
    assert "&lt;b&gt;safe&lt;/b&gt;" in html and "<b>safe</b>" not in html
    assert "bad &amp; worse" in html
    assert "<script>alert(1)" not in html


def test_plain_form_stores_one_classification_per_labelled_completion(client, labeler):
    project = _classify_project(labeler, shown=3, prompts=2)
    client.force_login(labeler)
    assignment = _leased(project, labeler)
    x, y, z = assignment.shown
    data = {
        "assignment": assignment.pk,
        "client_id": "form-1",
        f"label_{x}": "hate",
        f"label_{y}": "not hate",
        "excluded": [str(z)],
        "comment": " borderline ",
    }
    response = client.post(_url(project), data)
    assert response.status_code == 302 and response.url == _url(project)
    judgment = Judgment.objects.get()
    assert judgment.labels == {str(x): "hate", str(y): "not hate"} and judgment.excluded == [z]
    assert judgment.comment == "borderline" and judgment.choice == "" and judgment.ranking == []
    rows = set(Classification.objects.values_list("completion_id", "label", "annotator_id", "judgment_id", "source"))
    assert rows == {(x, "hate", labeler.pk, judgment.pk, "human"), (y, "not hate", labeler.pk, judgment.pk, "human")}
    assert not Comparison.objects.exists()  # labels, not pairs
    assert _leased(project, labeler).prompt_id != assignment.prompt_id  # on to the next item


def test_an_excluded_completion_drops_the_label_picked_before(client, labeler):
    # Without the script a picked radio cannot be unpicked: ticking "too hard" takes it back.
    project = _classify_project(labeler)
    client.force_login(labeler)
    assignment = _leased(project, labeler)
    x, y = assignment.shown
    data = {"assignment": assignment.pk, "client_id": "f1", f"label_{x}": "hate", f"label_{y}": "hate", "excluded": [str(y)]}
    assert client.post(_url(project), data).status_code == 302
    assert list(Classification.objects.values_list("completion_id", "label")) == [(x, "hate")]
    assert Judgment.objects.get().excluded == [y]


def test_a_single_completion_item_is_labelled(client, labeler):
    project = _classify_project(labeler, shown=1)
    client.force_login(labeler)
    assignment = _leased(project, labeler)
    (only,) = assignment.shown
    response = client.post(_url(project), {"assignment": assignment.pk, "client_id": "f1", f"label_{only}": "unsure"})
    assert response.status_code == 302
    assert Classification.objects.get().label == "unsure"


@pytest.mark.parametrize(
    "answer, message",
    [
        ({"x": "offensive", "y": "hate"}, "Unknown label 'offensive'"),
        ({"x": "hate"}, "Label every completion shown or mark it excluded."),
        ({"excluded": ["x", "y"]}, "Label at least one completion"),
        ({"x": "hate", "y": "hate", "choice": "a"}, "send labels, not a choice"),
    ],
)
def test_a_bad_answer_is_refused_and_nothing_is_stored(client, labeler, answer, message):
    project = _classify_project(labeler)
    client.force_login(labeler)
    assignment = _leased(project, labeler)
    ids = dict(zip("xy", assignment.shown))
    data = {"assignment": assignment.pk, "client_id": "bad-1"}
    for key, value in answer.items():
        if key == "excluded":
            data["excluded"] = [str(ids[v]) for v in value]
        elif key == "choice":
            data["choice"] = value
        else:
            data[f"label_{ids[key]}"] = value
    response = client.post(_url(project), data, headers=FETCH)
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"].values())
    # The plain form says the same on the page it redirects back to, still on this item.
    page = client.post(_url(project), data, follow=True).content.decode()
    assert message.replace("'", "&#x27;") in page and f'name="assignment" value="{assignment.pk}"' in page
    assert not Judgment.objects.exists() and not Classification.objects.exists()
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.ACTIVE


def test_script_submit_gets_the_next_item_and_a_retry_is_stored_once(client, labeler):
    project = _classify_project(labeler, prompts=2)
    client.force_login(labeler)
    assignment = _leased(project, labeler)
    x, y = assignment.shown
    data = {"assignment": assignment.pk, "client_id": "js-1", f"label_{x}": "hate", f"label_{y}": "unsure", "time_spent_ms": "900"}
    first = client.post(_url(project), data, headers=FETCH)
    assert first.status_code == 200
    html = first.content.decode()
    assert "<html" not in html and 'data-mode="classify"' in html
    assert f'name="assignment" value="{assignment.pk}"' not in html
    again = client.post(_url(project), data, headers=FETCH)  # the response was lost; the same client_id comes back
    assert again.status_code == 200
    assert Judgment.objects.count() == 1 and Classification.objects.count() == 2
    changed = client.post(_url(project), {**data, f"label_{y}": "hate"}, headers=FETCH)
    assert changed.status_code == 422  # a retry that says something else is not stored
    assert set(Classification.objects.values_list("label", flat=True)) == {"hate", "unsure"}


def test_skip_stores_nothing(client, labeler):
    project = _classify_project(labeler)
    client.force_login(labeler)
    assignment = _leased(project, labeler)
    assert client.post(_url(project), {"assignment": assignment.pk, "client_id": "s1", "skip": "1"}).status_code == 302
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.SKIPPED
    assert not Classification.objects.exists()


def test_undo_takes_the_labels_back_and_gives_the_item_again(client, labeler):
    project = _classify_project(labeler)
    client.force_login(labeler)
    assignment = _leased(project, labeler)
    x, y = assignment.shown
    client.post(_url(project), {"assignment": assignment.pk, "client_id": "u1", f"label_{x}": "hate", f"label_{y}": "hate"})
    judgment = Judgment.objects.get()
    response = client.post(reverse("judgment_undo", args=[project.slug, judgment.pk]), {"then": "change"})
    assert response.status_code == 302 and response.url == _url(project)
    assert not Judgment.objects.exists() and not Classification.objects.exists()
    html = client.get(_url(project)).content.decode()
    assert f'name="label_{x}"' in html and f'name="label_{y}"' in html  # the same item, to label again


def test_outsiders_and_other_labelers_cannot_label_it(client, labeler, outsider):
    project = _classify_project(labeler)
    other = factories.member(project, "labeler")
    assignment = _leased(project, other)
    x, y = assignment.shown
    data = {"assignment": assignment.pk, "client_id": "p1", f"label_{x}": "hate", f"label_{y}": "hate"}
    client.force_login(outsider)
    assert client.get(_url(project)).status_code == 404
    assert client.post(_url(project), data).status_code == 404
    client.force_login(labeler)
    assert client.post(_url(project), data).status_code == 404  # someone else's item
    client.logout()
    response = client.post(_url(project), data)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not Judgment.objects.exists() and not Classification.objects.exists()
