"""Prompts a lead took out of the queue leave exports (unless include_taken_out) and training."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from annotator.exports import export_options_from, export_stream
from annotator.prompt_actions import prompts_take_out
from rewardtrain.selectors import heldout_rankings, new_comparison_count, training_pairs

pytestmark = pytest.mark.django_db


def prompts_of(project, **params):
    options = export_options_from({"format": "jsonl", **params})
    return sorted(json.loads(line)["prompt"] for line in "".join(export_stream(project=project, options=options)).splitlines())


@pytest.fixture
def taken_out(data, lead):
    prompts_take_out(project=data.project, prompt_ids=[data.prompts["held"].pk], actor=lead)
    return data


@pytest.mark.parametrize("kind", ["pairs", "judgments"])
def test_export_leaves_taken_out_prompts_out_unless_asked(taken_out, kind):
    assert "Q held 4" not in prompts_of(taken_out.project, kind=kind)
    assert "Q held 4" in prompts_of(taken_out.project, kind=kind, include_taken_out="true")


def test_the_api_page_and_command_take_the_option(taken_out, lead, client, tmp_path):
    slug = taken_out.project.slug
    api = APIClient()
    api.force_authenticate(lead)
    url = f"/api/v1/projects/{slug}/export/"
    count = lambda response: len(b"".join(response.streaming_content).splitlines())  # noqa: E731
    assert count(api.get(url)) == 2 and count(api.get(url, {"include_taken_out": "true"})) == 3
    assert api.get(url, {"include_taken_out": "maybe"}).status_code == 400
    client.force_login(lead)
    page = reverse("project_export", args=[slug])
    assert "2 rows with these filters" in client.get(page, {"kind": "pairs"}).content.decode()
    with_taken_out = client.get(page, {"kind": "pairs", "include_taken_out": "on"}).content.decode()
    assert "3 rows with these filters" in with_taken_out and 'name="include_taken_out"' in with_taken_out
    target = tmp_path / "out.jsonl"
    call_command("export_comparisons", slug, "--include-taken-out", "-o", str(target), stderr=io.StringIO())
    assert len(target.read_text().splitlines()) == 3
    call_command("export_comparisons", slug, "-o", str(target), stderr=io.StringIO())
    assert len(target.read_text().splitlines()) == 2


def test_training_reads_no_row_of_a_taken_out_prompt(data, lead):
    before = {pair.prompt for pair in training_pairs(project=data.project)}
    assert "Q held 4" in before
    prompts_take_out(project=data.project, prompt_ids=[data.prompts["held"].pk, data.prompts["train"].pk], actor=lead)
    assert training_pairs(project=data.project) == []
    assert new_comparison_count(project=data.project) == 0
    assert heldout_rankings(project=data.project, fraction=1.0) == []
