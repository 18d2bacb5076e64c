"""python manage.py seed_demo: the `demo` project, its prompts and three users to log in with.

Idempotent: the project and users are found by name, prompts by id (the
import skips ids already there), and passwords are set only when they differ.
"""

import json
import os

from django.core.management.base import BaseCommand
from django.db import transaction

from annotator import demo_data
from annotator.imports import import_file
from annotator.members import membership_add, user_get_or_create
from annotator.models import Membership, Project
from annotator.projects import project_create

DEFAULT_PASSWORD = "arbiter-demo"
USERS = (  # (username, role in the demo project, superuser)
    ("admin", Membership.Role.ADMIN, True),
    ("lead", Membership.Role.LEAD, False),
    ("labeler", Membership.Role.LABELER, False),
)


def _model_for(position):
    return demo_data.MODELS[position % len(demo_data.MODELS)]


def demo_jsonl():
    """The demo prompts as an import file, so they load through the same code as any upload."""
    lines = []
    for index, (prompt_id, category, prompt, candidates) in enumerate(demo_data.PROMPTS):
        completions = [
            {"text": text, "model": _model_for(index + k), "metadata": {"quality": quality}}
            for k, (quality, text) in enumerate(candidates)
        ]
        record = {"id": prompt_id, "prompt": prompt, "completions": completions, "metadata": {"category": category}}
        lines.append(json.dumps(record))
    return "\n".join(lines).encode()


class Command(BaseCommand):
    help = "Create the demo project with its prompts and the users admin, lead and labeler (safe to run again)."

    def handle(self, **options):
        password = os.environ.get("ARBITER_DEMO_PASSWORD") or DEFAULT_PASSWORD
        with transaction.atomic():
            project = Project.objects.filter(slug=demo_data.DEMO_SLUG).first() or project_create(
                slug=demo_data.DEMO_SLUG,
                name=demo_data.DEMO_NAME,
                instructions=demo_data.INSTRUCTIONS,
                overlap=1,
                allow_tie=True,
                allow_edit=True,
            )
            for username, role, superuser in USERS:
                user, _ = user_get_or_create(username=username, is_staff=superuser)
                if superuser and not (user.is_superuser and user.is_staff):
                    user.is_superuser = user.is_staff = True
                    user.save(update_fields=["is_superuser", "is_staff"])
                if not user.check_password(password):
                    user.set_password(password)
                    user.save(update_fields=["password"])
                if not Membership.objects.filter(project=project, user=user, role=role).exists():
                    membership_add(project=project, user=user, role=role)
            report = import_file(project=project, data=demo_jsonl(), filename="demo.jsonl", format="jsonl")
        self.stdout.write(f"Project {project.slug!r}: {report.summary()}")
        self.stdout.write("Demo logins: " + ", ".join(f"{username} / {password}" for username, _, _ in USERS))
