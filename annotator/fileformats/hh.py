"""Anthropic HH dialogue text ("\n\nHuman: …\n\nAssistant: …"): rendered from conversational
messages on import and read back into messages on export. Splitting a whole dialogue into
prompt and replies is rewardtrain.data.split_hh_dialogues, shared with training."""

import re

from arbiter_reward.reward import prompt_text


# One rendering of a conversation as HH text, shared with the RL reward functions
# (arbiter_reward), so a message-list prompt scores as the imported conversation trained.
render_hh = prompt_text


def render_hh_reply(content):
    """A reply as the hh format stores it: what follows "Assistant:", its space included, so a
    conversational line and the hh line of the same dialogue are the same rows."""
    return f" {content}" if content else ""


_HH_TURN = re.compile(r"\n\n(Human|Assistant):")


def hh_prompt_messages(text):
    """The turns of an HH prompt (what render_hh writes, and what the hh format stores) as
    messages, user first and last and alternating, or None for a prompt not in that form."""
    if not (text.startswith("\n\nHuman:") and text.endswith("\n\nAssistant:")):
        return None
    parts = _HH_TURN.split(text[: -len("\n\nAssistant:")])
    roles = ["user" if name == "Human" else "assistant" for name in parts[1::2]]
    if roles[::2] != ["user"] * len(roles[::2]) or "user" in roles[1::2] or roles[-1] != "user":
        return None
    return [
        {"role": role, "content": content.removeprefix(" ")} for role, content in zip(roles, parts[2::2])
    ]
