"""Reviewing judgments: the review page (one unreviewed judgment at a time, keyboard first) and
the accept / reject action the judgments browser and a judgment's page use too.

Reviewers, leads and admins (a labeler gets 403, an outsider 404: see permissions.py).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from .models import Judgment
from .permissions import project_for_reviewer
from .project_lifecycle import project_refuse_if_archived
from .review import (
    REASON_MAX_CHARS,
    ReviewRefused,
    judgment_review_accept,
    judgment_review_reject,
    judgments_to_review,
    review_progress,
)
from .selectors import judgment_as_seen


def _skipped_past(request) -> int:
    """The review page's cursor: judgments up to this id were skipped (s / j) in this sitting."""
    try:
        return max(0, int(request.GET.get("after", 0)))
    except ValueError:
        return 0


@login_required
@require_GET
def review_queue(request, slug):
    project, role = project_for_reviewer(user=request.user, slug=slug)
    after = _skipped_past(request)
    waiting = judgments_to_review(project=project, reviewer=request.user)
    next_one = waiting.filter(id__gt=after).values_list("id", flat=True).first()
    judgment = judgment_as_seen(project=project, pk=next_one) if next_one else None
    return render(
        request,
        "annotator/review.html",
        {
            "project": project,
            "role": role,
            "judgment": judgment,
            # After a review, back to the same place in the queue: the skipped ones stay skipped.
            "back_here": f"{reverse('project_review', args=[project.slug])}?after={after}",
            "skipped_some": after > 0 and waiting.filter(id__lte=after).exists(),
            "progress": review_progress(project=project, reviewer=request.user),
            "reason_max_chars": REASON_MAX_CHARS,
        },
    )


@login_required
@require_POST
def judgment_review(request, slug, judgment_id):
    """Accept or reject (with a reason) one judgment, then go back where the form came from."""
    project, _role = project_for_reviewer(user=request.user, slug=slug)
    project_refuse_if_archived(project)
    judgment = Judgment.objects.filter(prompt__project=project, pk=judgment_id).select_related("annotator").first()
    if judgment is None:
        raise Http404("No such judgment in this project.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("judgment_detail", args=[project.slug, judgment.pk])
    try:
        if request.POST.get("action") == "accept":
            judgment_review_accept(judgment=judgment, actor=request.user)
            messages.success(
                request,
                f"Judgment {judgment.pk} by {judgment.annotator.username} accepted.",
            )
        elif request.POST.get("action") == "reject":
            judgment_review_reject(
                judgment=judgment,
                actor=request.user,
                reason=request.POST.get("reason", ""),
            )
            messages.success(
                request,
                f"Judgment {judgment.pk} by {judgment.annotator.username} rejected: its prompt goes to another labeler.",
            )
        else:
            messages.error(request, "Choose accept or reject.")
    except ReviewRefused as refused:
        messages.error(request, str(refused))
    return redirect(back)
