"""The lead's quality page: agreement, per-labeler figures as SVG charts and a table, review
acceptance, and the CSV behind each chart. Reviewers, leads and admins: a labeler gets 403, an
outsider 404."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from rewardtrain.selectors import fresh_label_agreement
from rewardtrain.views import line_chart

from . import quality_charts
from .permissions import project_for_reviewer
from .review import acceptance_by_labeler
from .selectors import quality_report_for


@login_required
@require_GET
def quality(request, slug):
    project, role = project_for_reviewer(user=request.user, slug=slug)
    report = quality_report_for(project=project)
    return render(
        request,
        "annotator/quality.html",
        {
            "project": project,
            "role": role,
            "acceptance": acceptance_by_labeler(project=project),
            "agreement_rows": quality_charts.agreement_rows(report),
            "columns": [
                {"heading": heading, "num": kind != quality_charts.TEXT}
                for heading, _key, kind in quality_charts.TABLE_COLUMNS
            ],
            "rows": quality_charts.table_rows(report),
            "charts": quality_charts.charts(report),
            **_fresh_labels(project),
        },
    )


def _fresh_labels(project) -> dict:
    """The current and earlier versions' accuracy on human labels they never trained on, and the
    rolling accuracy of each as a line chart (x: fresh labels scored)."""
    versions = fresh_label_agreement(project=project)
    history = [
        {"step": n, f"v{v['version']} on fresh labels": accuracy} for v in versions for n, accuracy in v["rolling"]
    ]
    keys = [f"v{v['version']} on fresh labels" for v in versions]
    return {"fresh_versions": versions, "fresh_chart": line_chart(history, keys, y_range=(0.0, 1.0)) if history else None}


@login_required
@require_GET
def quality_chart_csv(request, slug, chart):
    project, _role = project_for_reviewer(user=request.user, slug=slug)
    if chart not in quality_charts.CHART_NAMES:
        raise Http404("No such chart.")
    body = quality_charts.chart_csv(quality_report_for(project=project), chart)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-{chart}.csv"'
    return response
