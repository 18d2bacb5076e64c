"""Importing prompts, completions and labelled pairs from a file.

One service behind the `import_prompts` command, the lead's upload page (at
once, or as an ImportJob on a Celery worker when the upload is large) and
`seed_demo`. The file is read twice, line by line, so memory stays bounded
whatever its size: the first pass checks every line and keeps only what the
checks across lines need (ids seen); the second writes in batches of BATCH
rows, all in one transaction. A file with any error changes nothing, unless the
caller asks to skip invalid lines; then every skipped line is reported.
The formats and the per-line checks are in the fileformats package.
"""

import hashlib
import io
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import KombuError

from .audit_log import audit_record
from .celery import broker_send_connection
from .fileformats import (
    FORMATS,
    LABEL_FORMATS,
    PAIR_FORMATS,
    PARQUET_MAGIC,
    LineError,
    Limits,
    PairRecord,
    RankingRecord,
    detect_format,
    is_parquet,
    parquet_format,
    parse,
    parse_objects,
    read_lines,
    read_parquet,
    text_id,
)
from .heartbeats import heartbeat, retrying
from .import_uploads import upload_opened, upload_remove, upload_save
from .models import Classification, Comparison, Completion, ImportJob, Prompt
from .project_lifecycle import ProjectArchived, project_refuse_if_archived

__all__ = ["FORMATS", "ImportFailed", "ImportReport", "LineError", "import_file", "import_stream", "text_id"]

logger = logging.getLogger(__name__)

BATCH = 1000  # rows per INSERT; also ids per lookup (under SQLite's 32766 variables)
ERRORS_KEPT = 1000  # a broken file can have a million bad lines: the first ones are kept, the rest counted
IDENTICAL_REASON = "the same reply as chosen: no preference to learn from"
UNRANKED_REASON = "fewer than two ranked completions: no preference to learn from"


def _s(n):
    return "" if n == 1 else "s"


class ImportFailed(Exception):
    """The file was not imported; nothing was written. `errors` holds the first ERRORS_KEPT of `total`."""

    def __init__(self, errors, total=None):
        self.errors = list(errors)
        self.total = total or len(self.errors)
        super().__init__(f"{self.total} error{_s(self.total)}; nothing was imported")


class _Kept:
    """The first ERRORS_KEPT LineErrors and a count of all."""

    def __init__(self):
        self.errors, self.total = [], 0

    def add(self, error):
        self.total += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append(error)


@dataclass
class ImportReport:
    format: str
    prompts_created: int = 0
    completions_created: int = 0
    comparisons_created: int = 0
    classifications_created: int = 0  # labels files (classify projects)
    skipped: int = 0  # prompts (or pairs, or labels) already in the project, or repeated in the file
    identical: int = 0  # pairs with the same reply on both sides: no preference, so not stored
    unranked: int = 0  # rankings with fewer than two ranked completions: no preference either
    invalid: int = 0  # lines left out because the caller asked to skip invalid lines
    skipped_lines: list = field(default_factory=list)  # LineErrors: the first ERRORS_KEPT of all three kinds

    def summary(self):
        labelled = (
            f"{self.classifications_created} labels"
            if self.classifications_created
            else f"{self.comparisons_created} comparisons"
        )
        text = (
            f"Created {self.prompts_created} prompts ({self.completions_created} completions, "
            f"{labelled}); skipped {self.skipped} already there."
        )
        also = []
        if self.identical:
            also.append(f"{self.identical} pair{_s(self.identical)} with the same reply on both sides")
        if self.unranked:
            also.append(f"{self.unranked} ranking{_s(self.unranked)} of fewer than two")
        if self.invalid:
            also.append(f"{self.invalid} invalid line{_s(self.invalid)}")
        return text + (f" Also skipped {' and '.join(also)}." if also else "")

    @property
    def skipped_lines_total(self):
        return self.identical + self.unranked + self.invalid

    @property
    def skipped_lines_hidden(self):
        return self.skipped_lines_total - len(self.skipped_lines)

    def skip_line(self, error, *, identical=False, unranked=False):
        if identical:
            self.identical += 1
        elif unranked:
            self.unranked += 1
        else:
            self.invalid += 1
        if len(self.skipped_lines) < ERRORS_KEPT:
            self.skipped_lines.append(error)

    def as_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        lines = [LineError(**e) for e in data.get("skipped_lines", [])]
        return cls(**{**data, "skipped_lines": lines})


