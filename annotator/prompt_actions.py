"""What a lead does to a selection of prompts: release their leases, send them back for one more
judgment, take them out of the queue or put them back, lift their skips, reassign them to one
labeler.

Each function takes the project and prompt ids (ids of other projects' prompts are ignored),
changes them in one transaction under the prompts' row locks (the lock every new lease of a
prompt is created under, annotator.queue), writes one audit entry and returns how many prompts
it changed. A refusal raises PromptActionRefused with a message for the lead.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .audit_log import audit_record
from .models import Assignment, Judgment, Prompt
from .stuck import LABELING_ROLES

AUDITED_IDS = 50  # external ids an audit entry lists; a selection can be a whole project
REFUSAL_IDS = 5  # external ids a refusal names


class PromptActionRefused(ValueError):
    """The action cannot be done as asked; the message says why, for the lead."""


def _locked(*, project, prompt_ids):
    """The project's prompts among `prompt_ids`, locked, in id order (two actions at once never
    lock them in opposite orders)."""
    return list(
        Prompt.objects.select_for_update()
        .filter(project=project, pk__in=list(prompt_ids))
        .order_by("pk")
        .only("id", "external_id", "judgment_count", "extra_judgments", "queued", "taken_out", "reserved_for")
    )


def _audit(*, actor, project, action, changed, **extra):
    """One entry for the call: the changed prompts' external ids (the first AUDITED_IDS) and their count."""
    audit_record(
        actor=actor,
        project=project,
        action=action,
        detail={"prompts": [p.external_id for p in changed[:AUDITED_IDS]], "count": len(changed), **extra},
    )
    return len(changed)


def _named(prompts):
    """A few external ids for a refusal message: "a", "b" and 3 more."""
    names = ", ".join(f'"{p.external_id}"' for p in prompts[:REFUSAL_IDS])
    more = len(prompts) - REFUSAL_IDS
    return f"{names} and {more} more" if more > 0 else names


def _expire_leases(*, prompt_ids, now):
    """End the live leases of these prompts now; the prompt ids that had one.

    An expired lease keeps its item on its labeler's page, and their submit still counts while
    the prompt has room (annotator.judgments), but it no longer holds a place.
    """
    live = Assignment.objects.filter(prompt_id__in=prompt_ids, status=Assignment.Status.ACTIVE, expires_at__gt=now)
    had_lease = set(live.values_list("prompt_id", flat=True))
    live.update(expires_at=now)
    return had_lease


def prompts_release_leases(*, project, prompt_ids, actor):
    """End every live lease of the prompts now, so their places go back to the queue."""
    with transaction.atomic():
        prompts = _locked(project=project, prompt_ids=prompt_ids)
        released = _expire_leases(prompt_ids=[p.pk for p in prompts], now=timezone.now())
        changed = [p for p in prompts if p.pk in released]
        return _audit(actor=actor, project=project, action="prompt.release", changed=changed)


def prompts_send_back(*, project, prompt_ids, actor):
    """Owe each finished prompt one judgment more than it has, so the queue serves it again.

    Finished: judgments reach the overlap plus its extra judgments. Its extra_judgments becomes
    what makes the wanted count its judgments plus one; the queue then gives it to one more
    labeler who has not judged or skipped it. Prompts still short of their judgments are in
    the queue already and stay as they are; so do prompts outside the labeling queue (imported
    with their labels).
    """
    with transaction.atomic():
        prompts = _locked(project=project, prompt_ids=prompt_ids)
        changed = [
            p for p in prompts if p.queued and p.judgment_count >= project.overlap + p.extra_judgments
        ]
        Prompt.objects.filter(pk__in=[p.pk for p in changed]).update(
            extra_judgments=F("judgment_count") - project.overlap + 1
        )
        return _audit(actor=actor, project=project, action="prompt.send_back", changed=changed)


