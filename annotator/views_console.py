"""The console: set up a project, manage its members, read its audit log, browse its judgments.

Leads and admins only (a labeler gets 403, an outsider 404: see permissions.py); the audit
log is for admins. Creating a project is for staff and superusers, who run the deployment.
Every change goes through a service that writes an audit entry with it.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Max, Q
from django.forms.models import model_to_dict
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rewardtrain.config import InvalidTrainingOptions
from rewardtrain.model_roots import base_model_check, base_model_choices

from .audit_log import CSV_COLUMNS, NO_ACTOR, audit_actors_and_actions, audit_csv_records, audit_entries_filtered
from .audit_sentences import audit_sentence
from .export_formats import csv_lines
from .forms import (
    PROJECT_SETTINGS,
    UNREVIEWED,
    AuditFilterForm,
    JudgmentFilterForm,
    MemberAddForm,
    MemberRoleForm,
    ProjectSettingsForm,
)
from .gold import GoldRefused, gold_answer_of, prompt_gold_set
from .members import (
    MembershipRefused,
    membership_change,
    membership_grant,
    membership_remove,
    membership_user_create_and_grant,
)
from .models import Comparison, Judgment, Membership
from .permissions import project_for_lead, project_for_reviewer
from .project_lifecycle import project_refuse_if_archived
from .projects import project_set_up, project_update
from .rate_limit import rate_limited_for
from .rendering import render_markdown
from .review import REASON_MAX_CHARS
from .selectors import (
    imported_label,
    imported_labels_filtered,
    imported_pair,
    imported_pairs_filtered,
    judging_usernames,
    judgment_as_seen,
    judgments_filtered,
    judgments_with_labels,
)

JUDGMENTS_PER_PAGE = 50
AUDIT_PER_PAGE = 50


def _settings_saved(form, save):
    """Run save(values) for a valid form, the base model checked as training checks it.

    Returns the saved result, or None with the problems put on the form.
    """
    if not form.is_valid():
        return None
    values = dict(form.cleaned_data)
    try:
        base_model_check(values["base_model"], source="this base model")
    except InvalidTrainingOptions as error:
        form.add_error("base_model", str(error))
        return None
    try:
        return save(values)
    except ValidationError as error:  # the model's validators, run by full_clean in the service
        form.add_error(None, error)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request):
    if not (request.user.is_staff or request.user.is_superuser):
        raise PermissionDenied("Only staff create projects.")
    form = ProjectSettingsForm(request.POST or None, base_models=base_model_choices(), with_slug=True)
    if request.method == "POST":
        project = _settings_saved(form, lambda values: project_set_up(actor=request.user, fields=values))
        if project is not None:
            messages.success(request, f"Project {project.name} created.")
            return redirect("project_settings", project.slug)
    return render(request, "annotator/console/project_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request, slug):
    project, role = project_for_lead(user=request.user, slug=slug)
    if request.method == "POST":
        project_refuse_if_archived(project)
    form = ProjectSettingsForm(
        request.POST or None,
        initial=model_to_dict(project, fields=PROJECT_SETTINGS),
        base_models=base_model_choices(current=project.base_model),
    )
    if request.method == "POST":
        changes = _settings_saved(
            form, lambda values: project_update(project=project, actor=request.user, fields=values)
        )
        if changes is not None:
            messages.success(request, f"Saved: {', '.join(changes)}." if changes else "Nothing changed.")
            return redirect("project_settings", project.slug)
    return render(
        request,
        "annotator/console/project_form.html",
        {"form": form, "project": project, "role": role},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def instructions_preview(request):
    """The instructions as labelers will see them, for the settings page's live preview.

    Rendered here with the labeling page's renderer, sanitiser and render budget (a text over
    it shows as plain text, as it would to labelers), so the browser never turns raw text into
    HTML itself. Open to staff and to anyone who leads a project, ARBITER_PREVIEW_PER_MINUTE
    times a minute each (the script sends one per pause in typing).
    """
    leads_somewhere = Membership.objects.filter(user=request.user, role__in=("lead", "admin")).exists()
    if not (request.user.is_staff or request.user.is_superuser or leads_somewhere):
        raise PermissionDenied("Only leads preview instructions.")
    per_minute = settings.ARBITER_PREVIEW_PER_MINUTE
    wait = rate_limited_for(scope="preview", subject=request.user.pk, per_minute=per_minute)
    if wait:
        response = HttpResponse(
            f"At most {per_minute} previews a minute: try again in {wait} s.", status=429, content_type="text/plain"
        )
        response["Retry-After"] = str(wait)
        return response
    return render(request, "annotator/console/_preview.html", {"html": render_markdown(request.POST.get("text", ""))})


@login_required
@require_http_methods(["GET", "POST"])
def members(request, slug):
    project, role = project_for_lead(user=request.user, slug=slug)
    if request.method == "POST":
        project_refuse_if_archived(project)
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _member_added(request, project, role, form):
            return redirect("project_members", project.slug)
    # Last activity: the member's latest judgment in this project ("never" for none), beside last_login.
    memberships = (
        Membership.objects.filter(project=project)
        .select_related("user")
        .annotate(last_judged_at=Max("user__judgments__created_at", filter=Q(user__judgments__prompt__project=project)))
        .order_by("user__username")
    )
    return render(
        request,
        "annotator/console/members.html",
        {
            "project": project,
            "role": role,
            "form": form,
            "rows": [(m, MemberRoleForm(initial={"role": m.role}, prefix=f"m{m.pk}")) for m in memberships],
        },
        status=400 if form.errors else 200,
    )


def _member_added(request, project, role, form):
    """Add an existing user, or create one when a password is given; errors go on the form."""
    username, password, new_role = (form.cleaned_data[k] for k in ("username", "password", "role"))
    user = get_user_model().objects.filter(username=username).first()
    try:
        if user is not None and password:
            form.add_error("password", f"{username} already exists: leave the password empty to add them.")
            return False
        if user is not None:
            membership_grant(project=project, actor=request.user, actor_role=role, user=user, role=new_role)
        elif not password:
            form.add_error("password", f"There is no user {username}: give a password to create one.")
            return False
        else:
            validate_password(password, user=get_user_model()(username=username))
            membership_user_create_and_grant(
                project=project, actor=request.user, actor_role=role, username=username, password=password, role=new_role
            )
    except ValidationError as error:
        form.add_error("password", error)
        return False
    except MembershipRefused as refused:
        form.add_error(None, str(refused))
        return False
    messages.success(request, f"{username} added as {new_role}.")
    return True


@login_required
@require_POST
def member_change(request, slug, membership_id):
    project, role = project_for_lead(user=request.user, slug=slug)
    project_refuse_if_archived(project)
    membership = get_object_or_404(Membership.objects.select_related("user", "project"), project=project, pk=membership_id)
    try:
        if "remove" in request.POST:
            membership_remove(membership=membership, actor=request.user, actor_role=role)
            messages.success(request, f"{membership.user.username} removed.")
        else:
            form = MemberRoleForm(request.POST, prefix=f"m{membership.pk}")
            if not form.is_valid():
                raise MembershipRefused("Choose one of the roles.")
            membership_change(membership=membership, actor=request.user, actor_role=role, role=form.cleaned_data["role"])
            messages.success(request, f"{membership.user.username} is now {membership.role}.")
    except MembershipRefused as refused:
        messages.error(request, str(refused))
    return redirect("project_members", project.slug)


def _audit_filtered(request, slug):
    """The admin's project, the filter form, and the entries it selects (all of them when the form is invalid)."""
    project, role = project_for_lead(user=request.user, slug=slug)
    if role != Membership.Role.ADMIN:
        raise PermissionDenied("Only the project's admins read its audit log.")
    actors, actions = audit_actors_and_actions(project=project)
    form = AuditFilterForm(request.GET or None, actors=actors, actions=actions, no_actor=NO_ACTOR)
    filters = {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
    return project, form, audit_entries_filtered(project=project, **filters)


@login_required
@require_GET
def audit_log(request, slug):
    project, form, entries = _audit_filtered(request, slug)
    page = Paginator(entries, AUDIT_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(entry, audit_sentence(entry)) for entry in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "annotator/console/audit_log.html",
        {"project": project, "form": form, "page": page, "rows": rows, "query": query.urlencode()},
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def audit_log_csv(request, slug):
    """The filtered entries as CSV, streamed, cells guarded against spreadsheet formulas."""
    project, form, entries = _audit_filtered(request, slug)
    if form.errors:
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponseBadRequest(problems, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(
        csv_lines(audit_csv_records(entries), CSV_COLUMNS), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-audit.csv"'
    return response


@login_required
@require_GET
def judgments(request, slug):
    project, role = project_for_reviewer(user=request.user, slug=slug)
    form = JudgmentFilterForm(
        request.GET or None,
        labelers=judging_usernames(project=project),
        labels=project.labels if project.classifies else None,
    )
    filters = {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
    imported = filters.pop("source", "") == Comparison.Source.IMPORTED
    if filters.get("review") == UNREVIEWED:
        filters["review"] = ""
    if imported:
        listing = imported_labels_filtered if project.classifies else imported_pairs_filtered
        rows = listing(project=project, **filters)
    else:
        rows = judgments_filtered(project=project, **filters)
    page = Paginator(rows, JUDGMENTS_PER_PAGE).get_page(request.GET.get("page"))
    if project.classifies and not imported:
        page.object_list = judgments_with_labels(list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "annotator/console/judgments.html",
        {
            "project": project, "role": role, "form": form, "page": page, "imported": imported,
            "query": query.urlencode(), "reason_max_chars": REASON_MAX_CHARS,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def judgment_detail(request, slug, judgment_id):
    project, role = project_for_reviewer(user=request.user, slug=slug)
    judgment = judgment_as_seen(project=project, pk=judgment_id)
    if judgment is None:
        raise Http404("No such judgment in this project.")
    if judgment.prompt.gold:  # does this judgment give the gold answer? (None: it gives none)
        try:
            judgment.gold_matches = gold_answer_of(judgment) == judgment.prompt.gold
        except GoldRefused:
            judgment.gold_matches = None
    return render(
        request,
        "annotator/console/judgment_detail.html",
        {"project": project, "role": role, "judgment": judgment, "reason_max_chars": REASON_MAX_CHARS},
    )


@login_required
@require_POST
def judgment_gold(request, slug, judgment_id):
    """Make the judgment's prompt a gold item with this judgment's answer, or clear its gold."""
    project, _ = project_for_lead(user=request.user, slug=slug)
    project_refuse_if_archived(project)
    judgment = Judgment.objects.filter(prompt__project=project, pk=judgment_id).select_related("prompt__project").first()
    if judgment is None:
        raise Http404("No such judgment in this project.")
    if request.POST.get("action") == "clear":
        prompt_gold_set(prompt=judgment.prompt, actor=request.user, gold=None)
        messages.success(request, f"Prompt {judgment.prompt.external_id} is no longer a gold item.")
    else:
        try:
            gold = gold_answer_of(judgment)
        except GoldRefused as error:
            return HttpResponseBadRequest(str(error))
        prompt_gold_set(prompt=judgment.prompt, actor=request.user, gold=gold)
        messages.success(request, f"Prompt {judgment.prompt.external_id} is a gold item with this judgment's answer.")
    return redirect("judgment_detail", slug=project.slug, judgment_id=judgment.pk)


@login_required
@require_GET
def imported_pair_detail(request, slug, pair_id):
    project, _ = project_for_reviewer(user=request.user, slug=slug)
    pair = imported_pair(project=project, pk=pair_id)
    if pair is None:
        raise Http404("No such imported pair in this project.")
    return render(request, "annotator/console/imported_pair_detail.html", {"project": project, "pair": pair})


@login_required
@require_GET
def imported_label_detail(request, slug, label_id):
    project, _ = project_for_reviewer(user=request.user, slug=slug)
    row = imported_label(project=project, pk=label_id)
    if row is None:
        raise Http404("No such imported label in this project.")
    return render(request, "annotator/console/imported_label_detail.html", {"project": project, "row": row})
