"""The jsonl format: a prompt with 2..9 completions per line, queued for labelling."""

from .checks import MAX_COMPLETIONS, MIN_COMPLETIONS, check_completion_count, check_distinct, check_id, check_text
from .records import LineError, PromptRecord, text_id


def parse_jsonl(objects, limits):
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        errors = []
        record = _jsonl_record(errors, number, obj, limits)
        yield from errors
        if record is not None and not errors:
            yield record


def _jsonl_record(errors, number, obj, limits):
    ok = check_text(errors, number, "prompt", obj.get("prompt"), limits)
    metadata = obj.get("metadata") or {}  # null is as good as absent
    if not isinstance(metadata, dict):
        errors.append(LineError(number, "metadata", "must be an object"))
        ok = False
    external_id = None
    if obj.get("id") is not None:
        external_id = check_id(errors, number, "id", obj["id"], limits)
        ok = ok and external_id is not None
    completions_in = obj.get("completions")
    if not isinstance(completions_in, list):
        errors.append(LineError(number, "completions", "required: a list of texts or objects"))
        return None
    check_completion_count(errors, number, "completions", len(completions_in))
    completions, names = [], []
    for i, item in enumerate(completions_in):
        name = f"completions[{i}]"
        names.append(name)
        if isinstance(item, dict):
            text, model, meta = item.get("text"), item.get("model") or "", item.get("metadata") or {}
            name_text = f"{name}.text"
        else:
            text, model, meta, name_text = item, "", {}, name
        ok = check_text(errors, number, name_text, text, limits) and ok
        if not isinstance(model, str) or len(model) > limits.max_model_chars:
            reason = f"must be a string of at most {limits.max_model_chars} characters"
            errors.append(LineError(number, f"{name}.model", reason))
            ok = False
        if not isinstance(meta, dict):
            errors.append(LineError(number, f"{name}.metadata", "must be an object"))
            ok = False
        completions.append((text, model, meta))
    if not ok or not MIN_COMPLETIONS <= len(completions) <= MAX_COMPLETIONS:
        return None
    check_distinct(errors, number, names, [c[0] for c in completions])
    gold = _gold(errors, number, obj.get("gold"), len(completions))
    return PromptRecord(
        number, external_id or text_id(obj["prompt"]), obj["prompt"], completions, metadata,
        id_given=external_id is not None, gold=gold,
    )  # fmt: skip


def _gold(errors, number, gold, n_completions):
    """A gold item's expected answer: completion indexes (0-based, in the line's order), best
    first, at least two of them; None when the line has no gold."""
    if gold is None:
        return None
    valid = (
        isinstance(gold, list)
        and len(gold) >= 2
        and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n_completions for i in gold)
        and len(set(gold)) == len(gold)
    )
    if not valid:
        reason = f"must list 2 or more distinct completion indexes (0 to {n_completions - 1}), best first"
        errors.append(LineError(number, "gold", reason))
        return None
    return gold
