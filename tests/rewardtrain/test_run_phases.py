"""The run page says what a claimed run is doing: "running" and its phase from the claim on, each
change of phase written at once (not throttled like steps)."""

import threading

import pytest

from rewardtrain import training
from rewardtrain.models import TrainingRun
from rewardtrain.runs import training_run_execute, training_run_start
from tests.rewardtrain.comparisons import SMALL

pytestmark = pytest.mark.django_db(transaction=True)


def row_seen_by_another_connection(run_id):
    """(status, progress) of the run as another connection (the page's) reads it: committed data only."""
    seen = {}

    def read():
        from django.db import connection

        seen["row"] = TrainingRun.objects.values_list("status", "progress").get(id=run_id)
        connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    return seen["row"]


def test_the_row_says_running_and_loading_the_model_before_the_model_is_loaded(trainable, monkeypatch):
    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    real_load_model = training.load_model
    seen = []

    def load_model(*args, **kwargs):
        seen.append(row_seen_by_another_connection(run.id))
        return real_load_model(*args, **kwargs)

    monkeypatch.setattr(training, "load_model", load_model)
    run = training_run_execute(run_id=run.id, task_id=run.task_id, progress_every=3600)
    assert run.status == "succeeded", run.error
    assert seen[0] == ("running", {"phase": "loading the model"})


def test_each_change_of_phase_is_written_at_once_though_steps_are_throttled(trainable, monkeypatch):
    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    real_train = training.train
    written = []

    def train(*args, progress, **kwargs):
        def spy(report):
            progress(report)
            if report["phase"] != "training":
                written.append((report["phase"], row_seen_by_another_connection(run.id)[1]["phase"]))

        return real_train(*args, progress=spy, **kwargs)

    monkeypatch.setattr(training, "train", train)
    run = training_run_execute(run_id=run.id, task_id=run.task_id, progress_every=3600)
    assert run.status == "succeeded", run.error
    assert written[:2] == [("loading the model", "loading the model"), ("tokenising", "tokenising")]
    assert all(reported == stored for reported, stored in written)
    assert ("evaluating", "evaluating") in written


def test_the_claim_is_visible_at_once_with_its_first_phase(trainable, monkeypatch):
    from rewardtrain import runs

    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    seen = []
    real = runs._train_and_publish

    def train_and_publish(run, **kwargs):
        seen.append(row_seen_by_another_connection(run.id))
        return real(run, **kwargs)

    monkeypatch.setattr(runs, "_train_and_publish", train_and_publish)
    training_run_execute(run_id=run.id, task_id=run.task_id)
    assert seen == [("running", {"phase": "loading the data"})]


def test_the_run_page_shows_the_phase_of_a_running_run(trainable, lead, client):
    run = training_run_start(project=trainable, trigger="manual", options=SMALL, enqueue=False)
    TrainingRun.objects.filter(id=run.id).update(status="running", progress={"phase": "tokenising"})
    client.force_login(lead)
    page = client.get(f"/projects/{trainable.slug}/runs/{run.id}/").content.decode()
    assert '<span data-field="phase">tokenising</span>' in page
    TrainingRun.objects.filter(id=run.id).update(progress={"phase": "training", "step": 3, "total": 40, "loss": 0.5})
    page = client.get(f"/projects/{trainable.slug}/runs/{run.id}/").content.decode()
    assert '<span data-field="phase">step 3 of 40</span>' in page
    models = client.get(f"/projects/{trainable.slug}/models/").content.decode()
    assert '<span class="hint" data-field="phase">step 3 of 40</span>' in models
