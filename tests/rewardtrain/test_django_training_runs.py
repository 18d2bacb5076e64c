"""Training runs through the services: data, gating, single flight, failure, redelivery, reaper, schedule."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotator.models import Comparison
from rewardtrain import checkpoint_store, config, runs, selectors, training, versions
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.checkpoints import read_metadata
from rewardtrain.data import is_heldout
from rewardtrain.models import RewardModelVersion, TrainingRun
from rewardtrain.runs import training_run_execute, training_run_start
from tests import factories
from tests.rewardtrain.comparisons import SMALL, fake_gate_scores, make_comparisons, train_small


@pytest.fixture
def trainable(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    return project


def visible_entries(settings, project):
    """The project's entries in the checkpoint store: its folder's (temporary ones too), or its versions in a bucket."""
    store = checkpoint_store.store()
    if store.remote:
        return sorted(stored.name.rsplit("/", 1)[1] for stored in store.stored_versions(project.slug))
    root = Path(settings.ARBITER_CHECKPOINT_DIR) / project.slug
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def always(prompt):
    return True


def never(prompt):
    return False


# --- data ----------------------------------------------------------------------------------


def test_two_labelers_disagreeing_stay_two_pairs_and_an_exact_duplicate_counts_once(project):
    one, two = factories.user(), factories.user()
    [first] = make_comparisons(project, 1, labelers=[one], strength="much")
    Comparison.objects.create(  # the other labeler prefers the other side
        project=project, prompt=first.prompt, chosen=first.rejected, rejected=first.chosen, annotator=two
    )
    Comparison.objects.create(  # the first labeler's pair again
        project=project, prompt=first.prompt, chosen=first.chosen, rejected=first.rejected, annotator=one
    )
    pairs = selectors.training_pairs(project=project)
    assert [(p.chosen, p.rejected) for p in pairs] == [
        (first.chosen.text, first.rejected.text),
        (first.rejected.text, first.chosen.text),
    ]
    assert [p.margin for p in pairs] == [selectors.MUCH_BETTER_MARGIN, 0.0]
    assert pairs[0].prompt == first.prompt.text and pairs[0].id == first.id


def test_a_run_records_its_split_and_data_snapshot(trainable):
    run = train_small(trainable)
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.split["n_train"] + run.split["n_heldout"] == 40
    assert run.split["n_heldout"] > 0 and run.split["fraction"] == 0.25
    assert run.split["max_comparison_id"] == Comparison.objects.latest("id").id
    assert run.version.data_snapshot["n_pairs"] == 40
    assert run.history and run.progress["step"] == run.progress["total"]


# --- gating --------------------------------------------------------------------------------


def test_the_first_version_is_published_and_current(trainable, settings):
    run = train_small(trainable)
    version = run.version
    assert (version.version, version.status, version.is_current) == (1, "published", True)
    assert version.path == f"{trainable.slug}/v1"  # its name in the store, not this host's folder
    assert (version_folder(version) / "config.json").is_file()
    assert visible_entries(settings, trainable) == ["v1"]
    assert version.metrics["heldout_accuracy"] == run.metrics["heldout_accuracy"]


def test_a_worse_version_is_rejected_with_its_reason_and_current_stays(trainable, monkeypatch, settings):
    settings.ARBITER_GATE_MIN_PAIRS = 5  # the small project holds about 10 held-out pairs
    first = train_small(trainable).version
    seen = fake_gate_scores(monkeypatch, new_right=never, current_right=always)
    run = train_small(trainable)
    assert run.status == TrainingRun.Status.REJECTED
    assert run.version.status == RewardModelVersion.Status.REJECTED and not run.version.is_current
    n = run.split["n_heldout"]
    assert "new 0.000 (95% interval 0.000–" in run.version.rejected_reason and "v1" in run.version.rejected_reason
    assert f"0 pairs favour the new version, {n} the current one" in run.version.rejected_reason
    assert selectors.current_version(project=trainable) == first
    # The current version was scored on exactly this run's held-out pairs' texts.
    [(path, items)] = seen["current"]
    assert path == first.path and seen["new"] == [items] and len(items) == 2 * n


def test_a_version_not_worse_with_confidence_is_promoted(trainable, monkeypatch, settings):
    settings.ARBITER_GATE_MIN_PAIRS = 5
    train_small(trainable)
    heldout = sorted(p.text for p in trainable.prompts.all() if is_heldout(p.text, SMALL["heldout_fraction"]))
    # One pair worse: lower accuracy, but one discordant pair is no evidence (p = 1).
    fake_gate_scores(monkeypatch, new_right=lambda prompt: prompt != heldout[0], current_right=always)
    run = train_small(trainable)
    test = run.version.metrics["gate"]["test"]
    assert (test["new_better"], test["current_better"], test["p_value"]) == (0, 1, 1.0)
    assert run.status == TrainingRun.Status.SUCCEEDED
    assert selectors.current_version(project=trainable) == run.version
    assert run.version.parent.version == 1 and run.version.metrics["warm_start"] is True


def test_from_scratch_does_not_start_from_the_current_version(trainable, monkeypatch, settings):
    settings.ARBITER_GATE_MIN_PAIRS = 5
    fake_gate_scores(monkeypatch, new_right=always, current_right=always)  # each new version goes live
    train_small(trainable)
    calls = []
    real_train = training.train
    monkeypatch.setattr(training, "train", lambda *a, **kw: calls.append(kw["init_from"]) or real_train(*a, **kw))
    train_small(trainable, from_scratch=True)
    train_small(trainable)
    assert calls[0] is None and calls[1].endswith("v2")


def test_a_run_that_pools_otherwise_than_the_current_version_starts_from_the_base_model(trainable, monkeypatch, settings):
    """A head trained on the [CLS] pooler is no start for one that reads the mean (and back)."""
    settings.ARBITER_GATE_MIN_PAIRS = 5
    fake_gate_scores(monkeypatch, new_right=always, current_right=always)
    assert read_metadata(version_folder(train_small(trainable, pooling="cls").version))["encoding"]["pooling"] == "cls"
    calls = []
    real_train = training.train
    monkeypatch.setattr(training, "train", lambda *a, **kw: calls.append(kw["init_from"]) or real_train(*a, **kw))
    mean = train_small(trainable)  # the default
    assert calls == [None] and mean.version.metrics["warm_start"] is False
    assert mean.version.metrics["warm_start_skipped"] == "current v1 pools by 'cls', this run by 'mean'"
    assert read_metadata(version_folder(mean.version))["encoding"]["pooling"] == "mean"
    train_small(trainable)
    assert calls[1].endswith("v2")  # same pooling: warm


def test_an_unknown_pooling_starts_no_run(trainable):
    with pytest.raises(config.InvalidTrainingOptions, match="pooling 'max' is not one of cls, mean"):
        train_small(trainable, pooling="max")
    assert not TrainingRun.objects.exists()


def test_an_admin_can_promote_a_rejected_version_and_roll_back(trainable, monkeypatch, settings):
    settings.ARBITER_GATE_MIN_PAIRS = 5
    first = train_small(trainable).version
    fake_gate_scores(monkeypatch, new_right=never, current_right=always)
    rejected = train_small(trainable).version
    assert rejected.status == RewardModelVersion.Status.REJECTED
    versions.model_version_promote(version=rejected)
    rejected.refresh_from_db()
    assert rejected.is_current and rejected.status == "published"
    assert "promoted by an admin" in rejected.rejected_reason
    assert versions.model_version_rollback(project=trainable) == first
    assert selectors.current_version(project=trainable) == first
    with pytest.raises(versions.VersionUnavailable):
        versions.model_version_rollback(project=trainable)


# --- single flight -------------------------------------------------------------------------


def test_a_second_start_returns_the_queued_run(project, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(runs, "_enqueue", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        first, created = runs.training_run_get_or_start(project=project, trigger="manual")
        second, created_again = runs.training_run_get_or_start(project=project, trigger="schedule")
    assert (second, created, created_again) == (first, True, False)
    assert sent == [first] and first.task_id
    assert TrainingRun.objects.filter(project=project).count() == 1


def test_the_task_is_enqueued_only_after_commit(project, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(runs, "_enqueue", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        training_run_start(project=project, trigger="manual")
    assert sent == [] and len(callbacks) == 1


def test_the_database_refuses_a_second_active_run(project):
    TrainingRun.objects.create(project=project, status=TrainingRun.Status.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(project=project, status=TrainingRun.Status.QUEUED)


def test_unknown_options_are_refused(project):
    with pytest.raises(config.InvalidTrainingOptions):
        training_run_start(project=project, trigger="manual", options={"epoch": 3})


# --- failure -------------------------------------------------------------------------------


def test_an_exception_mid_training_fails_the_run_and_publishes_nothing(trainable, settings, monkeypatch):
    first = train_small(trainable).version

    def exploding_progress(report):
        raise RuntimeError("disk on fire")

    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    run = training_run_execute(run_id=run.id, progress_every=0, on_progress=exploding_progress)
    assert run.status == TrainingRun.Status.FAILED
    assert "disk on fire" in run.error and run.finished_at
    assert selectors.current_version(project=trainable) == first
    assert visible_entries(settings, trainable) == ["v1"]


def test_a_failure_while_writing_the_checkpoint_leaves_no_folder(trainable, settings, monkeypatch):
    from rewardtrain import checkpoints

    real_fsync = checkpoints.fsync_tree

    def fsync_then_fail(folder):  # everything is written; the rename has not happened yet
        real_fsync(folder)
        raise OSError("no space left on device")

    monkeypatch.setattr(checkpoints, "fsync_tree", fsync_then_fail)
    run = train_small(trainable)
    assert run.status == TrainingRun.Status.FAILED and "no space left" in run.error
    assert visible_entries(settings, trainable) == []
    assert not RewardModelVersion.objects.exists()


def test_a_failure_recording_the_version_removes_the_published_folder(trainable, settings, monkeypatch):
    settings.ARBITER_GATE_MIN_PAIRS = 5
    fake_gate_scores(monkeypatch, new_right=always, current_right=always)  # the second one goes live
    first = train_small(trainable).version

    def broken_switch(version):
        raise RuntimeError("database went away")

    monkeypatch.setattr(runs, "make_current", broken_switch)
    run = train_small(trainable)
    assert run.status == TrainingRun.Status.FAILED and "database went away" in run.error
    assert visible_entries(settings, trainable) == ["v1"]
    assert list(RewardModelVersion.objects.all()) == [first] and first.is_current


def test_a_project_without_comparisons_fails_with_a_clear_error(project):
    run = train_small(project)
    assert run.status == TrainingRun.Status.FAILED and "nothing to train on" in run.error


# --- redelivery and the reaper -------------------------------------------------------------


def test_a_task_redelivered_after_its_retry_fails_the_running_run_and_does_not_train(trainable, monkeypatch):
    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    TrainingRun.objects.filter(id=run.id).update(status="running", heartbeat_at=timezone.now(), attempts=2)
    monkeypatch.setattr(training, "train", lambda *a, **kw: pytest.fail("trained a third time"))
    run = training_run_execute(run_id=run.id, task_id=run.task_id)
    assert run.status == TrainingRun.Status.FAILED and "the worker died during each of its 2 attempts" in run.error
    assert not RewardModelVersion.objects.exists()


def test_a_finished_run_delivered_again_is_left_alone(trainable, monkeypatch):
    run = train_small(trainable)
    monkeypatch.setattr(training, "train", lambda *a, **kw: pytest.fail("trained twice"))
    again = training_run_execute(run_id=run.id, task_id=run.task_id)
    assert again.status == TrainingRun.Status.SUCCEEDED and again.error == ""


def test_the_reaper_fails_runs_with_a_stale_heartbeat_in_their_last_attempt_and_removes_partial_folders(project, settings):
    settings.ARBITER_HEARTBEAT_STALE_SECONDS = 60
    other = factories.project()
    stale = TrainingRun.objects.create(
        project=project, status="running", heartbeat_at=timezone.now() - timedelta(seconds=120),
        attempts=runs.MAX_ATTEMPTS,
    )  # fmt: skip
    fresh = TrainingRun.objects.create(project=other, status="running", heartbeat_at=timezone.now())
    partial = Path(settings.ARBITER_CHECKPOINT_DIR) / project.slug / ".v1.tmp-abc"
    partial.mkdir(parents=True)
    assert runs.reap_stale_runs() == [stale.id]
    stale.refresh_from_db(), fresh.refresh_from_db()
    assert stale.status == "failed" and "stopped sending heartbeats" in stale.error
    assert fresh.status == "running"
    assert not partial.exists()


def test_training_stops_when_the_reaper_failed_the_run(trainable, settings):
    run = training_run_start(project=trainable, trigger="manual", options={**SMALL, "epochs": 2})
    steps = []

    def reaped_meanwhile(report):
        steps.append(report["step"])
        TrainingRun.objects.filter(id=run.id).update(status="failed", error="worker stopped sending heartbeats")

    run = training_run_execute(run_id=run.id, progress_every=0, on_progress=reaped_meanwhile)
    assert run.status == "failed" and run.error == "worker stopped sending heartbeats"
    assert steps == [1]
    assert visible_entries(settings, trainable) == []


# --- schedule ------------------------------------------------------------------------------


def test_the_schedule_retrains_only_projects_with_enough_new_comparisons(trainable, monkeypatch):
    monkeypatch.setattr(runs, "_enqueue", lambda run: None)
    trainable.retrain_min_new_comparisons = 10
    trainable.save()
    quiet = factories.project()
    make_comparisons(quiet, 5, start=100)
    quiet.retrain_min_new_comparisons = 10
    quiet.save()

    [run] = runs.schedule_retraining()
    assert (run.project, run.trigger) == (trainable, "schedule")
    training_run_execute(run_id=run.id, progress_every=0)
    assert runs.schedule_retraining() == []  # nothing new since that run

    make_comparisons(trainable, 9, start=200)
    assert runs.schedule_retraining() == []
    make_comparisons(trainable, 1, start=300)
    [again] = runs.schedule_retraining()
    assert again.project == trainable


def test_a_queued_run_nobody_claimed_is_sent_again_and_its_old_message_claims_nothing(project, monkeypatch, settings):
    settings.ARBITER_QUEUED_RESEND_MINUTES = 30
    sent = []
    monkeypatch.setattr(runs, "_enqueue", lambda run: sent.append(run.task_id))
    lost = TrainingRun.objects.create(
        project=project, task_id="old", enqueued_at=timezone.now() - timedelta(minutes=31)
    )
    waiting = TrainingRun.objects.create(
        project=factories.project(), task_id="recent", enqueued_at=timezone.now() - timedelta(minutes=5)
    )
    runs.reap_stale_runs()
    lost.refresh_from_db(), waiting.refresh_from_db()
    assert sent == [lost.task_id] and lost.task_id != "old" and lost.status == "queued"
    assert waiting.task_id == "recent"
    monkeypatch.setattr(training, "train", lambda *a, **kw: pytest.fail("a stale message trained"))
    assert training_run_execute(run_id=lost.id, task_id="old").status == TrainingRun.Status.QUEUED
