"""The pairs and hh formats: a prompt with a chosen and a rejected reply per line, as text,
as TRL's conversational messages, or (hh) as two whole Anthropic HH dialogues."""

from rewardtrain.data import split_hh_dialogues

from .checks import check_prompt_id, check_text
from .hh import render_hh, render_hh_reply
from .records import LineError, PairRecord, text_id


def _messages_error(messages, *, reply):
    """Why a conversational prompt (user first and last, turns alternating) or reply (one assistant
    message) is not one, as (field suffix, reason), or None."""
    if not isinstance(messages, list) or not messages:
        shape = "one assistant message" if reply else "messages"
        return "", f"must be a list of {shape} ({{\"role\", \"content\"}}), as prompt is"
    if reply and len(messages) != 1:
        return "", f"{len(messages)} messages; a reply is one assistant message"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return f"[{i}]", 'must be {"role", "content"} with content a string'
        role = message.get("role")
        expected = "assistant" if reply or i % 2 else "user"
        if role != expected:
            return f"[{i}].role", f"{role!r}: expected {expected!r} (user and assistant turns alternate, user first)"
    if not reply and len(messages) % 2 == 0:
        return f"[{len(messages) - 1}]", "the last message of a prompt is the user's"
    return None


def _conversational(errors, number, obj, limits):
    """(prompt, chosen, rejected) rendered from TRL's conversational form, or None after errors."""
    texts = []
    for name in ("prompt", "chosen", "rejected"):
        if problem := _messages_error(obj.get(name), reply=name != "prompt"):
            errors.append(LineError(number, name + problem[0], problem[1]))
            continue
        text = render_hh(obj[name]) if name == "prompt" else render_hh_reply(obj[name][0]["content"])
        if check_text(errors, number, name, text, limits, required=name == "prompt"):
            texts.append(text)
    return texts if len(texts) == 3 else None


def parse_pairs(objects, limits, *, hh):
    """PairRecords; an empty reply is a real completion (the assistant said nothing), so only the
    prompt and HH's whole dialogues must be non-empty. A pair with the same reply on both sides
    is still yielded: whether it counts is the importer's call."""
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        errors = []
        conversation = None
        if not hh and isinstance(obj.get("prompt"), list):
            conversation = _conversational(errors, number, obj, limits)
            ok = conversation is not None
        else:
            ok = check_text(errors, number, "chosen", obj.get("chosen"), limits, required=hh)
            ok = check_text(errors, number, "rejected", obj.get("rejected"), limits, required=hh) and ok
            if not hh:
                ok = check_text(errors, number, "prompt", obj.get("prompt"), limits) and ok
        external_id, id_field, id_ok = check_prompt_id(errors, number, obj, limits)
        ok = ok and id_ok
        yield from errors
        if not ok:
            continue
        if hh:
            try:
                prompt, chosen, rejected = split_hh_dialogues(obj["chosen"], obj["rejected"])
            except ValueError as exc:
                yield LineError(number, "chosen", str(exc))
                continue
        elif conversation:
            prompt, chosen, rejected = conversation
        else:
            prompt, chosen, rejected = obj["prompt"], obj["chosen"], obj["rejected"]
        yield PairRecord(
            number, external_id or text_id(prompt), prompt, chosen, rejected, id_field if external_id else ""
        )
