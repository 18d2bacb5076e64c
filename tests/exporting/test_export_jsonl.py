import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from annotator.exports import export_stream
from annotator.imports import import_file
from annotator.judgments import JudgmentResult, judgment_record
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db

# Today's columns in today's order, then what issue 7 added.
FIELDS = ["prompt", "chosen", "rejected", "prompt_id", "chosen_id", "rejected_id", "annotator", "source", "created_at",
          "margin", "split", "judgment_id"]


def export_jsonl_lines(*, project):
    return "".join(export_stream(project=project)).splitlines(keepends=True)


@pytest.fixture
def judged(project, labeler):
    """One human comparison and one imported pair with non-ASCII text."""
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(choice="b"), client_id="c1")
    pair = {"prompt": "Café?", "chosen": "Oui ☕", "rejected": "Non", "prompt_id": "fr-1"}
    import_file(project=project, data=json.dumps(pair).encode(), filename="pairs.jsonl")
    return assignment


def test_each_line_is_a_json_object_with_exactly_the_export_fields(project, judged):
    lines = list(export_jsonl_lines(project=project))
    assert len(lines) == 2 and all(line.endswith("\n") for line in lines)
    records = [json.loads(line) for line in lines]
    assert all(list(r) == FIELDS for r in records)
    human, imported = records
    assert human["chosen_id"] == judged.shown[1] and human["rejected_id"] == judged.shown[0]
    assert human["annotator"] == "labeler" and human["source"] == "human"
    assert human["prompt_id"] == judged.prompt.external_id and human["prompt"] == judged.prompt.text
    assert (imported["prompt"], imported["chosen"], imported["rejected"]) == ("Café?", "Oui ☕", "Non")
    assert (imported["prompt_id"], imported["annotator"], imported["source"]) == ("fr-1", None, "imported")
    assert imported["created_at"].startswith(str(judged.created_at.year)) and "T" in imported["created_at"]


def test_export_reads_back_as_pairs(project, judged):
    """The download is what import --format pairs takes: moving labels between projects works."""
    data = "".join(export_jsonl_lines(project=project)).encode()
    other = factories.project()
    report = import_file(project=other, data=data, filename="export.jsonl")
    assert report.format == "pairs" and report.comparisons_created == 2


def test_export_of_a_project_holds_only_its_own_comparisons(project, judged):
    other = factories.project()
    import_file(project=other, data=b'{"prompt": "p", "chosen": "a", "rejected": "b"}', format="pairs")
    assert len(list(export_jsonl_lines(project=project))) == 2
    assert [json.loads(line)["prompt"] for line in export_jsonl_lines(project=other)] == ["p"]


def test_command_writes_to_the_output_file(project, judged, tmp_path):
    path = tmp_path / "out.jsonl"
    call_command("export_comparisons", project.slug, "-o", str(path))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["source"] for r in records] == ["human", "imported"]
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_command_writes_to_stdout_without_output_file(project, judged, capsys):
    call_command("export_comparisons", project.slug, "--format", "jsonl")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and {"prompt", "chosen", "rejected"} <= set(json.loads(lines[1]))


def test_lead_download_streams_an_attachment(client, project, lead, judged):
    client.force_login(lead)
    response = client.get(reverse("project_export", args=[project.slug]), {"download": "1"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith(f'attachment; filename="{project.slug}-pairs-')
    body = b"".join(response.streaming_content).decode()
    assert [json.loads(line)["source"] for line in body.splitlines()] == ["human", "imported"]


def test_download_is_for_leads_only(client, project, labeler, outsider, judged):
    url = reverse("project_export", args=[project.slug])
    client.force_login(labeler)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
