import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from annotator import demo_data
from annotator.models import Comparison, Completion, Membership, Project, Prompt

pytestmark = pytest.mark.django_db


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (Project, Prompt, Completion, Comparison, Membership, get_user_model())
    }


def test_seed_demo_twice_creates_everything_once(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first["Project"] == 1 and first["Prompt"] == len(demo_data.PROMPTS) >= 50
    assert first["Completion"] == 4 * first["Prompt"] and first["Membership"] == 3
    assert "skipped 50 already there" in capsys.readouterr().out


def test_demo_project_is_pairwise_with_markdown_instructions():
    call_command("seed_demo")
    project = Project.objects.get(slug="demo")
    assert (project.mode, project.overlap, project.allow_tie, project.allow_edit) == ("pairwise", 1, True, True)
    assert "**Correct**" in project.instructions
    assert Prompt.objects.filter(project=project, completions__text__contains="```").distinct().count() >= 10


def test_demo_users_log_in_with_the_printed_password(client, capsys):
    call_command("seed_demo")
    assert "Demo logins: admin / arbiter-demo, lead / arbiter-demo, labeler / arbiter-demo" in capsys.readouterr().out
    for username in ("admin", "lead", "labeler"):
        assert client.login(username=username, password="arbiter-demo")
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    roles = dict(Membership.objects.values_list("user__username", "role"))
    assert roles == {"admin": "admin", "lead": "lead", "labeler": "labeler"}


def test_password_comes_from_the_environment(client, monkeypatch):
    monkeypatch.setenv("ARBITER_DEMO_PASSWORD", "another-secret")
    call_command("seed_demo")
    assert client.login(username="lead", password="another-secret")
    assert not client.login(username="lead", password="arbiter-demo")


def test_demo_lead_sees_the_project_page_and_labeler_gets_an_item(client):
    call_command("seed_demo")
    client.login(username="lead", password="arbiter-demo")
    assert client.get(reverse("project_detail", args=["demo"])).status_code == 200
    client.login(username="labeler", password="arbiter-demo")
    response = client.get(reverse("label", args=["demo"]))
    assert response.status_code == 200 and response.context["assignment"] is not None


def test_every_demo_prompt_has_four_distinct_candidates_and_one_best():
    for prompt_id, _category, _prompt, candidates in demo_data.PROMPTS:
        texts = [text for _quality, text in candidates]
        assert len(texts) == 4 and len(set(texts)) == 4, prompt_id
        assert [quality for quality, _ in candidates].count("best") == 1, prompt_id
