"""The RL audit: samples the scoring API kept, sent back to labelers as labeling items."""

import hashlib

from django.db import transaction

from annotator.audit_log import audit_record
from annotator.models import Completion, Prompt
from annotator.project_lifecycle import project_refuse_if_archived

from .models import ScoredSample


def labeling_items_from_samples(*, project, sample_ids, actor) -> dict:
    """Turn scored samples a lead picked into labeling items: per prompt text, a queued prompt
    (found again by a stable id, so a second selection adds to it) holding the picked
    completions (distinct texts, marked with their reward and version). Returns the counts and
    the prompts that still have fewer completions than an item shows (they wait for more).
    ProjectArchived for an archived project."""
    project_refuse_if_archived(project)
    samples = list(ScoredSample.objects.filter(project=project, id__in=sample_ids).order_by("id"))
    by_prompt: dict[str, list] = {}
    for sample in samples:
        by_prompt.setdefault(sample.prompt, []).append(sample)
    created_prompts = created_completions = 0
    waiting = []
    with transaction.atomic():
        for text, picked in by_prompt.items():
            external_id = "rl-audit-" + hashlib.sha256(text.encode()).hexdigest()[:16]
            prompt, made = Prompt.objects.get_or_create(
                project=project, external_id=external_id, defaults={"text": text, "metadata": {"source": "rl audit"}}
            )
            created_prompts += made
            have = set(Completion.objects.filter(prompt=prompt).values_list("text", flat=True))
            for sample in picked:
                if sample.completion in have:
                    continue
                have.add(sample.completion)
                Completion.objects.create(
                    prompt=prompt, text=sample.completion, model_name=f"rl policy (scored by v{sample.version})",
                    metadata={"rl_audit": {"reward": sample.reward, "version": sample.version}},
                )  # fmt: skip
                created_completions += 1
            if len(have) < project.min_shown:
                waiting.append(external_id)
        audit_record(
            actor=actor, project=project, action="rl_audit.items",
            detail={"samples": [s.id for s in samples], "prompts_created": created_prompts,
                    "completions_created": created_completions},
        )  # fmt: skip
    return {"prompts_created": created_prompts, "completions_created": created_completions, "waiting": waiting}
