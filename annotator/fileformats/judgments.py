"""The judgments format: what the judgments export writes, one labeler's answer per line, read
back as the labelled data it holds, as Label Studio reads its own annotations export back.

A line names the completions shown (`shown`, ids in display order, and `shown_texts`) and
answers with ids: `choice` (a or b), `ranking` and `excluded`, `edited_text` (an edit, which
beats every completion shown) or, in a classify project, `labels` (each shown completion's
label, null for one left out). Into a pairwise or ranking project a line gives the pairs
annotator.judgments.pairs_from_result gives for it, as PairRecords; into a classify project its
labels, as LabelRecords. A tie or "both bad" gives nothing."""

from itertools import combinations

from .checks import MAX_COMPLETIONS, check_prompt_id, check_text
from .records import LabelRecord, LineError, PairRecord, text_id

CHOICES = ("", "a", "b", "tie", "both_bad")


def _shown(errors, number, obj, limits):
    """{id: text} of the completions shown, in display order, or None after errors."""
    ids, texts = obj.get("shown"), obj.get("shown_texts")
    if not isinstance(texts, list) or not 1 <= len(texts) <= MAX_COMPLETIONS:
        errors.append(LineError(number, "shown_texts", f"must be a list of 1 to {MAX_COMPLETIONS} texts"))
        return None
    if not isinstance(ids, list) or len(ids) != len(texts) or len(set(map(repr, ids))) != len(ids):
        errors.append(LineError(number, "shown", "must be a list of distinct ids, one per text of shown_texts"))
        return None
    ok = all([check_text(errors, number, f"shown_texts[{i}]", t, limits, required=False) for i, t in enumerate(texts)])
    return dict(zip(ids, texts)) if ok else None


def _texts_of(errors, number, name, ids, shown):
    """The texts of a list of shown ids (ranking, excluded), or None after an error."""
    if ids is None:
        return []
    if not isinstance(ids, list) or any(i not in shown for i in ids):
        errors.append(LineError(number, name, "must be a list of ids of the completions shown"))
        return None
    return [shown[i] for i in ids]


def _pairs(errors, number, obj, shown, limits):
    """(chosen, rejected) texts, as pairs_from_result gives them."""
    texts = list(shown.values())
    choice = obj.get("choice") or ""
    if choice not in CHOICES:
        errors.append(LineError(number, "choice", f"{choice!r}: must be one of a, b, tie, both_bad or empty"))
        return []
    if obj.get("labels"):
        errors.append(LineError(number, "labels", "a classify project's judgment: import it into a classify project"))
        return []
    pairs = []
    if choice in ("a", "b"):
        if len(texts) < 2:
            errors.append(LineError(number, "choice", "a choice needs two completions shown"))
            return []
        pairs.append((texts[0], texts[1]) if choice == "a" else (texts[1], texts[0]))
    ranked = _texts_of(errors, number, "ranking", obj.get("ranking"), shown)
    _texts_of(errors, number, "excluded", obj.get("excluded"), shown)
    pairs.extend(combinations(ranked or [], 2))
    edited = obj.get("edited_text")  # empty: no edit (a CSV cell cannot tell null from "")
    if edited and check_text(errors, number, "edited_text", edited, limits, required=False):
        pairs.extend((edited, text) for text in texts)
    return pairs


def _labels(errors, number, obj, shown, allowed):
    """(completion text, label) for each labelled completion shown."""
    labels = obj.get("labels")
    if not isinstance(labels, list) or len(labels) != len(shown):
        errors.append(LineError(number, "labels", "must list a label (or null) for each completion shown"))
        return []
    if obj.get("choice") or obj.get("ranking"):
        errors.append(LineError(number, "choice", "a classify project takes labels, not a choice or a ranking"))
        return []
    names = ", ".join(repr(label) for label in allowed)
    labelled = []
    for i, (text, label) in enumerate(zip(shown.values(), labels)):
        if label is None:
            continue
        if label not in allowed:
            errors.append(LineError(number, f"labels[{i}]", f"{label!r} is not one of the project's labels ({names})"))
        elif text.strip():
            labelled.append((text, label))
    return labelled


def parse_judgments(objects, limits, labels):
    """PairRecords, or LabelRecords when `labels` (a classify project's label set) is given; a
    line may give several records, or none (a tie)."""
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        errors = []
        ok = check_text(errors, number, "prompt", obj.get("prompt"), limits)
        external_id, id_field, id_ok = check_prompt_id(errors, number, obj, limits)
        shown = _shown(errors, number, obj, limits)
        if shown is not None:
            given = _labels(errors, number, obj, shown, labels) if labels else _pairs(errors, number, obj, shown, limits)
        yield from errors
        if not (ok and id_ok and shown is not None and not errors):
            continue
        prompt, external_id = obj["prompt"], external_id or text_id(obj["prompt"])
        for a, b in given:
            if labels:
                yield LabelRecord(number, external_id, prompt, a, b, {}, id_field)
            else:
                yield PairRecord(number, external_id, prompt, a, b, id_field)
