"""The labeler's pages: project list, the labeling page and their recent judgments.

The labeling page is a plain form that works without JavaScript (POST, then
redirect back for the next item). static/js/label.js posts the same form with
fetch and the header X-Requested-With: fetch; it then gets the next item as the
_item.html partial, or JSON errors with status 400 (invalid), 409 (the item is closed:
judged already, or its lease ran out and the prompt is full) or 422 (the client_id
was stored with a different judgment).
"""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from .answers_to_change import (
    NOTHING_TO_CHANGE,
    answer_to_change_drop,
    answer_to_change_for,
    answer_to_change_keep,
)
from .forms import JudgmentForm
from .judgments import (
    InvalidJudgment,
    JudgmentConflict,
    JudgmentMismatch,
    LeaseExpired,
    UndoRefused,
    judgment_record,
    judgment_undo,
)
from .models import Assignment, Judgment
from .permissions import project_for_labeler, project_for_member
from .project_lifecycle import project_refuse_if_archived
from .queue import assignment_next_for, assignment_skip
from .selectors import is_lead, judgments_recent_for, may_review, project_progress, projects_archived_for, projects_for

# What the page says when the item it sent is closed; the script then shows the next item.
GONE_MESSAGE = "That item is no longer yours to judge (it was undone or released)."
LEASE_EXPIRED_MESSAGE = (
    "Your time on that item ran out and other labelers have filled it since, so your judgment was not stored."
)
MISMATCH_MESSAGE = (
    "That item was already stored with the answer you sent first, before the connection dropped; "
    "the changed answer was not stored."
)


@login_required
def project_list(request):
    rows = [
        {
            "project": project,
            "progress": project_progress(project=project, annotator=request.user),
            "is_lead": is_lead(user=request.user, project=project),
            "reviews": may_review(user=request.user, project=project),
        }
        for project in projects_for(user=request.user)
    ]
    archived = projects_archived_for(user=request.user)
    return render(request, "annotator/project_list.html", {"rows": rows, "archived": archived})


def _wants_partial(request):
    return request.headers.get("X-Requested-With") == "fetch"


def _item_context(request, project):
    assignment = assignment_next_for(annotator=request.user, project=project)
    completions = assignment.shown_completions if assignment else []
    return {
        "project": project,
        "assignment": assignment,
        "completions": completions,
        "rank_choices": range(1, len(completions) + 1),
        # After "Change": the answer being changed, filled in.
        "answer": (
            answer_to_change_for(session=request.session, assignment=assignment) if assignment else NOTHING_TO_CHANGE
        ),
        "max_text_chars": settings.ARBITER_MAX_TEXT_CHARS,  # a comment's limit, as the form's and the API's
        # A fresh id per rendered item: a retry or a double submit of this form
        # carries the same id, so judgment_record stores it once.
        "client_id": uuid.uuid4().hex,
        "progress": project_progress(project=project, annotator=request.user),
    }


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("X-Requested-With")
def label(request, slug):
    project, _role = project_for_labeler(user=request.user, slug=slug)
    project_refuse_if_archived(project)  # a lead's GET too: it leases an item
    if request.method == "POST":
        return _label_submit(request, project)
    template = "annotator/_item.html" if _wants_partial(request) else "annotator/label.html"
    return render(request, template, _item_context(request, project))


def _label_submit(request, project):
    form = JudgmentForm(request.POST)
    if not form.is_valid():
        errors = {name: " ".join(problems) for name, problems in form.errors.items()}
        return _rejected(request, project, errors, status=400)
    assignment = Assignment.objects.filter(pk=form.cleaned_data["assignment"], project=project).first()
    if assignment is None:  # e.g. a late retry of a judgment undone since: its lease was replaced
        return _rejected(request, project, {"item": f"{GONE_MESSAGE} Here is the next one."}, status=409)
    if assignment.annotator_id != request.user.pk:
        raise Http404("No such item of yours.")
    try:
        if form.cleaned_data["skip"]:
            assignment_skip(assignment=assignment)
        else:
            result = form.result(shown=assignment.shown, mode=project.mode)
            judgment_record(assignment=assignment, result=result, client_id=form.cleaned_data["client_id"])
    except InvalidJudgment as exc:
        return _rejected(request, project, exc.errors, status=400)
    except LeaseExpired:
        return _rejected(request, project, {"item": f"{LEASE_EXPIRED_MESSAGE} Here is the next one."}, status=409)
    except JudgmentConflict as exc:
        return _rejected(request, project, {"item": f"{exc} Here is the next one."}, status=409)
    except JudgmentMismatch:
        return _rejected(request, project, {"item": f"{MISMATCH_MESSAGE} Here is the next one."}, status=422)
    answer_to_change_drop(session=request.session, prompt_id=assignment.prompt_id)
    if _wants_partial(request):
        return render(request, "annotator/_item.html", _item_context(request, project))
    return redirect("label", slug=project.slug)


def _rejected(request, project, errors, *, status):
    if _wants_partial(request):
        return JsonResponse({"errors": errors}, status=status)
    for message in errors.values():
        messages.error(request, message)
    return redirect("label", slug=project.slug)


@login_required
@require_GET
def my_judgments(request, slug):
    project, _role = project_for_member(user=request.user, slug=slug)
    judgments = judgments_recent_for(annotator=request.user, project=project)
    return render(
        request,
        "annotator/my_judgments.html",
        {"project": project, "judgments": judgments, "undo_minutes": settings.ARBITER_UNDO_MINUTES},
    )


@login_required
@require_POST
def judgment_undo_page(request, slug, judgment_id):
    """Undo one of the labeler's own judgments (anyone else's is a 404); "change" then opens it again."""
    project, _role = project_for_member(user=request.user, slug=slug)
    project_refuse_if_archived(project)
    judgment = get_object_or_404(Judgment, pk=judgment_id, annotator=request.user, prompt__project=project)
    try:
        judgment_undo(judgment=judgment, actor=request.user)
    except UndoRefused as refused:
        messages.error(request, str(refused))
        return redirect("my_judgments", slug=project.slug)
    if request.POST.get("then") == "change":
        answer_to_change_keep(session=request.session, judgment=judgment)
        messages.info(request, "Your judgment was removed: judge this item again.")
        return redirect("label", slug=project.slug)
    messages.success(request, "Your judgment was undone. The item is back at the top of your queue.")
    return redirect("my_judgments", slug=project.slug)
