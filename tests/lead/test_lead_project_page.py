import pytest
from django.urls import reverse

from annotator.imports import import_file
from annotator.judgments import JudgmentResult, judgment_record
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def judge(project, labeler, client_id):
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id=client_id)


def test_lead_sees_progress_people_sources_and_the_links(client, project, lead, labeler):
    factories.prompts(project, 3)
    judge(project, labeler, "c1")
    judge(project, labeler, "c2")
    import_file(project=project, data=b'{"prompt": "p", "chosen": "a", "rejected": "b"}', format="pairs")
    client.force_login(lead)
    response = client.get(reverse("project_detail", args=[project.slug]))
    assert response.status_code == 200
    assert response.context["progress"]["judgments"] == 2 and response.context["progress"]["prompts"] == 3
    people = {row["username"]: row for row in response.context["labelers"]}
    assert (people["labeler"]["today"], people["labeler"]["total"]) == (2, 2)
    assert (people["lead"]["today"], people["lead"]["total"]) == (0, 0)
    assert dict(response.context["sources"]) == {"Human judgment": 2, "Imported pair": 1}
    page = response.content.decode()
    for name in ("label", "project_import", "project_export"):
        assert reverse(name, args=[project.slug]) in page


def test_instructions_are_rendered_as_sanitised_markdown(client, project, lead):
    project.instructions = "Pick the **better** answer <script>alert(1)</script>"
    project.save()
    client.force_login(lead)
    page = client.get(reverse("project_detail", args=[project.slug])).content.decode()
    assert "<strong>better</strong>" in page and "<script>alert" not in page


def test_labeler_gets_403_and_outsider_404_on_the_lead_page(client, project, labeler, outsider):
    url = reverse("project_detail", args=[project.slug])
    client.force_login(labeler)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_superuser_is_a_lead_everywhere(client, project):
    client.force_login(factories.user("root", is_superuser=True, is_staff=True))
    assert client.get(reverse("project_detail", args=[project.slug])).status_code == 200
