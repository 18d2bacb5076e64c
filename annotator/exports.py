"""Exporting comparisons as JSONL, streamed from the database in constant memory.

Shared by the `export_comparisons` command, the lead's download and the API.
Each line is the explicit-prompt form that TRL's RewardTrainer and
`datasets.load_dataset("json", data_files=...)` read as is, plus ids and
provenance; `import_prompts --format pairs` reads it back.
"""

import json
from collections.abc import Iterator

from .models import Comparison

EXPORT_CHUNK_ROWS = 2000  # rows per database fetch: bounds memory whatever the project's size


def comparison_rows(*, project):
    """One dict per comparison, oldest first, with the texts joined in (no model instances)."""
    return (
        Comparison.objects.filter(project=project)
        .order_by("id")
        .values(
            "prompt__text",
            "chosen__text",
            "rejected__text",
            "prompt__external_id",
            "chosen_id",
            "rejected_id",
            "annotator__username",
            "source",
            "created_at",
        )
    )


def export_jsonl_lines(*, project) -> Iterator[str]:
    """JSON lines, each ending in a newline, read from the database chunk by chunk."""
    for row in comparison_rows(project=project).iterator(chunk_size=EXPORT_CHUNK_ROWS):
        record = {
            "prompt": row["prompt__text"],
            "chosen": row["chosen__text"],
            "rejected": row["rejected__text"],
            "prompt_id": row["prompt__external_id"],
            "chosen_id": row["chosen_id"],
            "rejected_id": row["rejected_id"],
            "annotator": row["annotator__username"],
            "source": row["source"],
            "created_at": row["created_at"].isoformat(),
        }
        yield json.dumps(record, ensure_ascii=False) + "\n"
