"""Training runs: starting one (single flight, enqueued after commit), running it (claimed by a conditional UPDATE, trained, published atomically, recorded with the gate's decision in one transaction) and reaping or rescheduling runs on a timer.

The module that joins the database to the Django-free trainer (data.py, training.py,
checkpoints.py)."""

import logging
import math
import time
import traceback
import uuid
from contextlib import nullcontext
from dataclasses import fields
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import KombuError

from annotator.audit_log import audit_record
from annotator.celery import app, broker_send_connection
from annotator.heartbeats import CONNECTION_ERRORS, heartbeat, retrying
from annotator.models import Project
from annotator.project_lifecycle import project_refuse_if_archived
from arbiter_reward.reward import POOLINGS, recorded_pooling
from rewardtrain import checkpoint_store, selectors, worker_shutdown
from rewardtrain.checkpoints import CheckpointInvalid, cleanup_partial, read_metadata, write_checkpoint
from rewardtrain.base_models import with_base_pooling
from rewardtrain.config import InvalidTrainingOptions, TrainConfig, default_base_model, saved_model_config
from rewardtrain.data import split_labelled, split_pairs
from rewardtrain.model_roots import base_model_check
from rewardtrain.run_processes import in_processes, train_run_in_processes
from rewardtrain.storage import version_name
from rewardtrain.store_reaper import reap_unpublished_checkpoints
from rewardtrain.verification import version_verify

from .models import RewardModelVersion, TrainingRun
from .promotion_gate import LabelEvidence, PairEvidence, promotion_decision
from .versions import checkpoint_root, make_current, next_version_number

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


# What a run is doing, shown on its page (rewardtrain/training.py reports the trainer's own
# phases, PHASE_*; step reports say "training").
PHASE_LOADING_DATA = "loading the data"
PHASE_EVALUATING = "evaluating"
PHASE_PUBLISHING = "publishing"
INTERRUPTED = "interrupted by worker shutdown"
WAITS_FOR_A_WORKER = "its worker shut down; the next worker to start takes it"
FIRST_PROGRESS = {"phase": PHASE_LOADING_DATA}  # what a claimed run shows before the trainer reports


class RunAborted(Exception):
    """Raised from the progress callback when the row was marked failed under the worker."""


class RunInterrupted(Exception):
    """Raised from the progress callback when the worker was told to stop (worker_shutdown.py)."""

