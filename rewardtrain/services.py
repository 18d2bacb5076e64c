"""Reward-model writes: starting, running and reaping training runs; publishing and promoting versions.

The only module that joins the database to the Django-free trainer (data.py, training.py,
checkpoints.py). A run is a row with a status and a heartbeat: `training_run_start` creates
it (single flight, enforced by the database) and enqueues it after commit;
`training_run_execute` claims it with a conditional UPDATE, trains, publishes the checkpoint
atomically, then records the version and switches "current" in one transaction.
"""

import logging
import math
import re
import shutil
import time
import traceback
import uuid
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from kombu.exceptions import KombuError

from annotator.celery import app, broker_send_connection
from annotator.heartbeats import CONNECTION_ERRORS, heartbeat, retrying
from annotator.models import Project
from arbiter_reward.reward import POOLINGS, recorded_pooling
from rewardtrain import gate as gate_stats
from rewardtrain import selectors
from rewardtrain.checkpoints import (
    CheckpointInvalid,
    cleanup_partial,
    manifest_pin,
    read_metadata,
    write_checkpoint,
)
from rewardtrain.data import split_labelled, split_pairs
from rewardtrain.config import InvalidTrainingOptions, TrainConfig
from rewardtrain.model_roots import base_model_check
from rewardtrain.verification import version_verify

from .models import RewardModelVersion, TrainingRun

log = logging.getLogger(__name__)

PACKAGED_BASE_MODEL = "packaged all-MiniLM-L6-v2"
# Options a run may carry: any TrainConfig field, plus from_scratch (ignore the current
# version and start from the base model; by default a run warm-starts from the current version).
TRAIN_OPTIONS = {f.name for f in fields(TrainConfig)} | {"from_scratch"}
ERROR_TAIL_CHARS = 4000  # the end of a traceback is where the cause is
TRAIN_TASK = "rewardtrain.tasks.train_reward_model"  # sent by name: the task module only wraps this one
# The first delivery and one redelivery after its worker died (e.g. killed for memory mid-run):
# a run that kills its worker twice would most likely do it again.
MAX_ATTEMPTS = 2


class RunAborted(Exception):
    """Raised from the progress callback when the row was marked failed under the worker."""


class VersionUnavailable(ValueError):
    pass


def checkpoint_root(*, project) -> Path:
    # Read at call time: tests (and operators) point the setting elsewhere.
    return Path(settings.ARBITER_CHECKPOINT_DIR) / project.slug


def train_config_for(*, project, options) -> TrainConfig:
    """Defaults, then the deployment's device and the project's base model, then the run's options.

    InvalidTrainingOptions when the base model is not a folder under ARBITER_MODEL_ROOTS.
    """
    values = {
        "device": settings.ARBITER_TRAIN_DEVICE,
        "base_model": project.base_model or settings.ARBITER_BASE_MODEL,
    }
    values.update({k: v for k, v in options.items() if k != "from_scratch"})
    config = TrainConfig.from_dict({**TrainConfig().to_dict(), **values})
    if options.get("base_model"):
        source = "the base_model option"
    elif project.base_model:
        source = f"project {project.slug}'s base_model"
    elif settings.ARBITER_BASE_MODEL:
        source = "ARBITER_BASE_MODEL"
    else:
        source = "the packaged base model"
    base_model_check(config.base_model, source=source)
    if config.pooling not in POOLINGS:
        raise InvalidTrainingOptions(f"pooling {config.pooling!r} is not one of {', '.join(POOLINGS)}")
    return config


def base_model_label(config: TrainConfig) -> str:
    return config.base_model or PACKAGED_BASE_MODEL


# --- starting ------------------------------------------------------------------------------


def training_run_get_or_start(*, project, trigger, requested_by=None, options=None, enqueue=True):
    """(run, created): a new queued run, or the project's queued/running one (single flight).

    With enqueue, the Celery task is sent only after the transaction commits, under a task id
    stored on the row beforehand: a redelivered message carries that id, a stale one does not.
    """
    options = dict(options or {})
    unknown = set(options) - TRAIN_OPTIONS
    if unknown:
        raise InvalidTrainingOptions(f"unknown training options: {', '.join(sorted(unknown))}")
    train_config_for(project=project, options=options)  # refuses a base model outside ARBITER_MODEL_ROOTS
    for attempt in range(3):
        try:
            with transaction.atomic():
                run = TrainingRun.objects.create(
                    project=project,
                    trigger=trigger,
                    requested_by=requested_by,
                    options=options,
                    task_id=str(uuid.uuid4()) if enqueue else "",
                )
        except IntegrityError:
            existing = selectors.active_run(project=project)
            if existing is not None:
                return existing, False
            continue  # the active run finished between our insert and our read: try again
        if enqueue:
            transaction.on_commit(lambda: _enqueue(run))
        return run, True
    raise RuntimeError(f"could not start a training run for {project.slug}")


