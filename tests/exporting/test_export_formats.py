"""CSV and Parquet exports, what `datasets` loads of every format and kind, and the HH round trip."""

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from django.core.management import call_command
from django.core.management.base import CommandError

from annotator import export_formats
from annotator.exports import export_options_from, export_stream
from annotator.imports import import_file
from tests import factories

pytestmark = pytest.mark.django_db


def export_bytes(project, **params):
    pieces = export_stream(project=project, options=export_options_from(params))
    return b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces)


@pytest.mark.parametrize("value", ["=SUM(A1)", "+1", "-edited", "@ look", "\tx", "\rx"])
def test_csv_neutralises_a_cell_a_spreadsheet_would_run(value):
    assert export_formats.csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "a=b", " =x", "", "'quoted"])
def test_csv_leaves_other_cells_as_they_are(value):
    assert export_formats.csv_cell(value) == value


def test_csv_export_neutralises_texts_and_jsonl_keeps_them_raw(data):
    rows = list(csv.DictReader(io.StringIO(export_bytes(data.project, format="csv", kind="judgments").decode())))
    assert (rows[0]["shown_texts"], rows[0]["comment"], rows[0]["edited_text"]) == (
        '["=SUM(A1)", "plain"]', "'@ look", "'-edited"
    )
    assert rows[0]["edit_original_text"] == "'=SUM(A1)" and rows[1]["edited_text"] == ""
    line = json.loads(export_bytes(data.project, kind="judgments").decode().splitlines()[0])
    assert (line["comment"], line["edited_text"]) == ("@ look", "-edited")


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_text_exports_stream_in_pieces_of_whole_rows(data, monkeypatch, file_format):
    monkeypatch.setattr(export_formats, "BATCH_ROWS", 2)
    pieces = list(export_stream(project=data.project, options=export_options_from({"format": file_format})))
    header = 1 if file_format == "csv" else 0
    assert [piece.count("\n") for piece in pieces] == [2 + header, 1]


def test_parquet_is_written_in_row_groups_with_the_fixed_schema(data, monkeypatch, tmp_path):
    monkeypatch.setattr(export_formats, "PARQUET_ROW_GROUP_ROWS", 2)
    path = tmp_path / "pairs.parquet"
    path.write_bytes(export_bytes(data.project, format="parquet"))
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups == 2 and parquet.metadata.num_rows == 3
    assert parquet.schema_arrow.names[:3] == ["prompt", "chosen", "rejected"]
    table = parquet.read()
    assert table.column("margin").to_pylist() == [1.0, 0.0, 0.0]
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"


def test_an_empty_parquet_export_still_has_the_schema(project, tmp_path):
    path = tmp_path / "empty.parquet"
    path.write_bytes(export_bytes(project, format="parquet", kind="rankings"))
    table = pq.read_table(path)
    assert table.num_rows == 0 and "completions" in table.schema.names


@pytest.mark.parametrize("file_format, loader", [("jsonl", "json"), ("csv", "csv"), ("parquet", "parquet")])
@pytest.mark.parametrize(
    "kind, form, rows",
    [("pairs", "explicit", 3), ("pairs", "conversational", 3), ("pairs", "hh", 3), ("rankings", "explicit", 1),
     ("judgments", "explicit", 2)],
)
def test_datasets_loads_every_format_and_kind(data, tmp_path, file_format, loader, kind, form, rows):
    path = tmp_path / f"export.{file_format}"
    path.write_bytes(export_bytes(data.project, format=file_format, kind=kind, form=form))
    dataset = load_dataset(loader, data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert dataset.num_rows == rows
    first = dataset[0]
    if kind == "pairs" and form == "conversational" and file_format != "csv":
        assert first["chosen"] == [{"role": "assistant", "content": "-edited"}]
    if kind == "rankings" and file_format != "csv":
        assert first["completions"] == ["two", "one"]
    if kind == "pairs" and form == "explicit":
        assert (first["prompt"], first["split"]) == ("Q held 4", "heldout")


HH_LINES = [
    {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away."},
    {  # several turns, a reply that starts with the same words, trailing spaces and an empty reply
        "chosen": "\n\nHuman: A cat name?\n\nAssistant: Miso.\n\nHuman: More?\n\nAssistant: Sure: Tofu.  ",
        "rejected": "\n\nHuman: A cat name?\n\nAssistant: Miso.\n\nHuman: More?\n\nAssistant:",
    },
    {"chosen": "\n\nHuman: Two spaces\n\nAssistant:  wide", "rejected": "\n\nHuman: Two spaces\n\nAssistant:\tTabbed"},
]


def test_importing_hh_and_exporting_hh_gives_each_dialogue_back_byte_for_byte(project):
    data = "".join(json.dumps(line) + "\n" for line in HH_LINES).encode()
    assert import_file(project=project, data=data, format="hh").comparisons_created == 3
    exported = [json.loads(line) for line in export_bytes(project, form="hh").decode().splitlines()]
    assert [{"chosen": e["chosen"], "rejected": e["rejected"]} for e in exported] == HH_LINES


def test_hh_dialogues_export_as_conversational_turns_that_import_back_as_the_same_rows(project):
    # Not the third line: a reply with no space after "Assistant:" ("\tTabbed") comes back with
    # one, as every conversational reply is rendered (README, conversational form).
    data = "".join(json.dumps(line) + "\n" for line in HH_LINES[:2]).encode()
    import_file(project=project, data=data, format="hh")
    exported = export_bytes(project, form="conversational")
    second = json.loads(exported.decode().splitlines()[1])
    assert second["prompt"] == [
        {"role": "user", "content": "A cat name?"},
        {"role": "assistant", "content": "Miso."},
        {"role": "user", "content": "More?"},
    ]
    assert second["chosen"] == [{"role": "assistant", "content": "Sure: Tofu.  "}]
    assert second["rejected"] == [{"role": "assistant", "content": ""}]
    report = import_file(project=project, data=exported, format="pairs")
    assert (report.prompts_created, report.completions_created, report.comparisons_created) == (0, 0, 0)


def test_command_writes_parquet_with_filters(data, tmp_path):
    path = tmp_path / "out.parquet"
    call_command("export_comparisons", data.project.slug, "--format", "parquet", "--labelers", "bob", "-o", str(path))
    assert pq.read_table(path).column("annotator").to_pylist() == ["bob"]
    assert not (tmp_path / "out.parquet.partial").exists()


def test_command_writes_csv_rankings_to_stdout(data, capsys):
    call_command("export_comparisons", data.project.slug, "--format", "csv", "--kind", "rankings")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [json.loads(r["completions"]) for r in rows] == [["two", "one"]]


def test_command_refuses_a_bad_time(data):
    with pytest.raises(CommandError, match="since"):
        call_command("export_comparisons", data.project.slug, "--since", "last week")


def test_export_reads_only_its_own_project(data):
    other = factories.project()
    assert export_bytes(other) == b"" and export_bytes(other, format="csv").decode().startswith("prompt,chosen")