# --- entry points ------------------------------------------------------------


def validate_import_size(size):
    """Raise ImportFailed for a file over ARBITER_MAX_IMPORT_BYTES."""
    limit = settings.ARBITER_MAX_IMPORT_BYTES
    if size > limit:
        raise ImportFailed([LineError(None, "", f"{size:,} bytes, the limit is {limit:,} (ARBITER_MAX_IMPORT_BYTES)")])


def import_file(*, project, data: bytes, **options) -> ImportReport:
    """import_stream for a small file already in memory (the demo, tests)."""
    return import_stream(project=project, stream=io.BytesIO(data), **options)


def import_stream(
    *, project, stream, filename: str = "", format: str | None = None, skip_invalid: bool = False, progress=None,
    actor=None,
) -> ImportReport:
    """Check every line of a seekable binary file, then write it all in one transaction.

    Raises ImportFailed, and writes nothing, if any line is invalid; with skip_invalid the
    valid lines are written and the report lists the others. `progress(done, total)` is
    called as lines are checked (total None) and then written. An import that writes is
    audited as data.import by `actor` (None: a script). ProjectArchived for an archived project.
    """
    project_refuse_if_archived(project)
    stream.seek(0, io.SEEK_END)
    validate_import_size(stream.tell())
    format = format or _detect_format(stream, filename)
    if format not in FORMATS:
        raise ImportFailed([LineError(None, "format", f"unknown format {format!r}; use one of {', '.join(FORMATS)}")])
    form = format  # the form of the records: a Parquet file's, from its columns
    if format == "parquet":
        try:
            stream.seek(0)
            form = parquet_format(stream)
        except ValueError as exc:
            raise ImportFailed([LineError(None, "", str(exc))]) from None
    if mode_error := _mode_error(project, form):
        raise ImportFailed([mode_error])
    progress = progress or (lambda done, total: None)
    limits = Limits(
        max_text_chars=settings.ARBITER_MAX_TEXT_CHARS,
        max_id_chars=Prompt._meta.get_field("external_id").max_length,
        max_model_chars=Completion._meta.get_field("model_name").max_length,
    )
    report = ImportReport(format=format)
    errors = _Kept()
    invalid = report.skip_line if skip_invalid else errors.add
    # A judgments file holds pairs, or in a classify project labels.
    labelled = form in LABEL_FORMATS or (form == "judgments" and project.classifies)
    pairs = form in PAIR_FORMATS or (form == "judgments" and not labelled)
    ids = _PairIds() if pairs or labelled else _PromptIds()
    labels = tuple(project.labels) if labelled else ()

    def records():
        stream.seek(0)
        if format == "parquet":
            rows = read_parquet(stream, max_bytes=settings.ARBITER_MAX_IMPORT_BYTES)
            return parse_objects(form, rows, limits, labels=labels)
        return parse(format, read_lines(stream), limits, labels=labels)

    lines_total = _check_pass(records, ids, report, invalid, progress)
    if errors.total:
        raise ImportFailed(errors.errors, errors.total)
    write = _write_pairs if pairs else (_write_labels if labelled else _write_prompts)
    try:
        with transaction.atomic():
            for chunk in _chunks(_valid_records(records, ids), BATCH):
                write(project, chunk, report, invalid)
                progress(chunk[-1].line, lines_total)
            if errors.total:  # lines only the database could refuse: roll back
                raise ImportFailed(errors.errors, errors.total)
            audit_record(actor=actor, project=project, action="data.import", detail=_audit_detail(filename, report))
    except IntegrityError:
        reason = "another import added some of these rows at the same time; try again"
        raise ImportFailed([LineError(None, "", reason)]) from None
    report.skipped_lines.sort(key=lambda e: e.line or 0)
    if report.completions_created >= ANALYZE_AFTER_ROWS:
        _refresh_planner_statistics()
    return report


def _audit_detail(filename, report):
    """What an import's audit entry keeps: the file, and the rows created and skipped by kind (zeros left out)."""
    created = {
        "prompts": report.prompts_created,
        "completions": report.completions_created,
        "comparisons": report.comparisons_created,
        "labels": report.classifications_created,
    }
    skipped = {
        "already_there": report.skipped, "identical": report.identical, "unranked": report.unranked, "invalid": report.invalid,
    }  # fmt: skip
    return {
        "filename": filename,
        "format": report.format,
        "created": {name: n for name, n in created.items() if n},
        "skipped": {name: n for name, n in skipped.items() if n},
    }