def training_run_start(*, project, trigger, requested_by=None, options=None, enqueue=True) -> TrainingRun:
    """A new queued run, or the queued/running one a second trigger finds (single flight)."""
    run, _created = training_run_get_or_start(
        project=project, trigger=trigger, requested_by=requested_by, options=options, enqueue=enqueue
    )
    return run


def _enqueue(run):
    """Send the run's task. A broker that is down or hung fails the send within
    ARBITER_BROKER_SEND_TIMEOUT, never the request: the run stays queued with the reason on the
    row, and the reaper's next tick sends it again."""
    sent_at = timezone.now()
    try:
        with broker_send_connection() as broker:
            # No result: the row is the outcome, and a Redis result backend would be contacted first.
            app.send_task(
                TRAIN_TASK, args=[run.id], task_id=run.task_id, connection=broker, retry=False, ignore_result=True
            )
        error = ""
    except (KombuError, OSError) as exc:
        log.warning("could not send training run %s to the broker: %s", run.id, exc)
        error = f"could not send the run to the broker: {exc}"
    run.enqueued_at, run.send_error = sent_at, error
    # Queued only: a send that timed out after the broker took it may already be running.
    TrainingRun.objects.filter(id=run.id, status=TrainingRun.Status.QUEUED).update(enqueued_at=sent_at, send_error=error)


def _resend_lost_runs(now) -> list[int]:
    """Send queued runs again, under a new task id: those whose last send failed, and those no
    worker claimed for a long while.

    A message can be lost (a broker restarted empty, a send that failed after the commit) and
    its run would hold the project's single-flight slot for ever. The old message, should it
    still arrive, no longer matches the run's task id and claims nothing.
    """
    cutoff = now - timedelta(minutes=settings.ARBITER_QUEUED_RESEND_MINUTES)
    resent = []
    lost = Q(enqueued_at__lt=cutoff) | ~Q(send_error="")
    for run in TrainingRun.objects.filter(lost, status=TrainingRun.Status.QUEUED):
        run.task_id = str(uuid.uuid4())
        if TrainingRun.objects.filter(id=run.id, status=TrainingRun.Status.QUEUED).update(task_id=run.task_id):
            _enqueue(run)
            resent.append(run.id)
    return resent


# --- running -------------------------------------------------------------------------------


def training_run_execute(*, run_id, task_id=None, progress_every=2.0, on_progress=None):
    """Claim the queued run and train it; returns the run as it ended (None if it is gone).

    A run found already running is a redelivery of a message whose worker died (acks_late and
    reject_on_worker_lost): it is trained again once, under attempt 2, and failed on a further
    redelivery. A finished run is left alone. `on_progress(report)` is called after every step
    (the command's progress bar). An attempt that loses the database past ARBITER_DB_RETRY_SECONDS
    is retried the same way, here, and the run failed with the database's error after its last.
    """
    now = timezone.now()
    claim = TrainingRun.objects.filter(id=run_id, status=TrainingRun.Status.QUEUED)
    if task_id:
        claim = claim.filter(task_id=task_id)  # a message the run was re-sent past claims nothing
    claimed = claim.update(status=TrainingRun.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1)
    run = TrainingRun.objects.select_related("project").filter(id=run_id).first()
    if run is None:
        return None
    if not claimed:
        redelivered = run.status == TrainingRun.Status.RUNNING and (not task_id or task_id == run.task_id)
        if not (redelivered and _reclaim(run, now=now)):
            run.refresh_from_db()
            return run
    while True:
        try:
            with _heartbeat(run) as beat:
                _train_and_publish(run, progress_every=progress_every, on_progress=beat.checked(on_progress))
        except BaseException as error:  # KeyboardInterrupt in the command too: never leave it "running"
            log.exception("training run %s failed", run.id)
            cleanup_partial(checkpoint_root(project=run.project))
            lost = isinstance(error, CONNECTION_ERRORS)
            if lost and _reclaim_after_database_loss(run):
                continue
            if isinstance(error, RunAborted):
                pass  # the row already says why: the reaper failed it, or a redelivery took it over
            elif lost:
                _run_fail(run, f"lost its database in attempt {run.attempts} of {MAX_ATTEMPTS}: {error}")
            else:
                _run_fail(run, traceback.format_exc()[-ERROR_TAIL_CHARS:])
            stale_s = settings.ARBITER_HEARTBEAT_STALE_SECONDS
            retrying(run.refresh_from_db, what=f"training run {run.id}", seconds=stale_s)
            if not isinstance(error, Exception):
                raise
        return run


def _reclaim(run, *, now) -> bool:
    """Take over a running run whose worker died, once; fail it when its retry was used.

    The conditional UPDATE on `attempts` lets one redelivery win; it refreshes the heartbeat so
    the reaper leaves the retry alone. Should the earlier attempt still be alive after all, its
    next write finds the attempt number changed and it stops (see _progress_writer).
    """
    if run.attempts >= MAX_ATTEMPTS:
        _run_fail(
            run,
            f"the worker died during each of its {run.attempts} attempts (killed mid-training, e.g. out of "
            "memory); not retried again",
        )
        return False
    retried = TrainingRun.objects.filter(
        id=run.id, status=TrainingRun.Status.RUNNING, task_id=run.task_id, attempts=run.attempts
    ).update(attempts=run.attempts + 1, started_at=now, heartbeat_at=now, progress={}, history=[])
    if retried:
        run.attempts += 1
        run.progress, run.history = {}, []
        log.warning("training run %s: its worker died; retrying (attempt %s)", run.id, run.attempts)
    return bool(retried)


