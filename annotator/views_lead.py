"""The project lead's pages: progress, import and export.

Leads and admins only: a labeler gets 403, an outsider 404 (see permissions.py).
"""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from . import exports
from .export_audit import export_audit
from .export_formats import FORMATS as EXPORT_FORMATS
from .imports import (
    FORMATS,
    ImportFailed,
    ImportReport,
    LineError,
    import_job_create,
    import_stream,
    validate_import_size,
)
from .models import ImportJob
from .permissions import project_for_lead
from .project_lifecycle import project_refuse_if_archived
from .selectors import comparisons_by_source, labeler_activity, project_progress
from .stuck import stuck_count

ERRORS_SHOWN = 50  # a broken file can have 100k bad lines; the page shows the first ones and a count


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(
        choices=[("", "Detect from the file")] + [(f, f) for f in FORMATS], required=False
    )
    skip_invalid = forms.BooleanField(
        required=False, label="Skip invalid lines: import the valid ones and list the others"
    )


class ExportForm(forms.Form):
    """The export options as form fields; exports.export_options_from checks them, as it does
    the command's options and the API's query parameters."""

    format = forms.ChoiceField(choices=[(f, f) for f in EXPORT_FORMATS], required=False)
    kind = forms.ChoiceField(choices=[(k, k) for k in exports.KINDS], required=False)
    form = forms.ChoiceField(choices=[(f, f) for f in exports.FORMS], required=False, help_text="Pairs only.")
    since = forms.CharField(required=False, help_text="ISO date or time: created at or after.")
    until = forms.CharField(required=False, help_text="ISO date or time: created before.")
    labelers = forms.CharField(required=False, help_text="Comma-separated usernames; empty for everyone.")
    source = forms.ChoiceField(choices=[("", "both")] + [(s, s) for s in exports.SOURCES], required=False)
    split = forms.ChoiceField(choices=[("", "both")] + [(s, s) for s in exports.SPLITS], required=False)
    hash_annotators = forms.BooleanField(required=False, label="Replace usernames with keyed hashes")
    min_agreement = forms.FloatField(
        required=False, min_value=0, max_value=1,
        help_text="0 to 1: only prompts whose judgments agree with their majority at least this much; "
        "a prompt no two labelers answered is then left out.",
    )
    exclude_flagged = forms.BooleanField(
        required=False, label="Leave out flagged labelers and judgments faster than the project's minimum time"
    )
    include_gold = forms.BooleanField(
        required=False, label="Include gold prompts' judgments in pairs, rankings and labels"
    )
    include_taken_out = forms.BooleanField(
        required=False, label="Include prompts taken out of the queue"
    )
    review = forms.ChoiceField(
        choices=[
            ("not-rejected", "all but rejected judgments"),
            ("accepted", "accepted judgments only (no imported rows)"),
            ("any", "any, rejected included"),
        ],
        required=False,
        help_text="Reviewed judgments: a rejected one's rows are left out unless asked for.",
    )


@login_required
@require_GET
def project_detail(request, slug):
    project, _ = project_for_lead(user=request.user, slug=slug)
    return render(
        request,
        "annotator/project_detail.html",
        {
            "project": project,
            "progress": project_progress(project=project),
            "stuck": stuck_count(project=project),
            "labelers": labeler_activity(project=project),
            "sources": comparisons_by_source(project=project),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_import(request, slug):
    project, _ = project_for_lead(user=request.user, slug=slug)
    if request.method == "POST":
        project_refuse_if_archived(project)
    context = {
        "project": project,
        "max_bytes": settings.ARBITER_MAX_IMPORT_BYTES,
        "background_bytes": settings.ARBITER_IMPORT_BACKGROUND_BYTES,
    }
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        # Django keeps an upload over 2.5 MB in a temporary file: it is read from there line by line.
        upload, format, skip_invalid = (form.cleaned_data[name] for name in ("file", "format", "skip_invalid"))
        try:
            validate_import_size(upload.size)
            if upload.size > settings.ARBITER_IMPORT_BACKGROUND_BYTES:
                job = import_job_create(
                    project=project, requested_by=request.user, upload=upload, format=format, skip_invalid=skip_invalid
                )
                return redirect("import_job_detail", project.slug, job.pk)
            report = import_stream(
                project=project, stream=upload, filename=upload.name, format=format or None, skip_invalid=skip_invalid,
                actor=request.user,
            )
            context.update(_report_context(report))
            form = ImportForm()
        except ImportFailed as failed:
            context["errors"] = failed.errors[:ERRORS_SHOWN]
            context["errors_hidden"] = failed.total - len(context["errors"])
            status = 400
    elif request.method == "POST":
        status = 400
    context["form"] = form
    return render(request, "annotator/import.html", context, status=status)


def _report_context(report):
    if report is None:
        return {}
    shown = report.skipped_lines[:ERRORS_SHOWN]
    return {"report": report, "skipped_lines": shown, "skipped_hidden": report.skipped_lines_total - len(shown)}


@login_required
@require_GET
def import_job_detail(request, slug, job_id):
    project, _ = project_for_lead(user=request.user, slug=slug)
    job = get_object_or_404(ImportJob, project=project, pk=job_id)
    report = ImportReport.from_dict(job.report) if job.report else None
    errors = [LineError(**e) for e in job.errors[:ERRORS_SHOWN]]
    return render(
        request,
        "annotator/import_job.html",
        {
            "project": project,
            "job": job,
            "active": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
            **_report_context(report),
            "errors": errors,
            "errors_hidden": job.errors_total - len(errors),
        },
    )


@login_required
@require_GET
def project_export(request, slug):
    """The export page: a filter form (GET, so a filtered export is a link), a row count
    preview, and the download itself when the form is sent with download=1."""
    project, _ = project_for_lead(user=request.user, slug=slug)
    # The page without a query: the defaults (the labels kind for a classify project).
    options, ok = exports.export_options_from({}, project=project), not request.GET
    form = ExportForm(request.GET or None, initial={"kind": options.kind})
    if form.is_valid():
        try:
            options, ok = exports.export_options_from(form.cleaned_data, project=project), True
        except exports.ExportOptionsError as error:
            for name, reason in error.errors.items():
                form.add_error(name, reason)
    # `datasets` loads no file without rows, not even a CSV header or a Parquet schema: say so instead.
    download = ok and bool(request.GET.get("download"))
    nothing = download and not exports.export_has_rows(project=project, options=options)
    if download and not nothing:
        export_audit(project=project, actor=request.user, options=options, via="page")
        response = StreamingHttpResponse(
            exports.export_stream(project=project, options=options), content_type=options.content_type
        )
        stem, extension = options.filename(project.slug).rsplit(".", 1)
        response["Content-Disposition"] = f'attachment; filename="{stem}-{timezone.now():%Y%m%d-%H%M}.{extension}"'
        return response
    count = exports.export_count(project=project, options=options) if ok else None
    return render(
        request, "annotator/export.html", {"project": project, "form": form, "count": count, "nothing": nothing}
    )
