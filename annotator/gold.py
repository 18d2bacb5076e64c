"""Gold items: prompts with a known answer that labelers are scored against."""

from django.db import transaction

from .audit_log import audit_record
from .models import Judgment, Prompt


class GoldRefused(ValueError):
    """A judgment whose answer cannot be a gold answer (it prefers no completion)."""


def gold_answer_of(judgment) -> list[int]:
    """The ranking a judgment gives, completion ids best first: what marking it as gold stores."""
    if judgment.ranking:
        return list(judgment.ranking)
    if judgment.choice in (Judgment.Choice.A, Judgment.Choice.B) and len(judgment.shown) == 2:
        first, second = judgment.shown
        return [first, second] if judgment.choice == Judgment.Choice.A else [second, first]
    raise GoldRefused("Only a judgment that prefers one completion (A or B, or a ranking) can be a gold answer.")


def prompt_gold_set(*, prompt, actor, gold):
    """Make `prompt` a gold item with the expected ranking `gold` (completion ids best first), or
    an ordinary prompt again with None; audited as prompt.gold."""
    with transaction.atomic():
        old = Prompt.objects.select_for_update().values_list("gold", flat=True).get(pk=prompt.pk)
        Prompt.objects.filter(pk=prompt.pk).update(gold=gold)
        audit_record(
            actor=actor, project=prompt.project, action="prompt.gold",
            detail={"prompt": prompt.external_id, "old": old, "new": gold},
        )  # fmt: skip
    prompt.gold = gold