def _reclaim_after_database_loss(run) -> bool:
    """Start the run's next attempt in this worker after its database came back, as a redelivery
    after a killed worker would (_reclaim); False once its retry was used, or if it was reaped or
    taken over meanwhile. Waits for the database up to the stale threshold: past it the reaper
    takes the row anyway."""
    if run.attempts >= MAX_ATTEMPTS:
        return False
    now = timezone.now()
    retried = retrying(
        lambda: _this_attempt(run).update(
            attempts=run.attempts + 1, started_at=now, heartbeat_at=now, progress={}, history=[]
        ),
        what=f"retry of training run {run.id}",
        seconds=settings.ARBITER_HEARTBEAT_STALE_SECONDS,
    )
    if retried:
        run.attempts += 1
        run.progress, run.history = {}, []
        log.warning("training run %s: it lost its database; retrying (attempt %s)", run.id, run.attempts)
    return bool(retried)


def _this_attempt(run):
    return TrainingRun.objects.filter(id=run.id, status=TrainingRun.Status.RUNNING, attempts=run.attempts)


def _heartbeat(run):
    """The run's heartbeat, written from a thread while the block runs (annotator/heartbeats.py).

    Training steps write one too (_progress_writer), but an evaluation of the held-out pairs, in
    the loop or for the gate, runs for minutes on a large project without a step. (A step that
    hangs for ever is not detected.)
    """
    return heartbeat(lambda: _this_attempt(run), what=f"heartbeat of training run {run.id}")


def _run_fail(run, error):
    """Fail this attempt with the reason, waiting for a lost database up to the stale threshold."""
    retrying(
        lambda: _this_attempt(run).update(status=TrainingRun.Status.FAILED, error=error, finished_at=timezone.now()),
        what=f"failure of training run {run.id}",
        seconds=settings.ARBITER_HEARTBEAT_STALE_SECONDS,
    )


def _progress_writer(run, *, every, on_progress):
    """The trainer's progress callback: writes progress, history and heartbeat to the row, at most
    every `every` seconds (always after an evaluation), and aborts once the row is no longer running
    under this attempt (the reaper failed it, or a redelivery took it over)."""
    last_write = 0.0

    def progress(report):
        nonlocal last_write
        if on_progress:
            on_progress(report)
        run.progress = finite({k: report[k] for k in ("step", "total", "loss", "pairs_per_s", "items_per_s") if k in report})
        evaluated = "eval" in report
        if evaluated:
            run.history.append(finite(report["eval"]))
        if not evaluated and time.monotonic() - last_write < every:
            return
        last_write = time.monotonic()
        still_running = retrying(
            lambda: _this_attempt(run).update(progress=run.progress, history=run.history, heartbeat_at=timezone.now()),
            what=f"progress of training run {run.id}",
        )
        if not still_running:
            raise RunAborted(f"run {run.id} is no longer running; stopping")

    return progress


def _train_and_publish(run, *, progress_every, on_progress):
    project = run.project
    config = train_config_for(project=project, options=run.options)
    if project.classifies:
        examples = selectors.training_items(project=project)
        train_examples, heldout_examples = split_labelled(examples, config.heldout_fraction)
        evidence = _LabelEvidence(heldout_examples, project.labels)
        what = "labelled completions"
    else:
        examples = selectors.training_pairs(project=project)
        train_examples, heldout_examples = split_pairs(examples, config.heldout_fraction)
        rankings = selectors.heldout_rankings(project=project, fraction=config.heldout_fraction)
        evidence = _PairEvidence(heldout_examples, rankings)
        what = "comparisons"
    if not train_examples:
        raise ValueError(f"nothing to train on: {len(examples)} {what}, {len(train_examples)} outside the held-out split")
    snapshot = {
        "n_pairs": len(examples),
        "max_comparison_id": max(example.id for example in examples),
        "pair_ids_sha256": selectors.pair_ids_digest(examples),
    }
    run.split = {
        "fraction": config.heldout_fraction,
        "n_train": len(train_examples),
        "n_heldout": len(heldout_examples),
        "heldout_ids_sha256": selectors.pair_ids_digest(heldout_examples),
        "max_comparison_id": snapshot["max_comparison_id"],
    }
    run.save(update_fields=["split"])

    current = selectors.current_version(project=project)
    # Loading a checkpoint trusts its files, here as for scoring: a current version that fails
    # its manifest is neither warm-started from nor evaluated by the gate.
    current_invalid = _verification_failure(current) if current is not None else ""
    cold_reason = _cold_start_reason(current=current, current_invalid=current_invalid, run=run, config=config)
    warm = not cold_reason
    started_at = timezone.now()
    # torch: imported by the processes that train, not at start-up
    from rewardtrain.training import train, train_classifier

    trained = dict(
        init_from=current.path if warm else None,
        progress=_progress_writer(run, every=progress_every, on_progress=on_progress),
    )
    if project.classifies:
        result = train_classifier(
            train_examples, heldout_examples, config, labels=project.labels, positive=project.positive_label, **trained
        )
    else:
        result = train(train_examples, heldout_examples, config, **trained)
    gate = _promotion_gate(current=current, current_invalid=current_invalid, result=result, evidence=evidence, config=config)
    start = {"warm_start": warm, **({"warm_start_skipped": cold_reason} if cold_reason else {})}

    number = _next_version_number(project)
    path = write_checkpoint(
        result,
        checkpoint_root(project=project) / f"v{number}",
        metadata={
            "version": number,
            "project": project.slug,
            "run": run.id,
            "base_model": base_model_label(config),
            "parent_version": current.version if current else None,
            **start,
            "data": snapshot,
            "split": run.split,
            "gate": gate,
            "started_at": started_at.isoformat(),
            "finished_at": timezone.now().isoformat(),
        },
        file_mode=settings.ARBITER_CHECKPOINT_MODE,
    )
    try:
        # Pinned right after the rename, by the process that wrote it: from here on the row,
        # not the folder, says which manifest was published.
        pin = manifest_pin(path)
        _record_version(
            run, number=number, path=path, current=current, gate=gate, metrics=result.metrics, snapshot=snapshot,
            start=start, base_model=base_model_label(config), pin=pin,
        )
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)  # a folder without its row must not look published
        raise


