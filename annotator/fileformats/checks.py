"""The checks every format shares: the values a database cannot store, then the fields (texts,
ids, completion counts), each check_ appending LineErrors to the caller's list so that a line
reports every problem it has."""

import math
import re
from dataclasses import dataclass

from .records import LineError

MIN_COMPLETIONS, MAX_COMPLETIONS = 2, 9  # a project shows 2..9 completions per item


def _s(n):
    return "" if n == 1 else "s"


@dataclass(frozen=True)
class Limits:
    max_text_chars: int
    max_id_chars: int
    max_model_chars: int


# --- what a database cannot store --------------------------------------------

# PostgreSQL's text and jsonb refuse NUL, UTF-8 has no lone surrogates, and JSON
# (jsonb, SQLite's json_valid) has no NaN or Infinity; Python's json accepts all
# of them ("\u0000", "\ud800", NaN, 1e999), so they are caught here, per field.
_UNSTORABLE_CHAR = re.compile("[\x00\ud800-\udfff]")


def _char_reason(char):
    if char == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored"
    return f"contains a lone surrogate (\\u{ord(char):04x}), which is not valid Unicode"


def _float_name(value):
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def unstorable(value):
    """(field path, reason) for every string with a NUL or a lone surrogate and every NaN or
    infinite number in a parsed JSON value, keys included; iterative, so any depth is fine."""
    stack = [("", value)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if found := _UNSTORABLE_CHAR.search(value):
                yield path, _char_reason(found.group())
        elif isinstance(value, float):
            if not math.isfinite(value):
                yield path, f"{_float_name(value)} is not a number JSON can store"
        elif isinstance(value, dict):
            children = []
            for key, item in value.items():
                if found := _UNSTORABLE_CHAR.search(key):
                    yield path, "a key " + _char_reason(found.group())
                    continue
                shown = key if len(key) <= 40 else key[:40] + "…"
                children.append((f"{path}.{shown}" if path else shown, item))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{path}[{i}]", item) for i, item in enumerate(value)]))
        elif value is not None and not isinstance(value, int):  # bytes, dates, decimals from Parquet
            yield path, f"a {type(value).__name__} value {NOT_JSON}"


NOT_JSON = "is not JSON: use text, numbers, lists or objects"


def _top_key(path):
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def storable(objects, read=None):
    """The (number, dict) items whose every value can be stored, else their LineErrors. Given
    `read` (the keys the form reads), a value of another key may be of any type (an export's
    created_at is a Parquet timestamp): it is ignored, so only what no file should hold (NUL,
    a lone surrogate, NaN) is an error there."""
    for item in objects:
        if isinstance(item, LineError):
            yield item
            continue
        number, obj = item
        problems = [
            LineError(number, path, reason)
            for path, reason in unstorable(obj)
            if read is None or not reason.endswith(NOT_JSON) or _top_key(path) in read
        ]
        if problems:
            yield from problems
            continue
        yield number, obj


# --- field checks --------------------------------------------------------------


def _text_error(value, limits, *, required=True):
    """Why value is not an acceptable text, or None."""
    if not isinstance(value, str):
        return "required" if value is None else "must be a string"
    if required and not value.strip():
        return "empty"
    if len(value) > limits.max_text_chars:
        return f"{len(value):,} characters, the limit is {limits.max_text_chars:,} (ARBITER_MAX_TEXT_CHARS)"
    return None


def check_text(errors, line, name, value, limits, *, required=True):
    if reason := _text_error(value, limits, required=required):
        errors.append(LineError(line, name, reason))
        return False
    return True


def check_id(errors, line, name, value, limits):
    """A given id as a string (numbers are accepted), or None after recording an error."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors.append(LineError(line, name, "must be a string or an integer"))
        return None
    value = str(value).strip()
    if not value:
        errors.append(LineError(line, name, "empty"))
        return None
    if len(value) > limits.max_id_chars:
        errors.append(LineError(line, name, f"{len(value)} characters, the limit is {limits.max_id_chars}"))
        return None
    return value


def check_completion_count(errors, line, name, n):
    if not MIN_COMPLETIONS <= n <= MAX_COMPLETIONS:
        errors.append(
            LineError(
                line,
                name,
                f"{n} completion{_s(n)}; each prompt needs {MIN_COMPLETIONS} to {MAX_COMPLETIONS} "
                f"(a project shows {MIN_COMPLETIONS} to {MAX_COMPLETIONS} per item)",
            )
        )


def check_distinct(errors, line, names, texts):
    first_seen = {}
    for name, text in zip(names, texts):
        if text in first_seen:
            errors.append(LineError(line, name, f"same text as {first_seen[text]}"))
        first_seen.setdefault(text, name)


def check_prompt_id(errors, number, obj, limits):
    """(external id or None, the field that named it, ok) for a line that may name its prompt."""
    id_field = "prompt_id" if "prompt_id" in obj else "id"
    if obj.get(id_field) is None:
        return None, "", True
    external_id = check_id(errors, number, id_field, obj[id_field], limits)
    return external_id, id_field, external_id is not None
