"""The labels export of a classify project: one row per classification, human and imported,
in the form the labels import reads back."""

import csv
import io
import json
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from annotator.exports import annotator_hash, export_count, export_options_from, export_stream
from annotator.imports import import_file
from annotator.models import Classification, Completion, Judgment, Prompt
from annotator.projects import project_create
from rewardtrain.data import split_labelled
from rewardtrain.selectors import training_items
from tests import factories

pytestmark = pytest.mark.django_db

LABELS = ["not hate", "hate"]
IMPORTED = [
    {"prompt": "Reply to the post", "completion": "Thanks, good point.", "label": "not hate"},
    {"prompt": "Reply to the post", "completion": "People like you should vanish.", "label": "hate"},
    {"prompt": "Describe your neighbours", "completion": "They are kind, \"mostly\".", "label": "not hate"},
    {"prompt": "Describe your neighbours", "completion": "Vermin, all of them.", "label": "hate"},
    {"prompt": "Greet a newcomer", "completion": "Welcome aboard!\nGlad you're here.", "label": "not hate"},
]


@pytest.fixture
def classify():
    return project_create(slug="moderation", mode="classify", labels=LABELS, positive_label="not hate", completions_shown=1)


@pytest.fixture
def imported(classify):
    import_file(project=classify, data="\n".join(json.dumps(r) for r in IMPORTED).encode(), filename="labels.jsonl")
    return classify


def exported(project, tmp_path, **params):
    """The export written to a file, as the command writes it; returns its path."""
    options = export_options_from(params, project=project)
    path = tmp_path / options.filename(project.slug)
    pieces = list(export_stream(project=project, options=options))
    if options.format == "parquet":
        path.write_bytes(b"".join(pieces))
    else:
        path.write_text("".join(pieces), encoding="utf-8", newline="")
    return path


def core(rows):
    return sorted((r["prompt"], r["completion"], r["label"]) for r in rows)


def loaded(path, tmp_path):
    from datasets import load_dataset

    builder = "parquet" if path.suffix == ".parquet" else "json"
    return load_dataset(builder, data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))


@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
def test_an_imported_labels_file_round_trips_through_datasets(imported, tmp_path, file_format):
    path = exported(imported, tmp_path, format=file_format)
    assert path.name == f"moderation-labels.{file_format}"  # labels: the default kind of a classify project
    rows = loaded(path, tmp_path)
    assert rows.column_names == [
        "prompt", "completion", "label", "prompt_id", "completion_id", "annotator", "source", "created_at",
        "split", "judgment_id",
    ]  # fmt: skip
    assert core(rows) == core(IMPORTED)
    assert set(rows["source"]) == {"imported"} and set(rows["annotator"]) == {None}
    assert set(rows["judgment_id"]) == {None}


def test_the_csv_export_has_the_same_rows(imported, tmp_path):
    path = exported(imported, tmp_path, format="csv")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert core(rows) == core(IMPORTED)
    assert rows[0]["created_at"] and rows[0]["annotator"] == ""


@pytest.mark.parametrize("file_format", ["jsonl", "csv", "parquet"])
def test_an_export_imports_back_into_another_classify_project_unchanged(imported, tmp_path, file_format):
    path = exported(imported, tmp_path, format=file_format)
    copy = project_create(slug="copy", mode="classify", labels=LABELS, positive_label="not hate", completions_shown=1)
    report = import_file(project=copy, data=path.read_bytes(), filename=path.name)
    assert report.classifications_created == len(IMPORTED)

    def rows(project):
        return sorted(
            Classification.objects.filter(project=project).values_list(
                "prompt__external_id", "prompt__text", "completion__text", "label"
            )
        )

    assert rows(copy) == rows(imported)


def human_label(project, username, completion, label, when=None):
    """A labeler's classification as judgment_record stores it: a judgment and its row."""
    user = factories.member(project, "labeler", username=username)
    judgment = Judgment.objects.create(
        annotator=user, prompt=completion.prompt, shown=[completion.pk], labels={str(completion.pk): label},
        client_id=f"{username}-{completion.pk}",
    )  # fmt: skip
    row = Classification.objects.create(
        project=project, prompt=completion.prompt, completion=completion, label=label, judgment=judgment,
        annotator=user, source="human",
    )  # fmt: skip
    if when is not None:
        Classification.objects.filter(pk=row.pk).update(created_at=when)
    return row