def _verification_failure(version) -> str:
    """Why `version`'s checkpoint does not match its row and its manifest ("" when it does);
    the message names files inside the folder, never a path."""
    try:
        version_verify(version=version, root=checkpoint_root(project=version.project), detected_by="training")
    except CheckpointInvalid as error:
        log.warning("v%s at %s failed verification: %s", version.version, version.path, error)
        return str(error)
    return ""


def _cold_start_reason(*, current, current_invalid, run, config) -> str:
    """Why the run starts from the base model instead of the current version ("" when it warm-starts).

    Warm start by default (bench/README.md, 1,602 HH pairs): from a version trained on the
    first half, one epoch on all pairs reached the from-scratch run's final held-out accuracy
    after 192 pairs instead of ~1,150, and ended at 0.601 against 0.591. Only from a model
    of the same lineage: a changed base model starts over.
    """
    if current is None:
        return "no current version"
    if run.options.get("from_scratch"):
        return "from_scratch was asked for"
    if current.base_model != base_model_label(config):
        return f"current v{current.version} was trained from another base model"
    if current_invalid:
        return f"current v{current.version} failed verification: {current_invalid}"
    metadata = read_metadata(current.path)
    pooling = recorded_pooling(metadata.get("encoding"))
    if pooling != config.pooling:
        return f"current v{current.version} pools by {pooling!r}, this run by {config.pooling!r}"
    head = metadata.get("head") or {"kind": "reward"}
    labels = run.project.labels if run.project.classifies else None
    if (head.get("kind") == "classifier") != bool(labels) or (labels and head.get("labels") != labels):
        return f"current v{current.version} has other outputs than this project's {'labels' if labels else 'reward'}"
    return ""


def _record_version(run, *, number, path, current, gate, metrics, snapshot, start, base_model, pin):
    """In one transaction: the version row, the "current" switch and the run's outcome."""
    project = run.project
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=project.pk)  # one publisher per project at a time
        if not TrainingRun.objects.filter(id=run.id, status=TrainingRun.Status.RUNNING, attempts=run.attempts).exists():
            # Reaped, or taken over by a redelivery, since the last heartbeat: publish nothing.
            raise RunAborted(f"run {run.id} is no longer running under attempt {run.attempts}; not publishing")
        version = RewardModelVersion.objects.create(
            project=project,
            version=number,
            path=str(path),
            status=gate["outcome"],
            rejected_reason="" if gate["passed"] else gate["reason"],
            parent=current,
            metrics=finite({**metrics, **_best_of_k_metrics(gate), "gate": gate, **start}),
            data_snapshot=snapshot,
            base_model=base_model,
            manifest_sha256=pin.sha256,
            manifest_size=pin.size,
        )
        if gate["passed"]:
            _make_current(version)
        # A version pending evidence was published, not rejected: the run succeeded.
        rejected = gate["outcome"] == RewardModelVersion.Status.REJECTED
        run.status = TrainingRun.Status.REJECTED if rejected else TrainingRun.Status.SUCCEEDED
        run.version = version
        run.metrics = version.metrics
        run.finished_at = timezone.now()
        run.error = ""
        run.save(update_fields=["status", "version", "metrics", "finished_at", "error", "progress", "history"])


