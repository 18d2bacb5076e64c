"""A project's audit log: writing an entry, and reading entries filtered as the page and its CSV download ask."""

from .audit_sentences import audit_sentence
from .models import AuditEntry

NO_ACTOR = "-"  # the actor filter's value for entries no one logged in made (lockouts, checks, scripts)
CSV_COLUMNS = ["when", "actor", "action", "sentence", "detail"]


def audit_record(*, actor, project, action, detail=None):
    """One audit log line; call it inside the transaction that makes the change."""
    return AuditEntry.objects.create(
        project=project,
        project_slug=project.slug if project else "",
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_username=actor.get_username() if actor is not None and actor.is_authenticated else "",
        action=action,
        detail=detail or {},
    )



def audit_actors_and_actions(*, project):
    """The usernames (NO_ACTOR for none) and actions found in the project's log: the filters' choices."""
    entries = AuditEntry.objects.filter(project=project).order_by()
    actors = sorted(NO_ACTOR if name == "" else name for name in entries.values_list("actor_username", flat=True).distinct())
    actions = sorted(entries.values_list("action", flat=True).distinct())
    return actors, actions


def audit_entries_filtered(*, project, actor="", action="", since=None, until=None):
    """The project's entries, newest first; `since` and `until` are dates, both included."""
    entries = AuditEntry.objects.filter(project=project)
    if actor:
        entries = entries.filter(actor_username="" if actor == NO_ACTOR else actor)
    if action:
        entries = entries.filter(action=action)
    if since:
        entries = entries.filter(created_at__date__gte=since)
    if until:
        entries = entries.filter(created_at__date__lte=until)
    return entries


def audit_csv_records(entries):
    """One record per entry for export_formats.csv_lines, read in chunks (a log grows without end)."""
    for entry in entries.iterator(chunk_size=500):
        yield {
            "when": entry.created_at,
            "actor": entry.actor_username,
            "action": entry.action,
            "sentence": audit_sentence(entry),
            "detail": entry.detail,
        }
