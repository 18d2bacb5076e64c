"""Creating projects and changing their settings (audited)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from .audit_log import audit_record
from .members import membership_add
from .models import Membership, Project


def project_create(*, slug, name="", mode=Project.Mode.PAIRWISE, completions_shown=2, overlap=1, **fields):
    project = Project(
        slug=slug, name=name or slug, mode=mode, completions_shown=completions_shown, overlap=overlap, **fields
    )
    project.full_clean()
    project.save()
    return project



def project_set_up(*, actor, fields):
    """A new project with `fields` (slug, name, mode, ...), audited as project.create.

    A creator who is not a superuser becomes its admin: otherwise the staff member
    who made it could not open it.
    """
    with transaction.atomic():
        project = project_create(**fields)
        if not actor.is_superuser:
            membership_add(project=project, user=actor, role=Membership.Role.ADMIN)
        audit_record(actor=actor, project=project, action="project.create", detail={"settings": fields})  # str, int and bool: JSON as is
    return project


def _newlines_normalised(value):
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def project_update(*, project, actor, fields):
    """Change a project's settings; audited as project.update with {field: [old, new]} for each change.

    Returns the changes ({} when nothing changed, and then nothing is written or logged).
    Text is compared with Windows and old Mac line endings read as newlines: a browser sends a
    textarea back with CRLF, and text stored with them before is the same text.
    """
    changes = {
        name: [getattr(project, name), value]
        for name, value in fields.items()
        if _newlines_normalised(getattr(project, name)) != _newlines_normalised(value)
    }
    if not changes:
        return {}
    for name, (_, value) in changes.items():
        setattr(project, name, value)
    try:
        project.full_clean()
    except ValidationError:
        project.refresh_from_db(fields=list(changes))  # the caller's instance keeps the stored values
        raise
    with transaction.atomic():
        project.save(update_fields=list(changes))
        audit_record(actor=actor, project=project, action="project.update", detail={"changes": changes})
    return changes
