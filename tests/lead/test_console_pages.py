"""The console pages: who may open each, and the audit entries each change writes."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import AuditEntry, Membership, Project
from annotator.projects import project_update
from annotator.queue import assignment_next_for
from tests import factories
from tests.factories import QUALITY_DEFAULTS

pytestmark = pytest.mark.django_db


def settings_post(project, **changes):
    values = {
        "name": project.name,
        "mode": project.mode,
        "completions_shown": project.completions_shown,
        "overlap": project.overlap,
        "instructions": project.instructions,
        "lease_seconds": project.lease_seconds,
        "retrain_min_new_comparisons": project.retrain_min_new_comparisons,
        "base_model": project.base_model,
        "gold_min_accuracy": project.gold_min_accuracy,
        "repeat_share": project.repeat_share,
        "repeat_gap": project.repeat_gap,
        "min_seconds": project.min_seconds,
        "queue_order": project.queue_order,
        "rl_audit_share": project.rl_audit_share,
    }
    values.update({"exclude_flagged_from_training": "on"} if project.exclude_flagged_from_training else {})
    values.update({"allow_tie": "on"} if project.allow_tie else {})
    values.update({"allow_edit": "on"} if project.allow_edit else {})
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def lead_urls(project, judgment):
    slug = project.slug
    return [
        reverse("project_settings", args=[slug]),
        reverse("project_members", args=[slug]),
        reverse("project_judgments", args=[slug]),
        reverse("judgment_detail", args=[slug, judgment.pk]),
    ]


@pytest.fixture
def judgment(project, labeler):
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment, _ = judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="c1")
    return judgment


def test_labeler_gets_403_outsider_404_and_lead_admin_200_on_every_console_page(
    client, project, labeler, lead, admin_user, outsider, judgment
):
    for url in lead_urls(project, judgment) + [reverse("project_audit", args=[project.slug])]:
        for who, status in ((labeler, 403), (outsider, 404), (admin_user, 200)):
            client.force_login(who)
            assert client.get(url).status_code == status, (url, who.username)
    for url in lead_urls(project, judgment):
        client.force_login(lead)
        assert client.get(url).status_code == 200, url


def test_the_audit_log_is_for_admins_and_superusers_only(client, project, lead, admin_user):
    url = reverse("project_audit", args=[project.slug])
    client.force_login(lead)
    assert client.get(url).status_code == 403
    client.force_login(factories.user("root", is_superuser=True))
    assert client.get(url).status_code == 200


def test_only_staff_and_superusers_create_projects(client, lead):
    url = reverse("project_new")
    client.force_login(lead)
    assert client.get(url).status_code == 403
    client.force_login(factories.user("staffer", is_staff=True))
    assert client.get(url).status_code == 200


def test_staff_creates_a_project_becomes_its_admin_and_it_is_audited(client):
    staffer = factories.user("staffer", is_staff=True)
    client.force_login(staffer)
    response = client.post(
        reverse("project_new"),
        {
            "slug": "support",
            "name": "Support",
            "mode": "ranking",
            "completions_shown": 4,
            "overlap": 2,
            "lease_seconds": 300,
            "retrain_min_new_comparisons": 50,
            **QUALITY_DEFAULTS,
            "base_model": "",
            "allow_tie": "on",
        },
    )
    assert response.status_code == 302
    project = Project.objects.get(slug="support")
    assert (project.mode, project.completions_shown, project.overlap, project.allow_edit) == ("ranking", 4, 2, False)
    assert Membership.objects.get(project=project, user=staffer).role == "admin"
    entry = AuditEntry.objects.get(project=project)
    assert (entry.action, entry.actor_username, entry.detail["settings"]["overlap"]) == ("project.create", "staffer", 2)


def test_a_taken_slug_is_shown_as_an_error_and_nothing_is_created(client, project):
    client.force_login(factories.user("root", is_superuser=True))
    response = client.post(reverse("project_new"), settings_post(project, slug=project.slug, name="Other"))
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Project.objects.count() == 1 and not AuditEntry.objects.exists()


def test_saving_settings_audits_old_and_new_values_of_what_changed(client, project, lead):
    client.force_login(lead)
    response = client.post(
        reverse("project_settings", args=[project.slug]),
        settings_post(project, overlap=3, instructions="Be **kind**", allow_tie=None),
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.overlap, project.instructions, project.allow_tie) == (3, "Be **kind**", False)
    entry = AuditEntry.objects.get(action="project.update")
    assert entry.detail["changes"] == {"overlap": [1, 3], "instructions": ["", "Be **kind**"], "allow_tie": [True, False]}
    assert entry.actor_username == "lead"


def test_saving_unchanged_settings_writes_no_audit_entry(client, project, lead):
    client.force_login(lead)
    assert client.post(reverse("project_settings", args=[project.slug]), settings_post(project)).status_code == 302
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"completions_shown": 3}, "completions_shown", "Pairwise mode shows 2 completions."),
        ({"mode": "ranking", "completions_shown": 12}, None, "less than or equal to 9"),
        ({"overlap": 0}, None, "greater than or equal to 1"),
        ({"base_model": "/etc"}, "base_model", "Select a valid choice"),
    ],
)
def test_invalid_settings_are_shown_and_change_nothing(client, project, lead, changes, field, message):
    client.force_login(lead)
    response = client.post(reverse("project_settings", args=[project.slug]), settings_post(project, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    if field:
        assert message in " ".join(response.context["form"].errors[field])
    project.refresh_from_db()
    assert (project.completions_shown, project.overlap, project.mode) == (2, 1, "pairwise")
    assert not AuditEntry.objects.exists()


def test_base_model_choices_are_model_folders_under_the_roots(client, project, lead, settings, tmp_path):
    (tmp_path / "tiny-bert").mkdir()
    for name in ("config.json", "model.safetensors", "vocab.txt"):  # what a loadable model folder has
        (tmp_path / "tiny-bert" / name).write_text("{}")
    (tmp_path / "not-a-model").mkdir()
    settings.ARBITER_MODEL_ROOTS = [tmp_path]
    client.force_login(lead)
    url = reverse("project_settings", args=[project.slug])
    values = [v for v, _ in client.get(url).context["form"].fields["base_model"].choices]
    assert values == ["", str(tmp_path / "tiny-bert")]
    assert client.post(url, settings_post(project, base_model=str(tmp_path / "tiny-bert"))).status_code == 302
    project.refresh_from_db()
    assert project.base_model == str(tmp_path / "tiny-bert")


def test_a_listed_base_model_that_fails_the_training_check_is_refused(client, project, lead, settings, tmp_path):
    # The folder is a choice, but a symlink out of the roots: the same check training runs refuses it.
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        (outside / name).write_text("{}")
    root = tmp_path / "root"
    root.mkdir()
    (root / "sneaky").symlink_to(outside)
    settings.ARBITER_MODEL_ROOTS = [root]
    client.force_login(lead)
    response = client.post(
        reverse("project_settings", args=[project.slug]), settings_post(project, base_model=str(root / "sneaky"))
    )
    assert response.status_code == 400
    assert "not under ARBITER_MODEL_ROOTS" in " ".join(response.context["form"].errors["base_model"])


def test_preview_renders_through_the_labeling_pages_sanitiser(client, lead):
    client.force_login(lead)
    response = client.post(reverse("instructions_preview"), {"text": "**bold** <script>alert(1)</script>"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>bold</strong>" in html and "<script>" not in html


def test_preview_is_refused_to_someone_who_leads_nothing(client, labeler):
    client.force_login(labeler)
    assert client.post(reverse("instructions_preview"), {"text": "x"}).status_code == 403


def test_settings_page_shows_the_instructions_preview_sanitised(client, project, lead):
    project.instructions = "Pick **one** <img src=x onerror=alert(1)>"
    project.save()
    client.force_login(lead)
    html = client.get(reverse("project_settings", args=[project.slug])).content.decode()
    assert "<strong>one</strong>" in html and "<img" not in html


def test_a_refused_update_leaves_the_project_as_stored(project, lead):
    with pytest.raises(ValidationError):
        project_update(project=project, actor=lead, fields={"overlap": 0, "name": "Renamed"})
    assert (project.overlap, project.name) != (0, "Renamed")
    assert not AuditEntry.objects.exists()


def test_the_audit_log_page_lists_who_did_what(client, project, admin_user):
    client.force_login(admin_user)
    client.post(reverse("project_settings", args=[project.slug]), settings_post(project, name="Renamed"))
    html = client.get(reverse("project_audit", args=[project.slug])).content.decode()
    assert "project.update" in html and "projectadmin" in html and "Renamed" in html
    judgments_page = client.get(reverse("project_judgments", args=[project.slug])).content.decode()
    assert reverse("project_audit", args=[project.slug]) in judgments_page  # admins get the link everywhere