def prompts_take_out(*, project, prompt_ids, actor):
    """Take the prompts out of the queue: never served again until put back, left out of training
    and exports unless asked for. Their live leases end now."""
    with transaction.atomic():
        prompts = _locked(project=project, prompt_ids=prompt_ids)
        changed = [p for p in prompts if not p.taken_out]
        Prompt.objects.filter(pk__in=[p.pk for p in changed]).update(taken_out=True)
        _expire_leases(prompt_ids=[p.pk for p in changed], now=timezone.now())
        return _audit(actor=actor, project=project, action="prompt.take_out", changed=changed)


def prompts_put_back(*, project, prompt_ids, actor):
    """Put prompts taken out back in the queue (and back in training and exports)."""
    with transaction.atomic():
        prompts = _locked(project=project, prompt_ids=prompt_ids)
        changed = [p for p in prompts if p.taken_out]
        Prompt.objects.filter(pk__in=[p.pk for p in changed]).update(taken_out=False)
        return _audit(actor=actor, project=project, action="prompt.put_back", changed=changed)


def _lift_skips(*, prompt_ids, annotator=None):
    """Mark the prompts' skips lifted (kept for the record); the prompt ids that had one."""
    skips = Assignment.objects.filter(prompt_id__in=prompt_ids, status=Assignment.Status.SKIPPED)
    if annotator is not None:
        skips = skips.filter(annotator=annotator)
    skipped = set(skips.values_list("prompt_id", flat=True))
    skips.update(status=Assignment.Status.SKIP_LIFTED)
    return skipped


def prompts_lift_skips(*, project, prompt_ids, actor):
    """Lift every skip of the prompts: each labeler who skipped one may be served it again."""
    with transaction.atomic():
        prompts = _locked(project=project, prompt_ids=prompt_ids)
        lifted = _lift_skips(prompt_ids=[p.pk for p in prompts])
        changed = [p for p in prompts if p.pk in lifted]
        return _audit(actor=actor, project=project, action="prompt.lift_skips", changed=changed)


def prompts_reassign(*, project, prompt_ids, actor, labeler):
    """Reserve the prompts for `labeler`: the queue serves them to that labeler before anything
    else and to no one else meanwhile; their skip of them, if any, is lifted. The reservation
    ends when they judge or skip it (annotator.judgments, annotator.queue).

    Refused unless the labeler is a member who may label, and for prompts they judged already,
    prompts with all their judgments (send them back first), taken out of the queue (put them
    back first) or outside the labeling queue.
    """
    if not project.memberships.filter(user=labeler, role__in=LABELING_ROLES).exists():
        raise PromptActionRefused(f"{labeler.get_username()} is not a member of this project who may label.")
    with transaction.atomic():
        prompts = _locked(project=project, prompt_ids=prompt_ids)
        judged = set(
            Judgment.objects.filter(prompt__in=prompts, annotator=labeler).values_list("prompt_id", flat=True)
        )
        _refuse_any(prompts, lambda p: p.pk in judged, f"{labeler.get_username()} already judged")
        _refuse_any(prompts, lambda p: not p.queued, "Not in the labeling queue (imported with their labels):")
        _refuse_any(prompts, lambda p: p.taken_out, "Taken out of the queue (put them back first):")
        _refuse_any(
            prompts,
            lambda p: p.judgment_count >= project.overlap + p.extra_judgments,
            "Already have all their judgments (send them back first):",
        )
        lifted = _lift_skips(prompt_ids=[p.pk for p in prompts], annotator=labeler)
        changed = [p for p in prompts if p.reserved_for_id != labeler.pk or p.pk in lifted]
        Prompt.objects.filter(pk__in=[p.pk for p in changed]).update(reserved_for=labeler)
        return _audit(
            actor=actor, project=project, action="prompt.reassign", changed=changed, labeler=labeler.get_username()
        )


def _refuse_any(prompts, test, message):
    refused = [p for p in prompts if test(p)]
    if refused:
        raise PromptActionRefused(f"{message} {_named(refused)}.")