def train_config_for(*, project, options) -> TrainConfig:
    """Defaults, then the deployment's device and the project's base model, then the run's options.

    InvalidTrainingOptions when the base model is not a folder under ARBITER_MODEL_ROOTS.
    """
    values = {
        "device": settings.ARBITER_TRAIN_DEVICE,
        "procs": settings.ARBITER_TRAIN_PROCS,
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
    config.check_for_model(saved_model_config(config.base_model or default_base_model()))
    if config.pooling not in POOLINGS:
        raise InvalidTrainingOptions(f"pooling {config.pooling!r} is not one of {', '.join(POOLINGS)}")
    return with_base_pooling(config)  # a decoder LM's head reads its last token: recorded so on the run


def base_model_label(config: TrainConfig) -> str:
    return config.base_model or PACKAGED_BASE_MODEL


# --- starting ------------------------------------------------------------------------------


def training_run_get_or_start(*, project, trigger, requested_by=None, options=None, enqueue=True):
    """(run, created): a new queued run, or the project's queued/running one (single flight).

    With enqueue, the Celery task is sent only after the transaction commits, under a task id
    stored on the row beforehand: a redelivered message carries that id, a stale one does not.
    ProjectArchived for an archived project.
    """
    project_refuse_if_archived(project)
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
                audit_record(
                    actor=requested_by,
                    project=project,
                    action="run.start",
                    detail={"run": run.id, "trigger": trigger, "options": options},
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


def _resend_lost_runs(now, *, lost=None) -> list[int]:
    """Send queued runs again, under a new task id: those whose last send failed, and those no
    worker claimed for a long while.

    A message can be lost (a broker restarted empty, a send that failed after the commit) and
    its run would hold the project's single-flight slot for ever. The old message, should it
    still arrive, no longer matches the run's task id and claims nothing.
    """
    cutoff = now - timedelta(minutes=settings.ARBITER_QUEUED_RESEND_MINUTES)
    resent = []
    if lost is None:
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
    # Autocommitted at once, with the first phase: the run page says "running" from here on,
    # not "queued" until the first step, tens of seconds of loading and tokenising later.
    claimed = claim.update(
        status=TrainingRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        progress=FIRST_PROGRESS,
    )
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
            cleanup_partial(checkpoint_root(project=run.project))
            if isinstance(error, RunInterrupted):
                _run_requeue(run)
                return run
            log.exception("training run %s failed", run.id)
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
    ).update(attempts=run.attempts + 1, started_at=now, heartbeat_at=now, progress=FIRST_PROGRESS, history=[])
    if retried:
        run.attempts += 1
        run.progress, run.history = dict(FIRST_PROGRESS), []
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
            attempts=run.attempts + 1, started_at=now, heartbeat_at=now, progress=FIRST_PROGRESS, history=[]
        ),
        what=f"retry of training run {run.id}",
        seconds=settings.ARBITER_HEARTBEAT_STALE_SECONDS,
    )
    if retried:
        run.attempts += 1
        run.progress, run.history = dict(FIRST_PROGRESS), []
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

    def fail():
        with transaction.atomic():
            failed = _this_attempt(run).update(status=TrainingRun.Status.FAILED, error=error, finished_at=timezone.now())
            if failed:
                _audit_finish(run, status=TrainingRun.Status.FAILED, reason=error)
        return failed

    retrying(fail, what=f"failure of training run {run.id}", seconds=settings.ARBITER_HEARTBEAT_STALE_SECONDS)


def _run_requeue(run):
    """Queue the run again after its worker was told to stop: the interruption is noted on the
    row and does not count as an attempt (MAX_ATTEMPTS is for workers that die).

    Not sent from here: a worker in its warm shutdown still takes messages, and would take this
    one only to stop it again. The row says it waits for a send instead, as after a failed one;
    the next worker to start sends it (resend_unsent_runs), or else the reaper's next tick.
    """
    progress = run.progress
    where = f"step {progress['step']} of {progress['total']}" if progress.get("step") else progress.get("phase", "")
    now = timezone.now()
    run.note = f"{INTERRUPTED} at {now:%Y-%m-%d %H:%M:%S} UTC ({where}); queued again"
    retrying(
        lambda: _this_attempt(run).update(
            status=TrainingRun.Status.QUEUED, attempts=run.attempts - 1, note=run.note, enqueued_at=now,
            send_error=WAITS_FOR_A_WORKER, started_at=None, heartbeat_at=None, progress={}, history=[],
        ),
        what=f"requeue of training run {run.id}",
        seconds=settings.ARBITER_HEARTBEAT_STALE_SECONDS,
    )
    log.warning("training run %s: %s", run.id, run.note)
    run.refresh_from_db()


def resend_unsent_runs() -> list[int]:
    """Send the queued runs whose last send failed or whose worker shut down: when a worker
    starts (tasks.py), so `make run` takes an interrupted run up again at once."""
    return _resend_lost_runs(timezone.now(), lost=~Q(send_error=""))


def _audit_finish(run, *, status, reason="", version=None, gate=None):
    """The run's outcome in the project's audit log; no actor: a worker or the command ran it."""
    detail = {"run": run.id, "status": status, "version": version.version if version else None}
    if gate is not None:
        detail.update(gate_outcome=gate["outcome"], reason=gate["reason"])
    else:
        lines = [line.strip() for line in reason.splitlines() if line.strip()]
        detail["reason"] = lines[-1] if lines else ""  # a traceback's last line: the error, no paths
    audit_record(actor=None, project=run.project, action="run.finish", detail=detail)


PROGRESS_FIELDS = ("phase", "step", "total", "loss", "pairs_per_s", "items_per_s")


