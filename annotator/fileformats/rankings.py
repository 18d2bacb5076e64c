"""The rankings format: a prompt with its completions best first; stored as every ranked pair."""

from .checks import check_completion_count, check_distinct, check_prompt_id, check_text
from .records import LineError, RankingRecord, text_id


def parse_rankings(objects, limits):
    """RankingRecords. Replies may be empty, as in pairs; ranked and excluded ones together are
    2..9 distinct texts. Excluded ones are checked but not stored: they rank against nothing."""
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        errors = []
        ok = check_text(errors, number, "prompt", obj.get("prompt"), limits)
        external_id, id_field, id_ok = check_prompt_id(errors, number, obj, limits)
        ok = ok and id_ok
        names, texts, lists = [], [], True
        for key in ("completions", "excluded"):
            values = obj.get(key)
            if values is None and key == "excluded":
                continue
            if not isinstance(values, list):
                errors.append(LineError(number, key, "must be a list of texts"))
                lists = False
                continue
            for i, text in enumerate(values):
                ok = check_text(errors, number, f"{key}[{i}]", text, limits, required=False) and ok
                names.append(f"{key}[{i}]")
                texts.append(text)
        if lists:
            check_completion_count(errors, number, "completions and excluded", len(texts))
        if ok and not errors:
            check_distinct(errors, number, names, texts)
        yield from errors
        if ok and not errors:
            ranked = obj["completions"]
            yield RankingRecord(number, external_id or text_id(obj["prompt"]), obj["prompt"], ranked, id_field)