# Right after a bulk load PostgreSQL still plans with the empty tables'
# statistics: the queue's "next" took 87 ms instead of 1 on 10,000 fresh
# prompts until autovacuum caught up. Large imports refresh them at once.
ANALYZE_AFTER_ROWS = 1000


def _refresh_planner_statistics():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE annotator_prompt, annotator_completion, annotator_comparison, annotator_classification"
            )


def _mode_error(project, form):
    """A file-level LineError when the file's form does not fit the project's mode: labels only
    into a classify project, and labelled pairs or rankings never into one (it trains on labels)."""
    if form in LABEL_FORMATS and not project.classifies:
        reason = (
            f"a labels file imports into a classify project; {project.slug!r} is in {project.mode} mode "
            "(import its preferences as pairs or rankings)"
        )
        return LineError(None, "format", reason)
    if form in PAIR_FORMATS and project.classifies:
        reason = (
            f"{project.slug!r} is a classify project: it learns from labels, not from {form}; import "
            "labelled completions as a labels file ({\"prompt\", \"completion\", \"label\"} per line)"
        )
        return LineError(None, "format", reason)
    return None


def _detect_format(stream, filename):
    stream.seek(0)
    if is_parquet(filename, stream.readline(len(PARQUET_MAGIC))):  # bounded, like every read here
        return "parquet"
    stream.seek(0)
    for item in read_lines(stream):
        if not isinstance(item, LineError) and item[1].strip():
            return detect_format(filename, item[1])
    return detect_format(filename, "")


# --- the two passes ----------------------------------------------------------


def _identical(record):
    return isinstance(record, PairRecord) and record.chosen == record.rejected


def _unranked(record):
    return isinstance(record, RankingRecord) and len(record.ranked) < 2


def _check_pass(records, ids, report, invalid, progress):
    """Every line checked; returns the number of the last line read."""
    last = 0
    for item in records():
        last = max(last, item.line or 0)
        if isinstance(item, LineError):
            invalid(item)
        elif _identical(item):
            report.skip_line(LineError(item.line, "rejected", IDENTICAL_REASON), identical=True)
        elif _unranked(item):
            report.skip_line(LineError(item.line, "completions", UNRANKED_REASON), unranked=True)
        elif error := ids.error(item):
            invalid(error)
        progress(last, None)
    return last


def _valid_records(records, ids):
    """The records the check pass accepted: it is deterministic, and `ids` answers as it did then."""
    for item in records():
        if not (isinstance(item, LineError) or _identical(item) or _unranked(item) or ids.error(item)):
            yield item


class _PromptIds:
    """One prompt per id in a file. Keeps {id: first line} (about 150 bytes a prompt)."""

    def __init__(self):
        self.first_line = {}

    def error(self, record):
        first = self.first_line.setdefault(record.external_id, record.line)
        if first == record.line:
            return None
        if record.id_given:
            return LineError(record.line, "id", f"id {record.external_id!r} is also on line {first}")
        return LineError(record.line, "prompt", f"same prompt as line {first}; give each an id to keep both")


class _PairIds:
    """A prompt id a line names must mean one prompt text. Ids made from the text need nothing
    kept; for named ones, {id: (digest of the text, first line)}."""

    def __init__(self):
        self.seen = {}

    def error(self, record):
        if not record.id_field:
            return None
        digest = hashlib.blake2b(record.prompt.encode("utf-8"), digest_size=16).digest()
        seen_digest, seen_line = self.seen.setdefault(record.external_id, (digest, record.line))
        if seen_digest == digest:
            return None
        reason = f"{record.external_id!r} names a different prompt on line {seen_line}"
        return LineError(record.line, record.id_field, reason)


def _chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --- writing -----------------------------------------------------------------


def _write_prompts(project, chunk, report, invalid):
    existing = set(
        Prompt.objects.filter(project=project, external_id__in=[r.external_id for r in chunk]).values_list(
            "external_id", flat=True
        )
    )
    new = [r for r in chunk if r.external_id not in existing]
    report.skipped += len(chunk) - len(new)
    prompts = [Prompt(project=project, external_id=r.external_id, text=r.text, metadata=r.metadata) for r in new]
    Prompt.objects.bulk_create(prompts)
    completions = [
        Completion(prompt_id=prompt.pk, text=text, model_name=model, metadata=meta)
        for prompt, record in zip(prompts, new)
        for text, model, meta in record.completions
    ]
    Completion.objects.bulk_create(completions, batch_size=BATCH)
    golden, start = [], 0
    for prompt, record in zip(prompts, new):
        ids = [c.pk for c in completions[start : start + len(record.completions)]]
        start += len(record.completions)
        if record.gold:
            prompt.gold = [ids[i] for i in record.gold]
            golden.append(prompt)
    Prompt.objects.bulk_update(golden, ["gold"], batch_size=BATCH)
    report.prompts_created += len(prompts)
    report.completions_created += len(completions)


