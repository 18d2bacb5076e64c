"""Archiving, restoring and deleting a project: who may, what an archived project refuses, what is left."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from annotator.audit_sentences import audit_sentence
from annotator.imports import import_file, import_job_run
from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import (
    AuditEntry,
    ImportJob,
    Judgment,
    Membership,
    Project,
    Prompt,
)
from annotator.project_lifecycle import (
    ARCHIVED_MESSAGE,
    HIDDEN_MESSAGE,
    DeleteRefused,
    ProjectArchived,
    project_archive,
    project_delete,
    project_restore,
)
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db

PROMPTS = "\n".join(json.dumps({"id": f"n{i}", "prompt": f"p{i}", "completions": ["a", "b"]}) for i in range(2)).encode()


@pytest.fixture
def judged(project, labeler):
    """One judged prompt (so that the export has a row) and one left to label."""
    factories.prompts(project, 2)
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="c1")
    return project


@pytest.fixture
def archived(judged, lead):
    project_archive(project=judged, actor=lead)
    return judged


# --- archive and restore ----------------------------------------------------------------


def test_archiving_and_restoring_are_audited_and_done_once(project, lead):
    assert project_archive(project=project, actor=lead) is True
    assert project_archive(project=project, actor=lead) is False
    project.refresh_from_db()
    assert project.archived_at is not None
    assert project_restore(project=project, actor=lead) is True
    assert project_restore(project=project, actor=lead) is False
    project.refresh_from_db()
    assert project.archived_at is None
    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.action for e in entries] == ["project.archive", "project.restore"]
    assert [audit_sentence(e) for e in entries] == ["lead archived the project", "lead restored the project"]


def test_the_settings_page_archives_and_restores_for_a_lead(client, project, lead):
    client.force_login(lead)
    response = client.post(reverse("project_archive", args=[project.slug]))
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.archived_at is not None
    page = client.get(reverse("project_settings", args=[project.slug])).content.decode()
    assert "Restore project" in page and "<fieldset class=\"plain\" disabled>" in page
    client.post(reverse("project_restore", args=[project.slug]))
    project.refresh_from_db()
    assert project.archived_at is None
    assert "Archive project" in client.get(reverse("project_settings", args=[project.slug])).content.decode()


def test_a_labeler_may_not_archive_or_restore(client, project, labeler, outsider):
    for user, status in [(labeler, 403), (outsider, 404)]:
        client.force_login(user)
        assert client.post(reverse("project_archive", args=[project.slug])).status_code == status
    project_archive(project=project, actor=None)
    client.force_login(outsider)
    assert client.post(reverse("project_restore", args=[project.slug])).status_code == 404
    project.refresh_from_db()
    assert project.archived_at is not None


# --- an archived project is hidden from labelers ------------------------------------------


def test_a_labeler_no_longer_sees_an_archived_project_in_the_list(client, archived, labeler, lead):
    client.force_login(labeler)
    page = client.get(reverse("project_list")).content.decode()
    assert archived.name not in page and "Archived" not in page


def test_leads_see_archived_projects_in_a_list_of_their_own(client, archived, lead, outsider):
    other = factories.project(slug="other-archived", name="Someone else's")
    project_archive(project=other, actor=None)
    client.force_login(lead)
    page = client.get(reverse("project_list")).content.decode()
    assert '<h2 id="archived">Archived</h2>' in page
    archived_part = page.split('id="archived"')[1]
    assert archived.name in archived_part and "Someone else" not in page
    root = factories.user("root", is_superuser=True, is_staff=True)
    client.force_login(root)
    assert "Someone else" in client.get(reverse("project_list")).content.decode().split('id="archived"')[1]


def test_a_labeler_gets_a_page_saying_the_project_is_archived(client, archived, labeler):
    client.force_login(labeler)
    for url in (reverse("label", args=[archived.slug]), reverse("my_judgments", args=[archived.slug])):
        response = client.get(url)
        assert response.status_code == 403
        assert HIDDEN_MESSAGE in response.content.decode()


# --- read-only for leads --------------------------------------------------------------------


def test_an_archived_project_refuses_a_leads_changes_with_409(client, archived, lead, labeler):
    client.force_login(lead)
    membership = Membership.objects.get(user=labeler)
    judgment = Judgment.objects.get()
    refused = [
        client.get(reverse("label", args=[archived.slug])),
        client.post(reverse("project_settings", args=[archived.slug]), {"name": "Renamed"}),
        client.post(reverse("project_members", args=[archived.slug]), {"username": "bob", "role": "labeler"}),
        client.post(reverse("member_change", args=[archived.slug, membership.pk]), {"remove": "1"}),
        client.post(reverse("judgment_gold", args=[archived.slug, judgment.pk])),
        client.post(
            reverse("project_import", args=[archived.slug]),
            {"file": SimpleUploadedFile("more.jsonl", PROMPTS), "format": "jsonl"},
        ),
    ]
    for response in refused:
        assert response.status_code == 409
        assert ARCHIVED_MESSAGE in response.content.decode()
    archived.refresh_from_db()
    assert archived.name != "Renamed"
    assert Membership.objects.filter(user=labeler).exists()
    assert Prompt.objects.count() == 2
    assert not AuditEntry.objects.exclude(action="project.archive").exists()


def test_an_archived_projects_pages_still_open_for_its_lead(client, archived, lead):
    client.force_login(lead)
    for name in ("project_detail", "project_settings", "project_members", "project_judgments", "project_export"):
        assert client.get(reverse(name, args=[archived.slug])).status_code == 200, name
    page = client.get(reverse("project_detail", args=[archived.slug])).content.decode()
    assert "Archived on" in page and reverse("label", args=[archived.slug]) not in page


def test_an_archived_project_still_exports_from_the_page(client, archived, lead):
    client.force_login(lead)
    response = client.get(reverse("project_export", args=[archived.slug]), {"download": "1"})
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).splitlines()) == 1


def test_imports_into_an_archived_project_are_refused_by_the_command_and_a_queued_job(archived, lead, tmp_path, settings):
    path = tmp_path / "more.jsonl"
    path.write_bytes(PROMPTS)
    with pytest.raises(CommandError, match="archived"):
        call_command("import_prompts", archived.slug, str(path))
    with pytest.raises(ProjectArchived):
        import_file(project=archived, data=PROMPTS, filename="more.jsonl")
    # queued before the archive, run after it
    job = ImportJob.objects.create(project=archived, requested_by=lead, filename="more.jsonl", upload_path=str(path), size=1)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.errors[0]["reason"] == ARCHIVED_MESSAGE
    assert Prompt.objects.count() == 2


# --- delete ----------------------------------------------------------------------------------


@pytest.fixture
def checkpoints(judged, settings):
    folder = settings.ARBITER_CHECKPOINT_DIR / judged.slug / "v1"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder.parent


def test_an_admin_deletes_a_project_by_typing_its_slug(client, judged, admin_user, checkpoints, django_capture_on_commit_callbacks):
    slug = judged.slug
    client.force_login(admin_user)
    response = client.post(reverse("project_delete", args=[slug]), {"confirm_slug": "not-it"})
    assert response.status_code == 302 and Project.objects.filter(slug=slug).exists()
    assert checkpoints.exists()
    with pytest.raises(DeleteRefused, match=f"Type the project's slug, {slug}"):
        project_delete(project=judged, actor=admin_user, typed_slug=slug.upper())
    with django_capture_on_commit_callbacks(execute=True):  # the test's transaction never commits
        response = client.post(reverse("project_delete", args=[slug]), {"confirm_slug": slug})
    assert response.status_code == 302 and response.url == reverse("project_list")
    assert not Project.objects.filter(slug=slug).exists()
    assert Prompt.objects.count() == Judgment.objects.count() == 0
    assert not checkpoints.exists()
    entry = AuditEntry.objects.get(action="project.delete")
    assert (entry.project, entry.project_slug, entry.actor_username) == (None, slug, "projectadmin")
    assert audit_sentence(entry) == f'projectadmin deleted the project "{judged.name}" with 2 prompts, 1 judgments and 0 model versions'


def test_only_an_admin_may_delete_a_project(client, judged, lead, labeler, outsider, checkpoints):
    for user, status in [(lead, 403), (labeler, 403), (outsider, 404)]:
        client.force_login(user)
        assert client.post(reverse("project_delete", args=[judged.slug]), {"confirm_slug": judged.slug}).status_code == status
    assert Project.objects.filter(pk=judged.pk).exists() and checkpoints.exists()


def test_a_lead_sees_no_delete_button_an_admin_does(client, project, lead, admin_user):
    client.force_login(lead)
    assert "Delete project" not in client.get(reverse("project_settings", args=[project.slug])).content.decode()
    client.force_login(admin_user)
    assert "Delete project" in client.get(reverse("project_settings", args=[project.slug])).content.decode()


def test_a_delete_waits_for_a_running_import_or_training_run(project, admin_user):
    from rewardtrain.models import TrainingRun

    job = ImportJob.objects.create(project=project, filename="x.jsonl", upload_path="/nowhere", size=1, status="running")
    with pytest.raises(DeleteRefused, match="an import is still running"):
        project_delete(project=project, actor=admin_user, typed_slug=project.slug)
    job.status = ImportJob.Status.SUCCEEDED
    job.save()
    TrainingRun.objects.create(project=project, trigger=TrainingRun.Trigger.MANUAL)
    with pytest.raises(DeleteRefused, match="a training run is queued or running"):
        project_delete(project=project, actor=admin_user, typed_slug=project.slug)
    assert Project.objects.filter(pk=project.pk).exists()


def test_staff_read_the_audit_entries_of_deleted_projects(client, project, lead, admin_user):
    slug = project.slug
    project_archive(project=project, actor=lead)
    project_delete(project=project, actor=admin_user, typed_slug=slug)
    url = reverse("deleted_projects_audit")
    client.force_login(admin_user)  # a project admin, not staff
    assert client.get(url).status_code == 403
    client.force_login(factories.user("staff", is_staff=True))
    page = client.get(url).content.decode()
    assert page.count(f"<code>{slug}</code>") == 2
    assert "lead archived the project" in page and "projectadmin deleted the project" in page


def test_the_archived_time_is_shown_on_the_settings_page(client, project, lead):
    moment = timezone.now().replace(year=2030, month=5, day=4, hour=3, minute=2)
    project_archive(project=project, actor=lead, now=moment)
    client.force_login(lead)
    assert "Archived on 2030-05-04" in client.get(reverse("project_settings", args=[project.slug])).content.decode()
