import pytest
from django.urls import reverse

from annotator.models import AuditEntry
from annotator.services import audit_record, project_update
from tests.lead.test_console_pages import settings_post

pytestmark = pytest.mark.django_db


def test_an_audit_entry_keeps_who_and_where_after_both_are_deleted(project, lead):
    slug = project.slug
    audit_record(actor=lead, project=project, action="member.add", detail={"username": "alice"})
    project.delete()
    lead.delete()
    entry = AuditEntry.objects.get()
    assert (entry.project, entry.actor) == (None, None)
    assert (entry.project_slug, entry.actor_username, entry.action) == (slug, "lead", "member.add")


def test_instructions_sent_with_crlf_line_endings_are_not_logged_as_a_change(client, project, lead):
    project.instructions = "Be kind.\n\nJudge the answer, not the style."
    project.save(update_fields=["instructions"])
    client.force_login(lead)
    as_the_browser_sends_it = project.instructions.replace("\n", "\r\n")
    response = client.post(
        reverse("project_settings", args=[project.slug]),
        settings_post(project, overlap=3, instructions=as_the_browser_sends_it),
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert entry.detail["changes"] == {"overlap": [1, 3]}
    project.refresh_from_db()
    assert project.instructions == "Be kind.\n\nJudge the answer, not the style."


def test_changed_instructions_are_stored_with_newlines_only(client, project, lead):
    client.force_login(lead)
    client.post(reverse("project_settings", args=[project.slug]), settings_post(project, instructions="One\r\nTwo\rThree"))
    project.refresh_from_db()
    assert project.instructions == "One\nTwo\nThree"
    assert AuditEntry.objects.get().detail["changes"] == {"instructions": ["", "One\nTwo\nThree"]}


def test_instructions_stored_with_crlf_earlier_are_not_logged_when_saved_unchanged(project, lead):
    project.instructions = "One\r\nTwo"
    project.save(update_fields=["instructions"])
    assert project_update(project=project, actor=lead, fields={"instructions": "One\nTwo", "overlap": 2}) == {
        "overlap": [1, 2]
    }
    assert AuditEntry.objects.get().detail["changes"] == {"overlap": [1, 2]}
