"""Plain functions that make rows for tests, with sensible defaults."""

import itertools

from django.contrib.auth import get_user_model

from annotator.members import membership_add
from annotator.projects import project_create

_counter = itertools.count(1)
PASSWORD = "pw-for-tests-1"


def user(username=None, *, password=PASSWORD, **fields):
    username = username or f"user{next(_counter)}"
    return get_user_model().objects.create_user(username=username, password=password, **fields)


def project(slug=None, **fields):
    return project_create(slug=slug or f"project-{next(_counter)}", **fields)


def member(project, role, *, username=None):
    person = user(username)
    membership_add(project=project, user=person, role=role)
    return person


def prompts(project, n, *, completions=2, text="Prompt"):
    """n prompts, each with `completions` imported completions; returns the prompts."""
    from annotator.models import Completion, Prompt

    made = []
    for _ in range(n):
        i = next(_counter)
        prompt = Prompt.objects.create(project=project, external_id=f"p{i}", text=f"{text} {i}")
        Completion.objects.bulk_create(
            Completion(prompt=prompt, text=f"Answer {k} to prompt {i}", model_name=f"model-{k}")
            for k in range(completions)
        )
        made.append(prompt)
    return made




# The quality-control fields of the project settings form at their defaults, as a browser posts them.
QUALITY_DEFAULTS = {
    "gold_min_accuracy": 0.7, "repeat_share": 0.0, "repeat_gap": 10, "min_seconds": 2.0, "queue_order": "fewest_labels",
    "rl_audit_share": 0.0,
}
