"""Exports of one kind from several projects load together with `datasets`: a column's type does
not depend on the data. Parquet carries its fixed schema; JSON cannot type a column null in every
row or a list empty in every row, so JSONL is loaded with `arbiter_reward.export_features(kind)`,
which must equal the Parquet schema. Times are written with six fraction digits whatever the
moment, since `datasets` types "...12:00:00+00:00" a timestamp and "...12:00:00.123400+00:00" text."""

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from annotator.exports import SCHEMAS, export_options_from, export_stream
from annotator.models import (
    Assignment,
    Classification,
    Comparison,
    Completion,
    Judgment,
    Project,
    Prompt,
)
from arbiter_reward import export_features
from tests import factories

pytestmark = pytest.mark.django_db


def exported(project, path, **params):
    pieces = export_stream(project=project, options=export_options_from(params, project=project))
    path.write_bytes(b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces))
    return path


def loaded(builder, files, tmp_path, **kwargs):
    from datasets import load_dataset

    return load_dataset(
        builder, data_files=[str(f) for f in files], split="train", cache_dir=str(tmp_path / "cache"), **kwargs
    )


def test_pairs_exports_with_whole_second_and_fractional_times_load_together(data, tmp_path):
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
        assert len(loaded("json", files, tmp_path)) == 4


# --- projects filled differently ---------------------------------------------------------------


def all_imported_pairs():
    """A pairwise project whose every comparison was imported: annotator and judgment_id are
    null in every row."""
    project = factories.project()
    for prompt in factories.prompts(project, 2):
        first, second = prompt.completions.all()
        Comparison.objects.create(project=project, prompt=prompt, chosen=first, rejected=second, source="imported")
    return project


def plain_pairwise_judgments():
    """A pairwise project with two bare judgments: no ranking, exclusions, labels, edit, lease,
    time or repeat, so those columns are null or empty in every row."""
    project = factories.project()
    dave = factories.member(project, "labeler", username="dave")
    for prompt in factories.prompts(project, 2):
        first, second = prompt.completions.all()
        Judgment.objects.create(annotator=dave, prompt=prompt, shown=[first.pk, second.pk], choice="b", client_id=str(prompt.pk))
    return project


def ranking_project():
    """A ranking project with everything: a gold prompt, a lease, time, a comment, an edit,
    exclusions and a repeat."""
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    erin = factories.member(project, "labeler", username="erin")
    prompt = Prompt.objects.create(project=project, external_id="r1", text="Rank these")
    one, two, three = (Completion.objects.create(prompt=prompt, text=t) for t in ("one", "two", "three"))
    Prompt.objects.filter(pk=prompt.pk).update(gold=[two.pk, one.pk])
    edit = Completion.objects.create(prompt=prompt, text="two, better", origin="edited", parent=two, author=erin)
    lease = Assignment.objects.create(
        project=project, prompt=prompt, annotator=erin, shown=[one.pk, two.pk, three.pk], status="done",
        expires_at=datetime(2026, 5, 1, tzinfo=timezone.utc),
    )
    first = Judgment.objects.create(
        annotator=erin, prompt=prompt, assignment=lease, shown=[one.pk, two.pk, three.pk], ranking=[two.pk, one.pk],
        excluded=[three.pk], comment="close call", edited_completion=edit, time_spent_ms=5100, client_id="r1",
    )
    Judgment.objects.create(
        annotator=erin, prompt=prompt, shown=[three.pk, two.pk, one.pk], ranking=[two.pk, one.pk],
        excluded=[three.pk], repeat_of=first, client_id="r2",
    )
    return project


def ranking_project_without_exclusions():
    """Rankings in which nothing was excluded: `excluded` and `excluded_ids` are empty in every row."""
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=2)
    frank = factories.member(project, "labeler", username="frank")
    for prompt in factories.prompts(project, 2):
        first, second = prompt.completions.all()
        Judgment.objects.create(
            annotator=frank, prompt=prompt, shown=[first.pk, second.pk], ranking=[second.pk, first.pk],
            client_id=str(prompt.pk),
        )
    return project


def classify_project(*, imported):
    """A classify project: human labels from judgments (one completion marked too hard, so its
    label is null), or only imported labels (annotator and judgment_id null in every row)."""
    project = factories.project(
        mode=Project.Mode.CLASSIFY, completions_shown=2, labels=["ok", "bad"], positive_label="ok"
    )
    grace = None if imported else factories.member(project, "labeler", username="grace")
    for prompt in factories.prompts(project, 2):
        first, second = prompt.completions.all()
        if imported:
            Classification.objects.create(
                project=project, prompt=prompt, completion=first, label="ok", source="imported"
            )
            continue
        judgment = Judgment.objects.create(
            annotator=grace, prompt=prompt, shown=[first.pk, second.pk], labels={str(first.pk): "bad"},
            excluded=[second.pk], client_id=str(prompt.pk),
        )
        Classification.objects.create(
            project=project, prompt=prompt, completion=first, label="bad", judgment=judgment, annotator=grace
        )
    return project


# --- every kind loads together -----------------------------------------------------------------


def sparse_and_full(kind, data):
    """The projects to export `kind` from, the sparse one first: its columns are null or empty
    where the others' are not."""
    if kind == "pairs":
        return [all_imported_pairs(), data.project]
    if kind == "rankings":
        return [ranking_project_without_exclusions(), ranking_project()]
    if kind == "judgments":
        return [plain_pairwise_judgments(), ranking_project(), classify_project(imported=False)]
    return [classify_project(imported=True), classify_project(imported=False)]


