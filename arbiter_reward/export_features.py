"""The `datasets.Features` of Arbiter's exports, to load several projects' exports as one dataset.

    from datasets import load_dataset
    from arbiter_reward import export_features
    load_dataset("json", data_files=["a.jsonl", "b.jsonl"], features=export_features("judgments"))

JSON cannot give a type to a column that is null in every row of a file (an all-imported
project's `annotator`) or to a list that is empty in every row (`excluded`): `datasets` infers
null from such a file and then cannot cast the next file's text to it. Parquet exports carry
their schema and load together as they are.

These columns mirror annotator.exports.SCHEMAS (the Parquet schema, which Django-free code cannot
import); tests/exporting/test_export_schemas.py holds the two equal. `datasets` is imported only
when asked for, so the reward functions need only torch and transformers.
"""

from __future__ import annotations

_STRING, _ID, _TIME = "string", "int64", "timestamp[us, tz=UTC]"
_MESSAGES = [{"role": _STRING, "content": _STRING}]  # [x]: a list of x; {name: x}: a struct
_PAIR_TAIL = {
    "prompt_id": _STRING, "chosen_id": _ID, "rejected_id": _ID, "annotator": _STRING, "source": _STRING,
    "created_at": _TIME, "margin": "float64", "split": _STRING, "judgment_id": _ID,
}
COLUMNS = {  # (kind, form): {column: type}, in the export's column order
    ("pairs", "explicit"): {"prompt": _STRING, "chosen": _STRING, "rejected": _STRING, **_PAIR_TAIL},
    ("pairs", "conversational"): {"prompt": _MESSAGES, "chosen": _MESSAGES, "rejected": _MESSAGES, **_PAIR_TAIL},
    ("pairs", "hh"): {"chosen": _STRING, "rejected": _STRING, **_PAIR_TAIL},
    ("rankings", "explicit"): {
        "prompt": _STRING, "completions": [_STRING], "excluded": [_STRING], "annotator": _STRING,
        "prompt_id": _STRING, "judgment_id": _ID, "completion_ids": [_ID], "excluded_ids": [_ID],
        "created_at": _TIME, "split": _STRING,
    },
    ("judgments", "explicit"): {
        "judgment_id": _ID, "prompt_id": _STRING, "prompt": _STRING, "annotator": _STRING, "shown": [_ID],
        "shown_texts": [_STRING], "choice": _STRING, "ranking": [_ID], "excluded": [_ID], "labels": [_STRING],
        "strength": _STRING, "comment": _STRING, "edited_completion_id": _ID, "edited_text": _STRING,
        "edit_original_id": _ID, "edit_original_text": _STRING, "time_spent_ms": _ID, "created_at": _TIME,
        "lease_started_at": _TIME, "lease_expires_at": _TIME, "split": _STRING, "gold": "bool", "repeat_of": _ID,
    },
    ("labels", "explicit"): {
        "prompt": _STRING, "completion": _STRING, "label": _STRING, "prompt_id": _STRING, "completion_id": _ID,
        "annotator": _STRING, "source": _STRING, "created_at": _TIME, "split": _STRING, "judgment_id": _ID,
    },
}  # fmt: skip
FORMATS = ("jsonl", "parquet", "csv")


def export_features(kind: str = "pairs", form: str = "explicit", *, format: str = "jsonl"):
    """The `datasets.Features` of an export of `kind` ("pairs", "rankings", "judgments", "labels")
    and, for pairs, `form` ("explicit", "conversational", "hh"; the other kinds ignore it, as the
    export does). The JSONL and Parquet exports' types: pass them to
    `load_dataset("json", data_files=[...], features=...)`.

    format="csv": every column as text. pandas, which `datasets` reads CSV with, cannot read an
    empty cell into an int64 or a time zone's timestamp, and a CSV list is its JSON text
    (json.loads it); so cast after loading, or use JSONL or Parquet."""
    try:
        from datasets import Features, List, Value
    except ImportError as error:
        raise ImportError("export_features needs the datasets package: pip install datasets") from error
    if not any(kind == known for known, _ in COLUMNS):
        raise ValueError(f"Unknown export kind {kind!r}: one of pairs, rankings, judgments, labels.")
    if kind != "pairs":
        form = "explicit"
    if (kind, form) not in COLUMNS:
        raise ValueError(f"Unknown pairs form {form!r}: one of explicit, conversational, hh.")
    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}: one of {', '.join(FORMATS)}.")
    columns = COLUMNS[kind, form]
    if format == "csv":
        return Features({name: Value("string") for name in columns})

    def feature(spec):
        if isinstance(spec, list):
            return List(feature(spec[0]))
        if isinstance(spec, dict):
            return {name: feature(inner) for name, inner in spec.items()}
        return Value(spec)

    return Features({name: feature(spec) for name, spec in columns.items()})