def _store_labelled_texts(project, chunk, report, invalid, texts_of):
    """What labelled pairs and labelled completions share: a line whose prompt id is in the
    project with another text is invalid; the other lines' missing prompts are created unqueued
    (they arrived labelled), and their completions, deduplicated by text per prompt.
    `texts_of(record)` gives a record's completions as (text, metadata). Earlier chunks' rows
    are in the database by now, so each chunk looks up only its own prompts.

    Returns (the records kept, prompt pk by external id, completion pk by (prompt pk, text)).
    """
    prompt_pk, prompt_text = {}, {}
    for pk, external_id, text in Prompt.objects.filter(
        project=project, external_id__in={r.external_id for r in chunk}
    ).values_list("pk", "external_id", "text"):
        prompt_pk[external_id], prompt_text[external_id] = pk, text
    records = []
    for r in chunk:
        if r.external_id in prompt_text and prompt_text[r.external_id] != r.prompt:
            reason = f"prompt id {r.external_id!r} is already in the project with a different text"
            invalid(LineError(r.line, "prompt", reason))
        else:
            records.append(r)
    completion_pk = {
        (prompt_id, text): pk
        for pk, prompt_id, text in Completion.objects.filter(prompt_id__in=list(prompt_pk.values())).values_list(
            "pk", "prompt_id", "text"
        )
    }

    new_prompts = {}
    for r in records:
        if r.external_id not in prompt_pk and r.external_id not in new_prompts:
            new_prompts[r.external_id] = Prompt(project=project, external_id=r.external_id, text=r.prompt, queued=False)
    Prompt.objects.bulk_create(new_prompts.values())
    prompt_pk.update((external_id, prompt.pk) for external_id, prompt in new_prompts.items())
    report.prompts_created += len(new_prompts)

    new_completions = {}
    for r in records:
        for text, metadata in texts_of(r):
            key = (prompt_pk[r.external_id], text)
            if key not in completion_pk and key not in new_completions:
                new_completions[key] = Completion(prompt_id=key[0], text=text, metadata=metadata)
    Completion.objects.bulk_create(new_completions.values(), batch_size=BATCH)
    completion_pk.update((key, completion.pk) for key, completion in new_completions.items())
    report.completions_created += len(new_completions)
    return records, prompt_pk, completion_pk


def _pair_texts(record):
    if isinstance(record, RankingRecord):
        return [(text, {}) for text in record.ranked]
    return [(record.chosen, {}), (record.rejected, {})]


def _write_pairs(project, chunk, report, invalid):
    """Labelled pairs (a ranking as its pairs): imported comparisons, each pair of completions once."""
    records, prompt_pk, completion_pk = _store_labelled_texts(project, chunk, report, invalid, _pair_texts)
    known_pairs = set(
        Comparison.objects.filter(prompt_id__in=list(prompt_pk.values())).values_list("prompt_id", "chosen_id", "rejected_id")
    )
    comparisons = []
    for r in (pair for record in records for pair in (record.pairs() if isinstance(record, RankingRecord) else [record])):
        prompt_id = prompt_pk[r.external_id]
        key = (prompt_id, completion_pk[(prompt_id, r.chosen)], completion_pk[(prompt_id, r.rejected)])
        if key in known_pairs:
            report.skipped += 1
            continue
        known_pairs.add(key)
        comparisons.append(
            Comparison(
                project=project, prompt_id=key[0], chosen_id=key[1], rejected_id=key[2],
                source=Comparison.Source.IMPORTED,
            )
        )  # fmt: skip
    Comparison.objects.bulk_create(comparisons, batch_size=BATCH)
    report.comparisons_created += len(comparisons)


