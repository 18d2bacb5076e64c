"""The project lead's pages: progress, import and export.

Leads and admins only: a labeler gets 403, an outsider 404 (see permissions.py).
"""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from .exports import export_jsonl_lines
from .imports import FORMATS, ImportFailed, import_file, validate_import_size
from .permissions import project_for_lead
from .selectors import comparisons_by_source, labeler_activity, project_progress

ERRORS_SHOWN = 50  # a broken file can have 100k bad lines; the page shows the first ones and a count


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(
        choices=[("", "Detect from the file")] + [(f, f) for f in FORMATS], required=False
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
            "labelers": labeler_activity(project=project),
            "sources": comparisons_by_source(project=project),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_import(request, slug):
    project, _ = project_for_lead(user=request.user, slug=slug)
    context = {"project": project, "max_bytes": settings.ARBITER_MAX_IMPORT_BYTES}
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            validate_import_size(upload.size)  # before reading it into memory
            context["report"] = import_file(
                project=project,
                data=upload.read(),
                filename=upload.name,
                format=form.cleaned_data["format"] or None,
            )
            form = ImportForm()
        except ImportFailed as failed:
            context["errors"] = failed.errors[:ERRORS_SHOWN]
            context["errors_hidden"] = max(0, len(failed.errors) - ERRORS_SHOWN)
            status = 400
    elif request.method == "POST":
        status = 400
    context["form"] = form
    return render(request, "annotator/import.html", context, status=status)


@login_required
@require_GET
def project_export(request, slug):
    project, _ = project_for_lead(user=request.user, slug=slug)
    response = StreamingHttpResponse(
        export_jsonl_lines(project=project), content_type="application/x-ndjson; charset=utf-8"
    )
    filename = f"{project.slug}-comparisons-{timezone.now():%Y%m%d-%H%M}.jsonl"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
