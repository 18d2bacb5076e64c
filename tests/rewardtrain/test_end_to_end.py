"""From comparisons to a served reward model through a real Celery worker, on the packaged MiniLM."""

import time

import pytest
from rest_framework.test import APIClient

from annotator.celery import app
from annotator.models import Comparison, Completion, Prompt
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.checkpoints import read_metadata
from rewardtrain.models import TrainingRun
from rewardtrain.runs import training_run_start
from tests import factories
from tests.celery_worker import running_worker
from tests.rewardtrain.plain_transformers import plain_rewards

# A handful of demo-like prompts, each with a helpful, a vague and an unhelpful reply.
PROMPTS = {
    "How do I boil an egg?": [
        "Put the egg in boiling water for about nine minutes, then cool it in cold water.",
        "You cook it somehow in water.",
        "Eggs are not worth cooking.",
    ],
    "What is the capital of France?": [
        "The capital of France is Paris.",
        "It is a large city in Europe.",
        "I don't know and I don't care.",
    ],
    "Can you recommend a good book?": [
        "Try 'Pride and Prejudice' by Jane Austen: witty, short chapters and a great story.",
        "There are many books.",
        "Reading is a waste of time.",
    ],
    "How can I sleep better?": [
        "Keep a regular schedule, avoid screens an hour before bed and keep the room cool and dark.",
        "Sleep more, maybe.",
        "Just stay awake instead.",
    ],
    "Translate 'thank you' into Spanish.": ["'Thank you' is 'gracias' in Spanish.", "Something like gracia?", "No."],
    "Why is the sky blue?": [
        "Sunlight scatters off air molecules, and blue light scatters the most, so the sky looks blue.",
        "Because of the light.",
        "The sky is green.",
    ],
    "Give me a tip for learning to code.": [
        "Build a small project you care about and read the error messages carefully.",
        "Practice.",
        "Coding is too hard for you.",
    ],
    "How do I make a cup of tea?": [
        "Boil water, pour it over a tea bag, steep three to five minutes, then remove the bag.",
        "Use hot water and tea.",
        "Tea is for boring people.",
    ],
}
RUN_TIMEOUT_S = 300


def labelled_project():
    """8 prompts x 3 ranked completions x 2 labelers = 48 comparisons."""
    project = factories.project()
    labelers = [factories.user(), factories.user()]
    for n, (text, replies) in enumerate(PROMPTS.items()):
        prompt = Prompt.objects.create(project=project, external_id=f"demo-{n}", text=text, queued=False)
        good, vague, bad = (Completion.objects.create(prompt=prompt, text=reply) for reply in replies)
        for labeler in labelers:
            for chosen, rejected in ((good, vague), (good, bad), (vague, bad)):
                Comparison.objects.create(
                    project=project, prompt=prompt, chosen=chosen, rejected=rejected, annotator=labeler
                )
    return project


def wait_for(run, log_path):
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status not in TrainingRun.ACTIVE_STATUSES:
            return run
        time.sleep(1)
    pytest.fail(f"run {run.id} still {run.status} after {RUN_TIMEOUT_S}s; worker log:\n{log_path.read_text()}")


@pytest.mark.django_db(transaction=True)
def test_a_worker_trains_a_version_that_plain_transformers_and_the_api_score_alike(tmp_path):
    project = labelled_project()
    member = factories.member(project, "labeler")
    log_path = tmp_path / "worker.log"
    with running_worker(broker_url=app.conf.broker_url, result_backend=app.conf.result_backend, log_path=log_path):
        run = training_run_start(
            project=project, trigger="manual", options={"max_length": 64, "epochs": 1, "batch_size": 8}
        )
        run = wait_for(run, log_path)
    assert run.status == "succeeded", f"{run.error}\nworker log:\n{log_path.read_text()}"
    assert run.progress["step"] == run.progress["total"] and run.heartbeat_at and run.history
    version = run.version
    assert version.is_current and version.version == 1
    assert read_metadata(version_folder(version))["data"]["n_pairs"] == 48

    items = [
        ("How do I boil an egg?", "Put the egg in boiling water for about nine minutes."),
        ("How do I boil an egg?", "Eggs are not worth cooking."),
        ("What should I cook tonight?", "A simple pasta with garlic, olive oil and parmesan."),
    ]
    client = APIClient()
    client.force_authenticate(member)
    response = client.post(
        f"/api/v1/projects/{project.slug}/score/",
        {"items": [{"prompt": p, "completion": c} for p, c in items]},
        format="json",
    )
    assert response.status_code == 200 and response.json()["version"] == 1

    assert response.json()["rewards"] == pytest.approx(plain_rewards(version_folder(version), items), abs=1e-4)
