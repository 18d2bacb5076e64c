"""An export with no rows: `datasets` loads no 0-row file of any format, so the API and the export
page say plainly that there is nothing to export instead of handing over such a file."""

import io
import json

import pyarrow as pa
import pytest
from datasets import load_dataset
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from annotator.export_formats import csv_lines, jsonl_lines, parquet_chunks

pytestmark = pytest.mark.django_db

KINDS = [("pairs", "explicit"), ("pairs", "conversational"), ("pairs", "hh"), ("rankings", "explicit"),
         ("judgments", "explicit"), ("labels", "explicit")]
FORMATS = ["jsonl", "csv", "parquet"]


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(project):
    return f"/api/v1/projects/{project.slug}/export/"


@pytest.mark.parametrize(
    "loader, pieces",
    [("json", lambda: jsonl_lines([])), ("csv", lambda: csv_lines([], ["prompt", "chosen"])),
     ("parquet", lambda: parquet_chunks([], pa.schema([("prompt", pa.string())])))],
)
def test_datasets_loads_no_file_without_rows_even_with_its_columns(tmp_path, loader, pieces):
    # Why the export refuses rather than sends an empty file: were this to start passing, an
    # empty CSV or Parquet export could be sent again.
    path = tmp_path / f"empty.{loader}"
    path.write_bytes(b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces()))
    with pytest.raises((ValueError, StopIteration)):  # JSON: the reader's StopIteration escapes
        load_dataset(loader, data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize("kind, form", KINDS)
def test_api_says_there_is_nothing_to_export_for_every_format_and_kind(project, lead, file_format, kind, form):
    response = api(lead).get(url(project), {"format": file_format, "kind": kind, "form": form})
    assert response.status_code == 409 and response["Content-Type"] == "application/json"
    assert "Content-Disposition" not in response
    assert response.json()["detail"].startswith("Nothing to export: no rows match these options")


def test_api_says_so_when_the_filters_leave_no_row(data, lead):
    for params in ({"labelers": "nobody"}, {"kind": "rankings", "split": "heldout"}, {"since": "2027-01-01T00:00:00Z"}):
        assert api(lead).get(url(data.project), params).status_code == 409, params
    response = api(lead).get(url(data.project), {"kind": "rankings", "split": "train"})
    assert response.status_code == 200
    assert [json.loads(line)["completions"] for line in b"".join(response.streaming_content).decode().splitlines()] == [
        ["two", "one"]
    ]


def test_labelers_and_outsiders_learn_nothing_from_an_empty_export(project, labeler, outsider):
    assert api(labeler).get(url(project)).status_code == 403
    assert api(outsider).get(url(project)).status_code == 404


@pytest.mark.parametrize("file_format", FORMATS)
def test_export_page_shows_a_message_instead_of_an_empty_download(client, project, lead, file_format):
    client.force_login(lead)
    response = client.get(reverse("project_export", args=[project.slug]), {"format": file_format, "download": "1"})
    assert response.status_code == 200 and "Content-Disposition" not in response
    page = response.content.decode()
    assert "Nothing to export: no rows match these filters." in page and "0 rows with these filters" in page


def test_export_page_still_downloads_a_file_that_has_rows(client, data, lead):
    client.force_login(lead)
    response = client.get(reverse("project_export", args=[data.project.slug]), {"format": "csv", "download": "1"})
    assert response["Content-Disposition"].startswith(f'attachment; filename="{data.project.slug}-pairs-')
    assert len(list(io.StringIO(b"".join(response.streaming_content).decode()))) == 4


@pytest.mark.parametrize("file_format", FORMATS)
def test_the_command_still_writes_the_empty_file_and_warns_that_it_has_no_rows(project, tmp_path, capsys, file_format):
    out = tmp_path / f"empty.{file_format}"
    call_command("export_comparisons", project.slug, "--format", file_format, "-o", str(out))
    assert out.exists()
    assert "Nothing to export: no rows match these options" in capsys.readouterr().err


def test_the_command_says_nothing_when_there_are_rows(data, tmp_path, capsys):
    call_command("export_comparisons", data.project.slug, "-o", str(tmp_path / "pairs.jsonl"))
    assert "Nothing to export" not in capsys.readouterr().err
