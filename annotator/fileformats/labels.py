"""The labels format (classify projects): one labelled completion per line, as JSON lines
{"prompt", "completion", "label", "id"?/"prompt_id"?, "metadata"?}, as CSV with a header naming
prompt, completion and label (and optionally id or prompt_id), or as Parquet with those columns.
Other keys and columns are ignored (objects.read_keys), so what the labels export writes imports
back; a CSV has no metadata column."""

from .checks import check_prompt_id, check_text
from .records import LabelRecord, LineError, text_id

LABEL_COLUMNS = ("prompt", "completion", "label")


def parse_labels(objects, limits, labels):
    """LabelRecords of (number, dict) items; `labels` is the project's label set, which every
    line's label must be in. A line with several problems reports them all."""
    allowed = ", ".join(repr(label) for label in labels)
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        errors = []
        ok = check_text(errors, number, "prompt", obj.get("prompt"), limits)
        # Unlike a pair's reply, an empty completion is refused: a label of nothing says nothing.
        ok = check_text(errors, number, "completion", obj.get("completion"), limits) and ok
        label = obj.get("label")
        if not isinstance(label, str) or not label:
            reason = "required" if label is None else ("empty" if label == "" else "must be a string")
            errors.append(LineError(number, "label", f"{reason}; the project's labels are {allowed}"))
            ok = False
        elif label not in labels:
            errors.append(LineError(number, "label", f"{label!r} is not one of the project's labels ({allowed})"))
            ok = False
        metadata = obj.get("metadata") or {}  # null is as good as absent
        if not isinstance(metadata, dict):
            errors.append(LineError(number, "metadata", "must be an object"))
            ok = False
        external_id, id_field, id_ok = check_prompt_id(errors, number, obj, limits)
        yield from errors
        if ok and id_ok:
            yield LabelRecord(
                number, external_id or text_id(obj["prompt"]), obj["prompt"], obj["completion"], label, metadata,
                id_field if external_id else "",
            )  # fmt: skip