def finite(value):
    """`value` with NaN and infinities replaced by None: JSON (and PostgreSQL's jsonb) has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def _best_of_k_metrics(gate) -> dict:
    """The new version's best-of-K on held-out rankings, beside its pairwise accuracy."""
    best = (gate.get("new") or {}).get("best_of_k")
    if not best:
        return {}
    return {"heldout_best_of_k_accuracy": best["accuracy"], "heldout_best_of_k_n": best["n"]}


def _promotion_gate(*, current, current_invalid, result, evidence, config) -> dict:
    """Whether the new version becomes current: `outcome` is published, pending or rejected.

    Both versions are scored one by one on this run's held-out pairs (or, in classify mode,
    labelled completions). Below ARBITER_GATE_MIN_PAIRS of them accuracies are not compared: a
    few decide nothing, so a later version waits as "pending evidence" for an admin. Above it,
    the new version is rejected only when it is worse with ARBITER_GATE_CONFIDENCE (exact
    McNemar test on the held-out examples the two disagree on). The first version has nothing to
    be compared with, so it goes live only when it beats chance (see _first_version_gate). One
    whose current version cannot be evaluated (`current_invalid`: it failed verification; or it
    classifies into other labels) goes live: that version serves nothing comparable, so it is
    replaced. The reason is shown to leads: it names versions, never
    paths, and quotes the figures exactly as the pages show them (gate.shown).
    """
    confidence, min_pairs = settings.ARBITER_GATE_CONFIDENCE, settings.ARBITER_GATE_MIN_PAIRS
    n, unit = evidence.n, evidence.unit
    new = evidence.new(result, confidence)
    new_correct = new.pop("correct")
    gate = {"confidence": confidence, "min_pairs": min_pairs, "n_heldout": n, "unit": unit, "new": new}

    Status = RewardModelVersion.Status

    def decided(outcome, reason, **extra):
        return {**gate, **extra, "outcome": outcome, "passed": outcome == Status.PUBLISHED, "reason": reason}

    if current is None:
        return _first_version_gate(evidence, new, confidence, decided)
    gate["current_version"] = current.version
    if current_invalid:
        return decided(Status.PUBLISHED, f"current v{current.version} could not be evaluated: it failed verification: {current_invalid}")
    if n < min_pairs:
        reason = (
            f"pending evidence: {n} held-out {unit}, fewer than the {min_pairs} the gate needs to compare it "
            f"with the current v{current.version} (ARBITER_GATE_MIN_PAIRS); an admin may promote it"
        )
        return decided(Status.PENDING, reason)
    try:
        old = evidence.current(current, config, confidence)
    except OtherLabels as error:
        return decided(Status.PUBLISHED, f"current v{current.version} could not be compared: {error}")
    except Exception as error:  # e.g. a checkpoint that verifies but does not load: replace it
        log.warning("could not evaluate current v%s at %s: %s", current.version, current.path, error)  # may hold a path
        return decided(Status.PUBLISHED, f"current v{current.version} could not be evaluated")
    test = gate_stats.compare(new_correct, old.pop("correct"), confidence)
    figures = (
        f"new {new['shown']} against the current v{current.version}'s {old['shown']} on the same {unit}; "
        f"{test['new_better']} {unit} favour the new version, {test['current_better']} the current one "
        f"(exact McNemar p = {test['p_value']:.3g})"
    )
    if test["worse"]:
        return decided(Status.REJECTED, f"worse with {confidence:.0%} confidence: {figures}", current=old, test=test)
    return decided(Status.PUBLISHED, f"not worse with {confidence:.0%} confidence: {figures}", current=old, test=test)


def _first_version_gate(evidence, new, confidence, decided) -> dict:
    """A first version goes live only when its held-out accuracy beats chance at `confidence`
    (its Wilson lower bound above 0.5 for pairs, above the majority label's share for labels):
    a tiny or unlucky split once published a ranking v1 with no held-out pairs and a classifier
    with 0.000 accuracy on 1 item. Otherwise it waits, pending evidence, for an admin."""
    Status = RewardModelVersion.Status
    chance = evidence.chance()
    if not evidence.n:
        reason = f"first version, no held-out {evidence.unit} to show that it beats chance"
        return decided(Status.PENDING, f"pending evidence: {reason}; an admin may promote it", chance=None)
    level = f"{evidence.chance_name} ({chance:.3f})"
    if gate_stats.beats_chance(new, chance):
        return decided(Status.PUBLISHED, f"first version: {new['shown']} beats {level} with {confidence:.0%} confidence", chance=chance)
    reason = (
        f"pending evidence: first version, {new['shown']}: its lower bound {new['low']:.3f} is not above "
        f"{level} at {confidence:.0%} confidence; an admin may promote it"
    )
    return decided(Status.PENDING, reason, chance=chance)


class OtherLabels(ValueError):
    """The current version classifies into another label set than the project's now."""


