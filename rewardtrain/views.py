"""Reward-model pages: runs and versions of a project, and one run's curves.

Leads and admins see them and may retrain; only admins (role admin or superuser) promote and
roll back. A labeler gets 403, an outsider 404 (annotator/permissions.py).
"""

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotator.models import Membership
from annotator.permissions import project_for_lead

from . import config, rl_audit, runs, selectors, serving, versions
from .forms import AuditSelectionForm
from .models import RewardModelVersion, TrainingRun

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 560, 200, 36


def _project_for_admin(*, user, slug):
    project, role = project_for_lead(user=user, slug=slug)
    if role != Membership.Role.ADMIN:
        raise PermissionDenied("Only the project's admins may change which model is current.")
    return project


@login_required
@require_GET
def project_models(request, slug):
    project, role = project_for_lead(user=request.user, slug=slug)
    recent_runs = list(selectors.runs_for(project=project, limit=20))
    return render(
        request,
        "rewardtrain/models.html",
        {
            "project": project,
            "runs": recent_runs,
            "versions": selectors.versions_for(project=project),
            "is_admin": role == Membership.Role.ADMIN,
            "active": any(run.status in TrainingRun.ACTIVE_STATUSES for run in recent_runs),
            "fetching": serving.fetch_state(project=project),  # "fetching vN" while this host downloads it
        },
    )


@login_required
@require_POST
def project_train(request, slug):
    project, _role = project_for_lead(user=request.user, slug=slug)
    try:
        run, created = runs.training_run_get_or_start(
            project=project, trigger=TrainingRun.Trigger.MANUAL, requested_by=request.user
        )
    except config.InvalidTrainingOptions as error:  # e.g. a base model outside ARBITER_MODEL_ROOTS
        messages.error(request, f"No run started: {error}.")
        return redirect("project_models", slug=project.slug)
    if created and run.send_error:  # the broker is down or hung; the reaper's next tick sends it again
        messages.warning(
            request, f"Run {run.id} is queued, but Arbiter could not reach the broker; it is sent again within a minute."
        )
    elif created:
        messages.success(request, f"Run {run.id} is queued.")
    else:
        messages.info(request, f"Run {run.id} is already {run.status}; it will use the latest data it loaded.")
    return redirect("project_models", slug=project.slug)


@login_required
@require_POST
def project_model_promote(request, slug, version):
    project = _project_for_admin(user=request.user, slug=slug)
    target = get_object_or_404(RewardModelVersion, project=project, version=version)
    try:
        versions.model_version_promote(version=target, actor=request.user)
        messages.success(request, f"v{target.version} is now current.")
    except versions.VersionUnavailable as error:
        messages.error(request, str(error))
    return redirect("project_models", slug=project.slug)


@login_required
@require_POST
def project_model_rollback(request, slug):
    project = _project_for_admin(user=request.user, slug=slug)
    try:
        restored = versions.model_version_rollback(project=project, actor=request.user)
        messages.success(request, f"Rolled back: v{restored.version} is current again.")
    except versions.VersionUnavailable as error:
        messages.error(request, str(error))
    return redirect("project_models", slug=project.slug)


@login_required
@require_GET
def project_run(request, slug, run_id):
    project, role = project_for_lead(user=request.user, slug=slug)
    run = get_object_or_404(TrainingRun.objects.select_related("version", "requested_by"), project=project, pk=run_id)
    history = run.history or []
    return render(
        request,
        "rewardtrain/run_detail.html",
        {
            "project": project,
            "run": run,
            "active": run.status in TrainingRun.ACTIVE_STATUSES,
            "error": selectors.run_error_for(run=run, is_admin=role == Membership.Role.ADMIN),
            "loss_chart": line_chart(history, ["train_loss", "heldout_loss"]),
            "accuracy_chart": line_chart(history, ["heldout_accuracy"], y_range=(0.0, 1.0)),
            "metrics": [(name.replace("_", " "), _formatted(value)) for name, value in run.metrics.items() if name != "gate"],
        },
    )


def _formatted(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


def line_chart(history, keys, *, y_range=None):
    """SVG coordinates for one line per key of the history entries, against their step.

    Everything in it is a number formatted here, so the template needs no escaping care.
    Returns None when no key has a value.
    """
    series = {
        key: [(e["step"], e[key]) for e in history if isinstance(e.get(key), (int, float)) and math.isfinite(e[key])]
        for key in keys
    }
    values = [y for points in series.values() for _, y in points]
    if not values:
        return None
    steps = [x for points in series.values() for x, _ in points]
    x_max = max(max(steps), 1)
    y_min, y_max = y_range or (min(values), max(values))
    if y_max - y_min < 1e-9:
        y_min, y_max = y_min - 0.5, y_max + 0.5
    plot_w, plot_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD

    def xy(x, y):
        return CHART_PAD + plot_w * x / x_max, CHART_PAD + plot_h * (1 - (y - y_min) / (y_max - y_min))

    lines = []
    for index, (key, points) in enumerate(series.items()):
        coords = [xy(x, y) for x, y in points]
        lines.append(
            {
                "name": key.replace("_", " "),
                "css": f"series-{index}",
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
                "dots": [{"x": f"{x:.1f}", "y": f"{y:.1f}"} for x, y in coords],
                "last": f"{points[-1][1]:.4f}" if points else "",
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_PAD,
        "right": CHART_WIDTH - CHART_PAD,
        "top": CHART_PAD,
        "bottom": CHART_HEIGHT - CHART_PAD,
        "y_min": f"{y_min:.3g}",
        "y_max": f"{y_max:.3g}",
        "x_max": x_max,
        "lines": lines,
    }


AUDIT_ORDERS = {  # the RL audit page's views of the kept samples
    "reward": ("-reward", "highest reward"),
    "length": ("-length", "longest"),
    "uncertain": ("gap", "most uncertain (closest to another completion of the same prompt)"),
}
AUDIT_ROWS = 100


@login_required
@require_http_methods(["GET", "POST"])
def project_rl_audit(request, slug):
    """What the scoring API scored (a sample), highest reward, longest or most uncertain first;
    a lead ticks some and turns them into labeling items in one action."""
    project, _role = project_for_lead(user=request.user, slug=slug)
    params = request.POST if request.method == "POST" else request.GET
    order = params.get("order") if params.get("order") in AUDIT_ORDERS else "reward"
    if request.method == "POST":
        form = AuditSelectionForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"sample: {form.errors['sample'][0]}")
            return _rl_audit_page(request, project, order, status=400)
        ids = form.cleaned_data["sample"]
        if not ids:
            messages.error(request, "Tick the samples to send to labelers first.")
        else:
            made = rl_audit.labeling_items_from_samples(project=project, sample_ids=ids, actor=request.user)
            text = f"{made['completions_created']} completions added to {made['prompts_created']} new prompts (or existing ones)."
            if made["waiting"]:
                text += f" {len(made['waiting'])} prompts need more completions before they can be shown."
            messages.success(request, text)
        return redirect(f"{request.path}?order={order}")
    return _rl_audit_page(request, project, order)


def _rl_audit_page(request, project, order, status=200):
    samples = selectors.audit_samples(project=project, order_by=AUDIT_ORDERS[order][0], limit=AUDIT_ROWS)
    return render(
        request,
        "rewardtrain/rl_audit.html",
        {"project": project, "samples": samples, "order": order,
         "orders": [(key, label) for key, (_field, label) in AUDIT_ORDERS.items()]},
        status=status,
    )  # fmt: skip
