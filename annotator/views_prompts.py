"""The prompts browser: a project's prompts searched, filtered and paged, and a lead's actions on a selection.

Leads and admins act; reviewers read (a labeler gets 403, an outsider 404: see permissions.py).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .permissions import project_for_reviewer
from .project_lifecycle import project_refuse_if_archived
from .prompt_actions import PromptActionRefused
from .prompt_browser import (
    PROMPTS_PER_PAGE,
    labeling_members,
    prompt_rows,
    prompts_browsed,
)
from .prompt_forms import PromptActionForm, PromptFilterForm
from .prompt_selection import prompt_selection_apply
from .selectors import LEAD_ROLES


@login_required
@require_http_methods(["GET", "POST"])
def prompts(request, slug):
    project, role = project_for_reviewer(user=request.user, slug=slug)
    labelers = labeling_members(project=project)
    if request.method == "POST":
        if role not in LEAD_ROLES:
            raise PermissionDenied("Only the project's leads and admins act on prompts.")
        project_refuse_if_archived(project)
        _act(request, project, PromptActionForm(request.POST, labelers=labelers))
        return redirect(request.get_full_path())  # back to the same search, filter and page
    form = PromptFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    browsed = prompts_browsed(project=project, search=filters.get("q", ""), filter_by=filters.get("filter", ""))
    page = Paginator(browsed, PROMPTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "annotator/console/prompts.html",
        {
            "project": project, "role": role, "form": form, "page": page,
            "rows": prompt_rows(project=project, prompts=page.object_list), "query": query.urlencode(),
            "may_act": role in LEAD_ROLES and project.archived_at is None,
            "action_form": PromptActionForm(labelers=labelers),
        },
        status=400 if form.errors else 200,
    )


def _act(request, project, form):
    """Apply the posted action and say what it did (or why not) as a message."""
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return
    data = form.cleaned_data
    try:
        said = prompt_selection_apply(
            project=project, action=data["action"], prompt_ids=data["prompt_ids"], actor=request.user,
            labeler=data.get("labeler", ""),
        )  # fmt: skip
    except PromptActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, said)
