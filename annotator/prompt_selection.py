"""Acting on a lead's selection of prompts: the actions by name, and the sentence that reports one.

The page and the API both call `prompt_selection_apply`; the work is annotator.prompt_actions'.
"""

from django.contrib.auth import get_user_model

from . import prompt_actions
from .prompt_actions import PromptActionRefused
from .prompt_browser import labeling_members

REASSIGN = "reassign"
# name: (what the select says, the function, what it did to n prompts)
ACTIONS = {
    "release_leases": ("Release leases", prompt_actions.prompts_release_leases, "{n} released from their leases"),
    "send_back": ("Send back to the queue", prompt_actions.prompts_send_back, "{n} sent back to the queue"),
    "take_out": ("Take out of the queue", prompt_actions.prompts_take_out, "{n} taken out of the queue"),
    "put_back": ("Put back in the queue", prompt_actions.prompts_put_back, "{n} put back in the queue"),
    "lift_skips": ("Lift skips", prompt_actions.prompts_lift_skips, "{n} had their skips lifted"),
    REASSIGN: ("Reassign to", prompt_actions.prompts_reassign, "{n} reserved for {labeler}"),
}
ACTION_CHOICES = [(name, label) for name, (label, _, _) in ACTIONS.items()]


class UnknownLabeler(PromptActionRefused):
    """Reassigning to someone who is not a member of the project who may label."""


def _prompts(n: int) -> str:
    return f"{n} prompt" if n == 1 else f"{n} prompts"


def prompt_selection_apply(*, project, action, prompt_ids, actor, labeler="") -> str:
    """Run `action` on the project's prompts among `prompt_ids` (others are ignored); the sentence
    saying what it did, such as "3 prompts taken out of the queue". PromptActionRefused (a plain
    message) when refused; UnknownLabeler, one of them, when `labeler` may not be given prompts."""
    if action not in ACTIONS:
        raise PromptActionRefused(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
    _label, function, said = ACTIONS[action]
    if action == REASSIGN:
        if labeler not in labeling_members(project=project):
            raise UnknownLabeler(f"No member {labeler!r} who may label in this project.")
        person = get_user_model().objects.get(username=labeler)
        n = function(project=project, prompt_ids=prompt_ids, actor=actor, labeler=person)
    else:
        n = function(project=project, prompt_ids=prompt_ids, actor=actor)
    return said.format(n=_prompts(n), labeler=labeler)