def test_human_classifications_export_with_their_labeler_and_judgment(classify, tmp_path):
    prompt = Prompt.objects.create(project=classify, external_id="q1", text="Say something")
    completion = Completion.objects.create(prompt=prompt, text="You are all idiots.")
    row = human_label(classify, "alice", completion, "hate")
    (record,) = [json.loads(line) for line in exported(classify, tmp_path).read_text().splitlines()]
    assert record == {
        "prompt": "Say something", "completion": "You are all idiots.", "label": "hate", "prompt_id": "q1",
        "completion_id": completion.pk, "annotator": "alice", "source": "human",
        "created_at": row.created_at.isoformat(), "split": "train", "judgment_id": row.judgment_id,
    }  # fmt: skip
    (hashed,) = [json.loads(line) for line in exported(classify, tmp_path, hash_annotators="1").read_text().splitlines()]
    assert hashed["annotator"] == annotator_hash("alice") != "alice"
    rows = loaded(exported(classify, tmp_path, format="parquet"), tmp_path)
    assert (rows["annotator"], rows["label"], rows["judgment_id"]) == (["alice"], ["hate"], [row.judgment_id])


def test_the_filters_apply_and_the_split_is_trainings(imported, tmp_path):
    completion = Completion.objects.get(text="Thanks, good point.")
    human_label(imported, "alice", completion, "hate", when=datetime(2026, 1, 10, tzinfo=timezone.utc))

    def records(**params):
        path = exported(imported, tmp_path, **params)
        assert export_count(project=imported, options=export_options_from(params, project=imported)) == len(
            path.read_text().splitlines()
        )
        return [json.loads(line) for line in path.read_text().splitlines()]

    assert len(records()) == 6
    assert [r["annotator"] for r in records(source="human")] == ["alice"]
    assert len(records(source="imported")) == 5
    assert [r["annotator"] for r in records(until="2026-01-11")] == ["alice"]
    assert len(records(since="2026-01-11")) == 5
    assert [r["annotator"] for r in records(labelers="alice")] == ["alice"]

    # The split is the one training makes (stratified by label, so each side depends on the others).
    _train, heldout = split_labelled(training_items(project=imported))
    held_prompts = {item.prompt for item in heldout}
    assert held_prompts  # two prompts of a label: one of them is held out
    for record in records():
        assert record["split"] == ("heldout" if record["prompt"] in held_prompts else "train")
    assert {r["prompt"] for r in records(split="heldout")} == held_prompts
    assert len(records(split="train")) + len(records(split="heldout")) == 6


def test_the_default_kind_follows_the_mode_and_another_kind_is_an_empty_export(imported, project):
    assert export_options_from({}, project=imported).kind == "labels"
    assert export_options_from({}, project=project).kind == "pairs"
    assert export_options_from({}).kind == "pairs"  # no project given: the pairwise default
    for kind, of in (("pairs", imported), ("labels", project)):
        options = export_options_from({"kind": kind}, project=of)
        assert "".join(export_stream(project=of, options=options)) == ""
        assert export_count(project=of, options=options) == 0


def test_the_command_and_the_api_default_to_labels_for_a_classify_project(imported, tmp_path):
    out = tmp_path / "out.csv"
    call_command("export_comparisons", imported.slug, "--format", "csv", "-o", str(out))
    assert out.read_text(encoding="utf-8").startswith("prompt,completion,label,prompt_id,")
    call_command("export_comparisons", imported.slug, "--kind", "judgments", "--format", "csv", "-o", str(out))
    assert out.read_text(encoding="utf-8").startswith("judgment_id,")

    lead = factories.member(imported, "lead", username="moderation-lead")
    client = APIClient()
    client.force_authenticate(lead)
    response = client.get(f"/api/v1/projects/{imported.slug}/export/", {"format": "parquet"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="moderation-labels.parquet"'
    table = pq.read_table(io.BytesIO(b"".join(response.streaming_content)))
    assert core(table.to_pylist()) == core(IMPORTED)
    response = client.get(f"/api/v1/projects/{imported.slug}/export/", {"kind": "pairs"})
    assert response.status_code == 409 and response.json()["detail"].startswith("Nothing to export")


def test_the_export_page_of_a_classify_project_defaults_to_labels(client, db):
    from tests import factories

    project = factories.project(mode="classify", labels=["not hate", "hate"], positive_label="not hate", completions_shown=1)
    lead = factories.member(project, "lead")
    client.force_login(lead)
    page = client.get(f"/projects/{project.slug}/export/")
    assert page.status_code == 200
    assert 'value="labels" selected' in page.content.decode()


def test_the_judgments_kind_carries_each_shown_completions_label(db):
    from annotator.judgments import JudgmentResult, judgment_record
    from annotator.queue import assignment_next_for

    project = factories.project(mode="classify", labels=["not hate", "hate"], positive_label="not hate", completions_shown=2)
    labeler = factories.member(project, "labeler", username="carol")
    prompt = Prompt.objects.create(project=project, external_id="p", text="tell me")
    kind, rude = (Completion.objects.create(prompt=prompt, text=t) for t in ("kind", "rude"))
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(labels={kind.id: "not hate"}, excluded=[rude.id]), client_id="j")
    options = export_options_from({"kind": "judgments"}, project=project)
    (row,) = [json.loads(line) for line in "".join(export_stream(project=project, options=options)).splitlines()]
    assert row["labels"] == ["not hate" if i == kind.id else None for i in row["shown"]] and row["excluded"] == [rude.id]
