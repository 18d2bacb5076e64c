from annotator.models import AuditEntry
from annotator.services import audit_record


def test_an_audit_entry_keeps_who_and_where_after_both_are_deleted(project, lead):
    slug = project.slug
    audit_record(actor=lead, project=project, action="member.add", detail={"username": "alice"})
    project.delete()
    lead.delete()
    entry = AuditEntry.objects.get()
    assert (entry.project, entry.actor) == (None, None)
    assert (entry.project_slug, entry.actor_username, entry.action) == (slug, "lead", "member.add")