def _progress_writer(run, *, every, on_progress):
    """The trainer's progress callback: writes progress (the phase, the latest step), history and
    heartbeat to the row, at most every `every` seconds, but at once on a change of phase and
    after an evaluation. It stops the run once the row is no longer running under this attempt
    (the reaper failed it, or a redelivery took it over) and when the worker was told to stop.
    `on_progress(report)` is called after every step, once the row was written."""
    last_write = 0.0

    def progress(report):
        nonlocal last_write
        if worker_shutdown.requested():
            raise RunInterrupted(f"run {run.id}: the worker is shutting down")
        phase_changed = report.get("phase", run.progress.get("phase")) != run.progress.get("phase")
        # Merged: a phase report keeps the latest step, so the page's bar stays while it evaluates.
        run.progress = finite({**run.progress, **{k: report[k] for k in PROGRESS_FIELDS if k in report}})
        evaluated = "eval" in report
        if evaluated:
            run.history.append(finite(report["eval"]))
        if phase_changed or evaluated or time.monotonic() - last_write >= every:
            last_write = time.monotonic()
            still_running = retrying(
                lambda: _this_attempt(run).update(progress=run.progress, history=run.history, heartbeat_at=timezone.now()),
                what=f"progress of training run {run.id}",
            )
            if not still_running:
                raise RunAborted(f"run {run.id} is no longer running; stopping")
        if on_progress and "step" in report:
            on_progress(report)

    return progress