class _PairEvidence:
    """The gate's held-out pairs (and rankings, for best-of-K), each distinct item scored once."""

    unit = "pairs"
    chance_name = "chance"

    def __init__(self, pairs, rankings):
        self.pairs, self.rankings = pairs, rankings
        self.n = len(pairs)
        self.items = _gate_items(pairs, rankings)

    def new(self, result, confidence) -> dict:
        return self._summary(_score_new(result, self.items) if self.items else [], confidence)

    def current(self, version, config, confidence) -> dict:
        return self._summary(_score_current(version, self.items, config), confidence)

    def chance(self) -> float:
        return 0.5  # a coin toss orders a pair rightly half the time

    def _summary(self, rewards, confidence) -> dict:
        return _gate_summary(rewards, self.items, self.pairs, self.rankings, confidence)


class _LabelEvidence:
    """The gate's held-out labelled completions: a version is right on one when its most
    probable label is the labeler's."""

    unit = "items"
    chance_name = "the majority label's share"

    def __init__(self, examples, labels):
        self.examples, self.labels = examples, list(labels)
        self.n = len(examples)
        self.items = [(e.prompt, e.completion) for e in examples]

    def new(self, result, confidence) -> dict:
        return self._summary(_logits_new(result, self.items) if self.items else [], confidence)

    def current(self, version, config, confidence) -> dict:
        labels, logits = _logits_current(version, self.items, config)
        if labels != self.labels:
            raise OtherLabels(f"it classifies into {labels or 'a single reward'}, the project into {self.labels}")
        return self._summary(logits, confidence)

    def chance(self) -> float:
        return gate_stats.majority_share([e.label for e in self.examples])

    def _summary(self, logits, confidence) -> dict:
        correct = [float(max(range(len(row)), key=row.__getitem__) == e.label) for row, e in zip(logits, self.examples)]
        return {**gate_stats.rate(sum(correct), len(correct), confidence, unit="items"), "correct": correct}


def _gate_items(pairs, rankings) -> list[tuple[str, str]]:
    """Each distinct (prompt, completion) of the held-out pairs and rankings, scored once."""
    items = {}
    for pair in pairs:
        items.setdefault((pair.prompt, pair.chosen), None)
        items.setdefault((pair.prompt, pair.rejected), None)
    for prompt, ranked in rankings:
        for text in ranked:
            items.setdefault((prompt, text), None)
    return list(items)


def _gate_summary(rewards, items, pairs, rankings, confidence) -> dict:
    """A version's pairwise accuracy and best-of-K with their intervals, from its item rewards;
    "correct" holds the per-pair scores for the paired test (popped before it is stored)."""
    reward = dict(zip(items, rewards))
    correct = gate_stats.pair_correctness(
        [reward[(p.prompt, p.chosen)] for p in pairs], [reward[(p.prompt, p.rejected)] for p in pairs]
    )
    result = {**gate_stats.summary(correct, confidence), "correct": correct}
    hits, k = gate_stats.best_of_k([[(prompt, t) for t in ranked] for prompt, ranked in rankings], reward)
    if k:
        result["best_of_k"] = gate_stats.rate(hits, k, confidence, unit="rankings")
    return result


def _score_new(result, items) -> list[float]:
    """The just-trained model's rewards for (prompt, completion) items, encoded as it trained."""
    from rewardtrain.scoring import Scorer  # torch, as in _train_and_publish

    return Scorer(result.model, result.tokenizer, {"train_config": result.config.to_dict(), "head": result.head}).score(items)


def _logits_new(result, items) -> list[list[float]]:
    """The just-trained classifier's logits for (prompt, completion) items."""
    from rewardtrain.scoring import Scorer

    return Scorer(result.model, result.tokenizer, {"train_config": result.config.to_dict(), "head": result.head}).logits(items)


def _logits_current(current, items, config) -> tuple[list | None, list[list[float]]]:
    """(labels, logits) of the current version on (prompt, completion) items."""
    import torch

    from rewardtrain.scoring import Scorer

    torch.set_num_threads(config.threads)
    scorer = Scorer.load(current.path, device=config.device)
    return scorer.labels, scorer.logits(items) if scorer.labels else []


def _score_current(current, items, config) -> list[float]:
    """The current version's rewards, with its own recorded encoding, on this run's device and threads."""
    import torch

    from rewardtrain.scoring import Scorer

    torch.set_num_threads(config.threads)
    return Scorer.load(current.path, device=config.device).score(items)


def _next_version_number(project) -> int:
    """max+1 over the rows and the folders on disk (a folder whose row was never written is skipped)."""
    highest = RewardModelVersion.objects.filter(project=project).aggregate(n=Max("version"))["n"] or 0
    root = checkpoint_root(project=project)
    if root.is_dir():
        on_disk = [int(m.group(1)) for p in root.iterdir() if (m := re.fullmatch(r"v(\d+)", p.name))]
        highest = max([highest, *on_disk])
    return highest + 1


def _make_current(version):
    """Switch "current" to `version`; the caller holds a transaction."""
    RewardModelVersion.objects.filter(project=version.project, is_current=True).exclude(pk=version.pk).update(
        is_current=False
    )
    version.is_current = True
    version.promoted_at = timezone.now()
    version.save(update_fields=["is_current", "promoted_at"])


# --- admin actions -------------------------------------------------------------------------