def rows_of(jsonl):
    return [json.loads(line) for line in jsonl.read_text().splitlines()]


@pytest.mark.parametrize("kind, form", sorted(SCHEMAS))
def test_exports_of_differently_filled_projects_load_together_in_any_order(kind, form, data, tmp_path):
    from datasets import Features

    projects = sparse_and_full(kind, data)
    params = {"kind": kind, "form": form, "include_gold": "true"}
    files = {}
    for format in ("jsonl", "parquet", "csv"):
        files[format] = [exported(p, tmp_path / f"{i}.{format}", format=format, **params) for i, p in enumerate(projects)]
    names = SCHEMAS[kind, form].names
    # Every export has exactly the schema's columns, in its order: a new column needs a schema entry.
    for jsonl in files["jsonl"]:
        assert all(list(row) == names for row in rows_of(jsonl))
    for parquet in files["parquet"]:
        assert pq.read_schema(parquet).remove_metadata() == SCHEMAS[kind, form]
    for csv_file in files["csv"]:
        assert csv_file.read_text().splitlines()[0].split(",") == names
    counts = [len(rows_of(f)) for f in files["jsonl"]]
    assert all(counts)  # no project's export is empty

    features = export_features(kind, form)
    assert features == Features.from_arrow_schema(SCHEMAS[kind, form])
    csv_features = export_features(kind, form, format="csv")
    for order in (1, -1):
        by_json = loaded("json", files["jsonl"][::order], tmp_path, features=features)
        by_parquet = loaded("parquet", files["parquet"][::order], tmp_path)
        by_csv = loaded("csv", files["csv"][::order], tmp_path, features=csv_features)
        assert by_json.features == by_parquet.features == features
        assert by_csv.features == csv_features
        assert len(by_json) == len(by_parquet) == len(by_csv) == sum(counts)
        # The same values through JSONL and Parquet, nulls and empty lists included.
        assert by_json.to_list() == by_parquet.to_list()
        check_values(kind, per_file(by_json.to_list(), counts[::order])[::order])  # back in project order


def per_file(rows, counts):
    """The rows in one list per file, `counts` rows each."""
    ends = [sum(counts[: i + 1]) for i in range(len(counts))]
    return [rows[end - n : end] for n, end in zip(counts, ends)]


def check_values(kind, per_project):
    """Spot checks of a null and a list, rows in the projects' order."""
    rows = [row for rows in per_project for row in rows]
    if kind == "pairs":
        assert rows[0]["annotator"] is None and rows[0]["judgment_id"] is None  # imported
        assert rows[2]["annotator"] == "alice" and isinstance(rows[2]["judgment_id"], int)
    elif kind == "rankings":
        assert rows[0]["excluded"] == [] and rows[0]["excluded_ids"] == []
        assert rows[2]["excluded"] == ["three"] and rows[2]["completions"] == ["two", "one"]
    elif kind == "judgments":
        pairwise, ranked, repeat, classified = rows[0], rows[2], rows[3], rows[4]
        assert pairwise["ranking"] == [] and pairwise["labels"] == [] and pairwise["edited_text"] is None
        assert pairwise["lease_started_at"] is None and pairwise["repeat_of"] is None
        assert ranked["edited_text"] == "two, better" and ranked["comment"] == "close call" and ranked["gold"]
        assert ranked["lease_expires_at"] == datetime(2026, 5, 1, tzinfo=timezone.utc)
        assert repeat["repeat_of"] == ranked["judgment_id"]
        assert classified["labels"] == ["bad", None] and classified["choice"] == ""
    else:
        assert rows[0]["annotator"] is None and rows[0]["judgment_id"] is None  # imported
        assert rows[2]["annotator"] == "grace" and rows[2]["label"] == "bad"


def test_csv_exports_load_as_text_with_lists_as_their_json(tmp_path):
    projects = [ranking_project_without_exclusions(), ranking_project()]
    files = [
        exported(p, tmp_path / f"{i}.csv", format="csv", kind="rankings", include_gold="true")
        for i, p in enumerate(projects)
    ]
    rows = loaded("csv", files, tmp_path, features=export_features("rankings", format="csv")).to_list()
    assert rows[0]["excluded"] == "[]" and json.loads(rows[2]["excluded"]) == ["three"]
    assert rows[0]["created_at"].endswith("+00:00")


def test_export_features_names_every_kind_and_form_and_refuses_others():
    for kind, form in SCHEMAS:
        assert list(export_features(kind, form)) == SCHEMAS[kind, form].names
    # The other kinds have one form and ignore the form, as the export does.
    assert export_features("judgments", "hh") == export_features("judgments")
    with pytest.raises(ValueError, match="kind"):
        export_features("votes")
    with pytest.raises(ValueError, match="form"):
        export_features("pairs", "chatml")
    with pytest.raises(ValueError, match="format"):
        export_features("pairs", format="xlsx")


def test_export_features_without_datasets_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install datasets"):
        export_features("pairs")


def test_export_features_loads_without_django():
    code = (
        "import sys, arbiter_reward; features = arbiter_reward.export_features('judgments');"
        "assert 'django' not in sys.modules and 'annotator' not in sys.modules; print(features['shown'])"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=False)
    assert done.returncode == 0, done.stderr
    assert "int64" in done.stdout