def _train_and_publish(run, *, progress_every, on_progress):
    project = run.project
    config = train_config_for(project=project, options=run.options)
    if project.classifies:
        examples = selectors.training_items(project=project, review=config.review)
        train_examples, heldout_examples = split_labelled(examples, config.heldout_fraction)
        evidence = LabelEvidence(heldout_examples, project.labels)
        what = "labelled completions"
    else:
        examples = selectors.training_pairs(project=project, review=config.review)
        train_examples, heldout_examples = split_pairs(examples, config.heldout_fraction)
        rankings = selectors.heldout_rankings(project=project, fraction=config.heldout_fraction, review=config.review)
        evidence = PairEvidence(heldout_examples, rankings)
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

    progress = _progress_writer(run, every=progress_every, on_progress=on_progress)
    # A version fetched from a remote store is held in this host's cache while it loads.
    with checkpoint_store.holding(current) if warm else nullcontext():
        trained = dict(init_from=str(checkpoint_store.version_folder(current)) if warm else None, progress=progress)
        if in_processes(config):  # through torchrun: rank 0 reports to `progress`, and its model comes back
            labelled = dict(labels=project.labels, positive=project.positive_label) if project.classifies else {}
            result = train_run_in_processes(run, config, train_examples, heldout_examples, **labelled, **trained)
        elif project.classifies:
            result = train_classifier(
                train_examples, heldout_examples, config, labels=project.labels, positive=project.positive_label, **trained
            )
        else:
            result = train(train_examples, heldout_examples, config, **trained)
    progress({"phase": PHASE_EVALUATING})  # the gate scores the held-out set with both versions
    gate = promotion_decision(current=current, current_invalid=current_invalid, result=result, evidence=evidence, config=config)
    start = {"warm_start": warm, **({"warm_start_skipped": cold_reason} if cold_reason else {})}

    progress({"phase": PHASE_PUBLISHING})
    number = next_version_number(project)
    # Written on this host first (in place for the local store), then published to the store.
    path = write_checkpoint(
        result,
        checkpoint_store.staging_folder(project=project, number=number),
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
    name = version_name(project.slug, number)
    try:
        # Pinned by the process that wrote it, before its upload (every file, the manifest last):
        # from here on the row, not the store, says which manifest was published.
        name, pin = checkpoint_store.publish(path, project=project, number=number)
        _record_version(
            run, number=number, path=name, current=current, gate=gate, metrics=result.metrics, snapshot=snapshot,
            start=start, base_model=base_model_label(config), pin=pin,
        )
    except BaseException:
        checkpoint_store.unpublish(path, name=name)  # a version without its row must not look published
        raise
    checkpoint_store.published(path, name=name)


def _verification_failure(version) -> str:
    """Why `version`'s checkpoint does not match its row and its manifest ("" when it does);
    the message names files inside the folder, never a path."""
    try:
        version_verify(version=version, detected_by="training")
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
    metadata = read_metadata(checkpoint_store.version_folder(current))
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
            make_current(version)
        # A version pending evidence was published, not rejected: the run succeeded.
        rejected = gate["outcome"] == RewardModelVersion.Status.REJECTED
        run.status = TrainingRun.Status.REJECTED if rejected else TrainingRun.Status.SUCCEEDED
        run.version = version
        run.metrics = version.metrics
        run.finished_at = timezone.now()
        run.error = ""
        run.save(update_fields=["status", "version", "metrics", "finished_at", "error", "progress", "history"])
        _audit_finish(run, status=run.status, version=version, gate=gate)



# --- periodic ------------------------------------------------------------------------------


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


def reap_stale_runs() -> list[int]:
    """Take running runs whose heartbeat stopped from their worker, and remove their partial
    checkpoints: one that has an attempt left is queued again under a new task id, for another
    worker (host) to train; one whose last attempt it was is failed. The ids reaped.

    The broker's own redelivery of the dead worker's message is not waited for: Redis's comes
    after its visibility timeout, hours later. Should it come, its task id no longer matches the
    run's and it claims nothing; should the worker still be alive after all, its next heartbeat
    finds the row changed and it stops (RunAborted). Also sends queued runs whose message seems
    lost again (see _resend_lost_runs).
    """
    now = timezone.now()
    _resend_lost_runs(now)
    cutoff = now - timedelta(seconds=settings.ARBITER_HEARTBEAT_STALE_SECONDS)
    stale = list(
        TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff).select_related("project")
    )
    reaped = []
    for run in stale:
        silent = f"stopped sending heartbeats (last at {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)"
        this_attempt = TrainingRun.objects.filter(
            id=run.id, status=TrainingRun.Status.RUNNING, heartbeat_at__lt=cutoff, attempts=run.attempts
        )
        with transaction.atomic():
            if run.attempts < MAX_ATTEMPTS:
                run.task_id = str(uuid.uuid4())
                run.note = f"its worker {silent} in attempt {run.attempts}; queued again for another worker"
                updated = this_attempt.update(
                    status=TrainingRun.Status.QUEUED, task_id=run.task_id, note=run.note, started_at=None,
                    heartbeat_at=None, progress={}, history=[],
                )  # fmt: skip
                if updated:
                    transaction.on_commit(lambda run=run: _enqueue(run))
            else:
                error = f"worker {silent}, in attempt {run.attempts} of {MAX_ATTEMPTS}; not retried again"
                updated = this_attempt.update(status=TrainingRun.Status.FAILED, error=error, finished_at=now)
                if updated:
                    _audit_finish(run, status=TrainingRun.Status.FAILED, reason=error)
        if updated:
            log.warning("training run %s: its worker %s", run.id, silent)
            reaped.append(run.id)
            # The project's only writer is gone (single flight), so any temp folder is partial.
            cleanup_partial(checkpoint_root(project=run.project))
    try:
        reap_unpublished_checkpoints()
    except Exception as error:  # a store that cannot be reached must not stop reaping runs
        log.warning("could not look for unpublished checkpoints in the store: %s", error)
    return reaped


def schedule_retraining() -> list[TrainingRun]:
    """Start a run for every project with enough comparisons since its last run."""
    started = []
    for project in Project.objects.filter(archived_at=None).order_by("id"):  # archived: read-only
        if selectors.active_run(project=project) is not None:
            continue
        if selectors.new_comparison_count(project=project) >= max(1, project.retrain_min_new_comparisons):
            try:
                started.append(training_run_start(project=project, trigger=TrainingRun.Trigger.SCHEDULE))
            except InvalidTrainingOptions as error:  # one misconfigured project must not stop the others
                log.warning("not retraining %s: %s", project.slug, error)
    return started
