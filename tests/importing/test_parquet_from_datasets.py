"""Parquet files as `datasets` writes them (`Dataset.to_parquet`) import as they are."""

import pytest
from datasets import Dataset

from annotator.imports import import_stream
from annotator.models import Comparison, Prompt

pytestmark = pytest.mark.django_db


def written_by_datasets(rows, tmp_path):
    path = tmp_path / "data.parquet"
    Dataset.from_list(rows).to_parquet(str(path))
    return path


def import_path(project, path):
    with open(path, "rb") as stream:
        return import_stream(project=project, stream=stream, filename=path.name)


def test_prompts_written_by_datasets_import(project, tmp_path):
    rows = [
        {"id": "a", "prompt": "Why?", "completions": ["x", "y"], "metadata": {"topic": "t"}},
        {"id": "b", "prompt": "How?", "completions": ["u", "v", "w"], "metadata": {"topic": None}},
    ]
    report = import_path(project, written_by_datasets(rows, tmp_path))
    assert (report.prompts_created, report.completions_created) == (2, 5)
    assert Prompt.objects.get(external_id="b").metadata == {"topic": None}


def test_explicit_and_conversational_pairs_written_by_datasets_import(project, tmp_path):
    explicit = [{"prompt": "2+2?", "chosen": "4", "rejected": "5"}]
    import_path(project, written_by_datasets(explicit, tmp_path))
    conversational = [
        {"prompt": [{"role": "user", "content": "3+3?"}], "chosen": [{"role": "assistant", "content": "6"}],
         "rejected": [{"role": "assistant", "content": "7"}]},
    ]  # fmt: skip
    (tmp_path / "data.parquet").unlink()
    import_path(project, written_by_datasets(conversational, tmp_path))
    assert sorted(Comparison.objects.values_list("prompt__text", "chosen__text")) == [
        ("\n\nHuman: 3+3?\n\nAssistant:", " 6"),
        ("2+2?", "4"),
    ]