def _write_labels(project, chunk, report, invalid):
    """Labelled completions: imported classifications. The same label on the same completion is
    stored once, so importing a file again adds nothing; different labels on one completion are
    all kept (disagreement is what training learns from)."""
    records, prompt_pk, completion_pk = _store_labelled_texts(
        project, chunk, report, invalid, lambda r: [(r.completion, r.metadata)]
    )
    known_labels = set(
        Classification.objects.filter(prompt_id__in=list(prompt_pk.values())).values_list(
            "prompt_id", "completion_id", "label"
        )
    )
    classifications = []
    for r in records:
        prompt_id = prompt_pk[r.external_id]
        key = (prompt_id, completion_pk[(prompt_id, r.completion)], r.label)
        if key in known_labels:
            report.skipped += 1
            continue
        known_labels.add(key)
        classifications.append(
            Classification(
                project=project, prompt_id=prompt_id, completion_id=key[1], label=r.label,
                source=Comparison.Source.IMPORTED,
            )
        )  # fmt: skip
    Classification.objects.bulk_create(classifications, batch_size=BATCH)
    report.classifications_created += len(classifications)


# --- background jobs ---------------------------------------------------------


def import_job_create(*, project, requested_by, upload, format="", skip_invalid=False) -> ImportJob:
    """Keep an uploaded file where every worker reaches it (import_uploads: the data dir, or the
    checkpoint store's bucket) and queue its import after the transaction commits.
    ProjectArchived for an archived project."""
    project_refuse_if_archived(project)
    upload_path = upload_save(upload)
    job = ImportJob.objects.create(
        project=project, requested_by=requested_by, filename=upload.name[:255], format=format or "",
        skip_invalid=skip_invalid, upload_path=upload_path, size=upload.size,
    )  # fmt: skip
    transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job):
    """Send the job's task. A broker that is down or hung fails the send within
    ARBITER_BROKER_SEND_TIMEOUT, as a training run's does, so the upload page still answers at
    once: the job is failed with the reason on its page (nothing re-sends an import)."""
    from .tasks import import_job_run_task  # tasks import this module

    try:
        with broker_send_connection() as broker:
            # No result: the job row is the outcome, and a Redis result backend would be contacted first.
            import_job_run_task.apply_async((job.pk,), connection=broker, retry=False, ignore_result=True)
    except (KombuError, OSError) as exc:
        logger.warning("could not send import job %s to the broker: %s", job.pk, exc)
        reason = f"could not send the import to the broker (upload the file again once it is back): {exc}"
        _job_finish(job, ImportJob.Status.FAILED, errors=[LineError(None, "", reason)])


# The first delivery and one redelivery after its worker died (killed for memory mid-import, say):
# a file that kills its worker twice would most likely do it again.
MAX_ATTEMPTS = 2