def model_version_promote(*, version) -> RewardModelVersion:
    """Make `version` current, overruling the gate if it had rejected it or it waits for
    evidence; VersionUnavailable
    (naming the version, never its path) when its checkpoint fails verification."""
    try:
        version_verify(version=version, root=checkpoint_root(project=version.project), detected_by="promote")
    except CheckpointInvalid as error:
        raise VersionUnavailable(f"v{version.version} failed verification: {error}") from None
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=version.project_id)
        version = RewardModelVersion.objects.get(pk=version.pk)
        if version.status in (RewardModelVersion.Status.REJECTED, RewardModelVersion.Status.PENDING):
            version.status = RewardModelVersion.Status.PUBLISHED
            version.rejected_reason = f"promoted by an admin over the gate: {version.rejected_reason}"
            version.save(update_fields=["status", "rejected_reason"])
        _make_current(version)
    return version


def model_version_rollback(*, project) -> RewardModelVersion:
    """Make the published version before the current one current again."""
    current = selectors.current_version(project=project)
    if current is None:
        raise VersionUnavailable("there is no current version to roll back from")
    previous = (
        RewardModelVersion.objects.filter(
            project=project, status=RewardModelVersion.Status.PUBLISHED, version__lt=current.version
        )
        .order_by("-version")
        .first()
    )
    if previous is None:
        raise VersionUnavailable(f"no published version before v{current.version}")
    return model_version_promote(version=previous)


# --- periodic ------------------------------------------------------------------------------


def reap_stale_runs() -> list[int]:
    """Mark running runs whose heartbeat stopped failed, and remove their partial checkpoints.

    Also sends queued runs whose message seems lost again (see _resend_lost_runs).
    """
    now = timezone.now()
    _resend_lost_runs(now)
    cutoff = now - timedelta(seconds=settings.ARBITER_HEARTBEAT_STALE_SECONDS)
    stale = list(
        TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff).select_related("project")
    )
    reaped = []
    for run in stale:
        updated = TrainingRun.objects.filter(
            id=run.id, status=TrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff
        ).update(
            status=TrainingRun.Status.FAILED,
            error=f"worker stopped sending heartbeats (last at {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)",
            finished_at=now,
        )
        if updated:
            reaped.append(run.id)
            # The project's only writer is gone (single flight), so any temp folder is partial.
            cleanup_partial(checkpoint_root(project=run.project))
    return reaped


def schedule_retraining() -> list[TrainingRun]:
    """Start a run for every project with enough comparisons since its last run."""
    started = []
    for project in Project.objects.order_by("id"):
        if selectors.active_run(project=project) is not None:
            continue
        if selectors.new_comparison_count(project=project) >= max(1, project.retrain_min_new_comparisons):
            try:
                started.append(training_run_start(project=project, trigger=TrainingRun.Trigger.SCHEDULE))
            except InvalidTrainingOptions as error:  # one misconfigured project must not stop the others
                log.warning("not retraining %s: %s", project.slug, error)
    return started


# --- live model agreement ----------------------------------------------------------


def _serving_scorers(projects):
    """(project, version, scorer) for each of `projects` with a reward model that can score (the
    one serving it: the current version or its fallback); one that cannot load is logged and
    skipped, so one broken checkpoint does not stop the periodic tasks for the others."""
    from rewardtrain import serving

    for project in projects.order_by("id"):
        if selectors.current_version(project=project) is None:
            continue
        try:
            version, scorer = serving.current_scorer(project=project)
        except serving.ModelUnavailable as error:
            log.warning("not scoring for %s: %s", project.slug, error)
            continue
        yield project, version, scorer


FRESH_BATCH = 512  # comparisons a tick scores per project: a few seconds on a CPU


def score_fresh_labels(*, batch=FRESH_BATCH) -> dict[str, int]:
    """Score new human comparisons with the version that serves each project, before a later
    version trains on them: those made after the version's training data was read (id above its
    snapshot's max_comparison_id) that it has not scored yet, oldest first, `batch` a project
    per call. Classify projects are left out (their labels are not comparisons). Returns
    {project slug: comparisons scored}; a project whose model cannot load is skipped (logged).
    With queue_order disagreement, a prompt whose label the model confidently contradicts is
    owed one more judgment (Prompt.extra_judgments), which the queue serves first."""
    from annotator.models import Comparison, Prompt

    from rewardtrain.models import FreshLabelScore

    scored = {}
    for project, version, scorer in _serving_scorers(Project.objects.exclude(mode=Project.Mode.CLASSIFY)):
        seen = (version.data_snapshot or {}).get("max_comparison_id") or 0
        todo = list(
            Comparison.objects.filter(project=project, source=Comparison.Source.HUMAN, id__gt=seen)
            .exclude(fresh_scores__version=version)
            .order_by("id")
            .values_list("id", "prompt__text", "chosen__text", "rejected__text")[:batch]
        )
        if not todo:
            continue
        rewards = scorer.score([item for _, p, c, r in todo for item in ((p, c), (p, r))])
        FreshLabelScore.objects.bulk_create(
            [
                FreshLabelScore(version=version, comparison_id=pk, chosen_reward=rewards[2 * i], rejected_reward=rewards[2 * i + 1])
                for i, (pk, *_texts) in enumerate(todo)
            ],
            ignore_conflicts=True,  # two ticks at once: the first row stands
        )
        if project.queue_order == Project.QueueOrder.DISAGREEMENT:
            # Confident: the rejected completion scores above the chosen one by a reward std or more.
            margin = settings.ARBITER_DISAGREEMENT_STDS * scorer.reward_std
            contradicted = [todo[i][0] for i in range(len(todo)) if rewards[2 * i + 1] - rewards[2 * i] >= margin]
            Prompt.objects.filter(
                comparisons__id__in=contradicted, queued=True, extra_judgments=0
            ).update(extra_judgments=1)  # one second opinion per prompt
        scored[project.slug] = len(todo)
    return scored


