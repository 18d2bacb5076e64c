"""Exports of one kind from two projects load together with `datasets`: a column's type does
not depend on the data. Times are written with six fraction digits whatever the moment, since
`datasets` types "...12:00:00+00:00" a timestamp and "...12:00:00.123400+00:00" text."""

from datetime import datetime, timezone

import pytest

from annotator.exports import export_options_from, export_stream
from annotator.models import Comparison, Judgment
from tests import factories

pytestmark = pytest.mark.django_db


def exported(project, path, **params):
    pieces = export_stream(project=project, options=export_options_from(params, project=project))
    path.write_bytes(b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces))
    return path


def test_pairs_exports_with_whole_second_and_fractional_times_load_together(data, tmp_path):
    from datasets import load_dataset

    other = factories.project()
    factories.prompts(other, 1)
    prompt = other.prompts.get()
    first, second = prompt.completions.all()
    carol = factories.member(other, "labeler", username="carol")
    judgment = Judgment.objects.create(annotator=carol, prompt=prompt, shown=[first.pk, second.pk], choice="a", client_id="c")
    row = Comparison.objects.create(
        project=other, prompt=prompt, chosen=first, rejected=second, judgment=judgment, annotator=carol
    )
    moment = datetime(2026, 3, 1, 12, 0, 0, 123400, tzinfo=timezone.utc)
    Comparison.objects.filter(pk=row.pk).update(created_at=moment)
    whole = exported(data.project, tmp_path / "whole.jsonl")  # its times are whole seconds
    fractional = exported(other, tmp_path / "fractional.jsonl")
    assert '"created_at": "2026-01-10T12:00:00.000000+00:00"' in whole.read_text()
    for files in ([whole, fractional], [fractional, whole]):
        both = load_dataset("json", data_files=[str(f) for f in files], split="train", cache_dir=str(tmp_path / "c"))
        assert len(both) == 4
    # Not yet: a column null in every row of one file (an all-imported project's annotator and
    # judgment_id) or an empty list in every row (rankings' excluded) still types it null there.