def import_job_run(*, job_id) -> ImportJob | None:
    """Run a queued job, claimed with a conditional UPDATE.

    A job found already running is a redelivery of a message whose worker died (acks_late and
    reject_on_worker_lost): its transaction rolled back with its connection, so it is imported
    again once, under attempt 2, and failed on a further redelivery. A finished job is left alone.
    """
    now = timezone.now()
    claimed = ImportJob.objects.filter(id=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    job = ImportJob.objects.select_related("project", "requested_by").filter(id=job_id).first()
    if job is None:
        return None
    if not claimed and not (job.status == ImportJob.Status.RUNNING and _job_reclaim(job, now=now)):
        return job
    progress = _JobProgress(job)
    try:
        with (
            heartbeat(lambda: _this_attempt(job), what=f"heartbeat of import job {job.pk}"),
            upload_opened(job.upload_path) as stream,
        ):
            report = import_stream(
                project=job.project, stream=stream, filename=job.filename, format=job.format or None,
                skip_invalid=job.skip_invalid, progress=progress, actor=job.requested_by,
            )  # fmt: skip
    except ImportFailed as failed:
        _job_finish(job, ImportJob.Status.FAILED, errors=failed.errors, errors_total=failed.total)
    except ProjectArchived as archived:  # archived after the upload was queued
        _job_finish(job, ImportJob.Status.FAILED, errors=[LineError(None, "", str(archived))])
    except OSError as exc:
        reason = f"cannot read the upload: {exc.strerror}"
        _job_finish(job, ImportJob.Status.FAILED, errors=[LineError(None, "", reason)])
    except Exception as exc:  # a bug, or the database lost: said on the job's page, not left to the reaper
        _job_finish(job, ImportJob.Status.FAILED, errors=[LineError(None, "", f"the import stopped: {exc}")])
        raise
    else:
        _job_finish(job, ImportJob.Status.SUCCEEDED, report=report)
    finally:
        progress.close()
    return job


def _this_attempt(job):
    return ImportJob.objects.filter(id=job.pk, status=ImportJob.Status.RUNNING, attempts=job.attempts)


def _job_reclaim(job, *, now) -> bool:
    """Take over a running job whose worker died, once; fail it when its retry was used. The
    conditional UPDATE on `attempts` lets one redelivery win."""
    if job.attempts >= MAX_ATTEMPTS:
        reason = (
            f"the worker died during each of its {job.attempts} attempts (killed mid-import, e.g. out of memory); "
            "nothing was imported, not retried again"
        )
        _job_finish(job, ImportJob.Status.FAILED, errors=[LineError(None, "", reason)])
        return False
    retried = _this_attempt(job).update(
        attempts=job.attempts + 1, started_at=now, heartbeat_at=now, lines_done=0, lines_total=None
    )
    if retried:
        job.attempts += 1
        job.lines_done, job.lines_total = 0, None
        logger.warning("import job %s: its worker died; importing again (attempt %s)", job.pk, job.attempts)
    return bool(retried)


def _job_finish(job, status, *, report=None, errors=(), errors_total=None):
    """Store the outcome, unless the job was reaped or taken over meanwhile, and remove the upload."""
    job.status, job.finished_at = status, timezone.now()
    job.errors = [asdict(e) for e in errors]
    job.errors_total = errors_total or len(job.errors)
    if report is not None:
        job.report = report.as_dict()
        job.lines_done = job.lines_total or job.lines_done  # every line is accounted for
    unfinished = ImportJob.objects.filter(
        id=job.pk, status__in=(ImportJob.Status.QUEUED, ImportJob.Status.RUNNING), attempts=job.attempts
    )
    # A lost database is waited for up to the stale threshold: past it the reaper takes the job anyway.
    retrying(
        lambda: unfinished.update(**{name: getattr(job, name) for name in FINISH_FIELDS}),
        what=f"outcome of import job {job.pk}",
        seconds=settings.ARBITER_HEARTBEAT_STALE_SECONDS,
    )
    _remove_upload(job)


FINISH_FIELDS = ("status", "finished_at", "errors", "errors_total", "report", "lines_done", "lines_total")


def _remove_upload(job):
    upload_remove(job.upload_path)


def import_jobs_reap_stale() -> list[int]:
    """Fail the running jobs whose heartbeat stopped (their worker is gone and no redelivery came)
    and remove their uploads; the ids reaped."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.ARBITER_HEARTBEAT_STALE_SECONDS)
    reaped = []
    for job in ImportJob.objects.filter(status=ImportJob.Status.RUNNING, heartbeat_at__lt=cutoff):
        reason = (
            f"the worker stopped sending heartbeats (last at {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); "
            "nothing was imported, upload the file again"
        )
        job.errors = [asdict(LineError(None, "", reason))]
        stale = ImportJob.objects.filter(id=job.pk, status=ImportJob.Status.RUNNING, heartbeat_at__lt=cutoff)
        if stale.update(status=ImportJob.Status.FAILED, finished_at=now, errors=job.errors, errors_total=1):
            _remove_upload(job)
            reaped.append(job.pk)
    return reaped


PROGRESS_EVERY_SECONDS = 1.0


class _JobProgress:
    """progress(done, total) for import_stream that stores the job's progress at most once a second.

    The writing pass runs inside one long transaction, and an UPDATE made there would stay
    invisible until the end, so progress goes through a connection of its own. SQLite
    allows one writer at a time: there only the checking pass's progress shows as it goes.
    """

    def __init__(self, job):
        self.job, self.saved_at = job, 0.0
        self.own = connections.create_connection("default") if connection.vendor == "postgresql" else None

    def __call__(self, done, total):
        self.job.lines_done, self.job.lines_total = done, total  # saved with the job at the end
        now = time.monotonic()
        if now - self.saved_at < PROGRESS_EVERY_SECONDS:
            return
        self.saved_at = now
        if self.own is not None:
            with self.own.cursor() as cursor:
                cursor.execute(
                    "UPDATE annotator_importjob SET lines_done = %s, lines_total = %s WHERE id = %s",
                    [done, total, self.job.pk],
                )
        elif not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job.pk).update(lines_done=done, lines_total=total)

    def close(self):
        if self.own is not None:
            self.own.close()