QUEUE_SCORE_BATCH = 256  # prompts a tick scores per project


def refresh_queue_scores(*, batch=QUEUE_SCORE_BATCH) -> dict[str, int]:
    """For projects whose queue_order is uncertain_first: the serving version's reward for each
    imported completion of queued prompts it has not scored yet, and each prompt's uncertainty,
    the smallest reward gap between two of its completions. `batch` prompts a project per call
    (beat calls it every ARBITER_FRESH_SCORE_MINUTES, so a promotion re-scores the queue within
    a few ticks); the queue only reads what is stored. Returns {project slug: prompts scored}."""
    from annotator.models import Completion, Prompt

    done = {}
    for project, version, scorer in _serving_scorers(Project.objects.filter(queue_order=Project.QueueOrder.UNCERTAIN_FIRST)):
        stale = (
            Completion.objects.filter(prompt__project=project, prompt__queued=True, origin=Completion.Origin.IMPORTED)
            .exclude(scored_version=version.version)
            .values_list("prompt_id", flat=True)
            .distinct()
            .order_by("prompt_id")[:batch]
        )
        prompt_ids = list(stale)
        if not prompt_ids:
            continue
        completions = list(
            Completion.objects.filter(prompt_id__in=prompt_ids, origin=Completion.Origin.IMPORTED)
            .select_related("prompt")
            .only("id", "text", "prompt_id", "prompt__text")
            .order_by("id")
        )
        rewards = scorer.score([(c.prompt.text, c.text) for c in completions])
        by_prompt: dict[int, list[float]] = {}
        for completion, reward in zip(completions, rewards):
            completion.model_reward, completion.scored_version = reward, version.version
            by_prompt.setdefault(completion.prompt_id, []).append(reward)
        with transaction.atomic():
            Completion.objects.bulk_update(completions, ["model_reward", "scored_version"], batch_size=500)
            for prompt_id, values in by_prompt.items():
                values.sort()
                gap = min((b - a for a, b in zip(values, values[1:])), default=None)
                Prompt.objects.filter(pk=prompt_id).update(uncertainty=gap)
        done[project.slug] = len(prompt_ids)
    return done


# --- RL audit ------------------------------------------------------------------------


def labeling_items_from_samples(*, project, sample_ids, actor) -> dict:
    """Turn scored samples a lead picked into labeling items: per prompt text, a queued prompt
    (found again by a stable id, so a second selection adds to it) holding the picked
    completions (distinct texts, marked with their reward and version). Returns the counts and
    the prompts that still have fewer completions than an item shows (they wait for more)."""
    import hashlib

    from annotator.models import Completion, Prompt
    from annotator.services import audit_record

    from .models import ScoredSample

    samples = list(ScoredSample.objects.filter(project=project, id__in=sample_ids).order_by("id"))
    by_prompt: dict[str, list] = {}
    for sample in samples:
        by_prompt.setdefault(sample.prompt, []).append(sample)
    created_prompts = created_completions = 0
    waiting = []
    with transaction.atomic():
        for text, picked in by_prompt.items():
            external_id = "rl-audit-" + hashlib.sha256(text.encode()).hexdigest()[:16]
            prompt, made = Prompt.objects.get_or_create(
                project=project, external_id=external_id, defaults={"text": text, "metadata": {"source": "rl audit"}}
            )
            created_prompts += made
            have = set(Completion.objects.filter(prompt=prompt).values_list("text", flat=True))
            for sample in picked:
                if sample.completion in have:
                    continue
                have.add(sample.completion)
                Completion.objects.create(
                    prompt=prompt, text=sample.completion, model_name=f"rl policy (scored by v{sample.version})",
                    metadata={"rl_audit": {"reward": sample.reward, "version": sample.version}},
                )  # fmt: skip
                created_completions += 1
            if len(have) < project.min_shown:
                waiting.append(external_id)
        audit_record(
            actor=actor, project=project, action="rl_audit.items",
            detail={"samples": [s.id for s in samples], "prompts_created": created_prompts,
                    "completions_created": created_completions},
        )  # fmt: skip
    return {"prompts_created": created_prompts, "completions_created": created_completions, "waiting": waiting}
