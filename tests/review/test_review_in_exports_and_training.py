"""A rejected judgment's pairs and labels leave exports and training unless asked for; `accepted`
keeps only accepted judgments' rows (no imported ones); `any` keeps everything."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from annotator import exports
from annotator.models import Comparison, Completion, Prompt
from annotator.review import judgment_review_accept, judgment_review_reject
from rewardtrain import selectors
from rewardtrain.config import InvalidTrainingOptions, TrainConfig
from tests import factories
from tests.review.conftest import judge

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(project, labeler, reviewer):
    """Three judged prompts (one accepted, one rejected, one not reviewed) and an imported pair."""
    factories.prompts(project, 3)
    judged = {name: judge(project, labeler, name) for name in ("accepted", "rejected", "open")}
    judgment_review_accept(judgment=judged["accepted"], actor=reviewer)
    judgment_review_reject(judgment=judged["rejected"], actor=reviewer, reason="Wrong.")
    prompt = Prompt.objects.create(project=project, external_id="imp", text="Imported prompt", queued=False)
    good, bad = (Completion.objects.create(prompt=prompt, text=text) for text in ("good", "bad"))
    imported = Comparison.objects.create(
        project=project,
        prompt=prompt,
        chosen=good,
        rejected=bad,
        source=Comparison.Source.IMPORTED,
    )
    return judged, imported


def exported_judgments(project, **params):
    options = exports.export_options_from(params, project=project)
    records = [
        json.loads(line) for line in "".join(exports.export_stream(project=project, options=options)).splitlines()
    ]
    return {record["judgment_id"] for record in records}


@pytest.mark.parametrize(
    "review, expected",
    [(None, {"accepted", "open", None}), ("not-rejected", {"accepted", "open", None}), ("accepted", {"accepted"}),
     ("any", {"accepted", "rejected", "open", None})],
)  # fmt: skip
def test_the_pairs_export_keeps_rows_by_review(project, reviewed, review, expected):
    judged, _ = reviewed
    ids = {name: judged[name].pk for name in judged} | {None: None}
    params = {"review": review} if review else {}
    assert exported_judgments(project, **params) == {ids[name] for name in expected}


def test_the_judgments_and_rankings_kinds_leave_out_rejected_judgments_too(project, reviewed):
    judged, _ = reviewed
    assert exported_judgments(project, kind="judgments") == {
        judged["accepted"].pk,
        judged["open"].pk,
    }
    assert judged["rejected"].pk in exported_judgments(project, kind="judgments", review="any")


def test_an_unknown_review_option_is_refused(project):
    with pytest.raises(exports.ExportOptionsError) as error:
        exports.export_options_from({"review": "maybe"}, project=project)
    assert "review" in error.value.errors


def test_the_export_command_takes_review(project, reviewed, tmp_path):
    judged, _ = reviewed
    out = tmp_path / "pairs.jsonl"
    call_command(
        "export_comparisons",
        project.slug,
        "--review",
        "accepted",
        "-o",
        str(out),
        stderr=StringIO(),
    )
    assert {json.loads(line)["judgment_id"] for line in out.read_text().splitlines()} == {judged["accepted"].pk}
    call_command("export_comparisons", project.slug, "-o", str(out), stderr=StringIO())
    assert judged["rejected"].pk not in {json.loads(line)["judgment_id"] for line in out.read_text().splitlines()}


def test_the_export_api_and_page_take_review(client, api_as, project, lead, reviewed):
    judged, _ = reviewed
    url = f"/api/v1/projects/{project.slug}/export/"
    default = b"".join(api_as(lead).get(url).streaming_content).decode()
    every = b"".join(api_as(lead).get(url, {"review": "any"}).streaming_content).decode()
    judgment_ids = lambda text: {json.loads(line)["judgment_id"] for line in text.splitlines()}
    assert judged["rejected"].pk not in judgment_ids(default) and judged["rejected"].pk in judgment_ids(every)
    assert api_as(lead).get(url, {"review": "maybe"}).status_code == 400
    client.force_login(lead)
    page = client.get(f"/projects/{project.slug}/export/", {"review": "accepted"})
    assert page.status_code == 200 and page.context["count"] == 1


def test_training_reads_pairs_by_review(project, reviewed):
    judged, _ = reviewed
    pair_sources = lambda review: {
        Comparison.objects.get(pk=pair.id).judgment_id
        for pair in selectors.training_pairs(project=project, review=review)
    }
    ids = {name: judged[name].pk for name in judged}
    assert {Comparison.objects.get(pk=p.id).judgment_id for p in selectors.training_pairs(project=project)} == {
        ids["accepted"],
        ids["open"],
        None,
    }
    assert pair_sources("accepted") == {ids["accepted"]}
    assert pair_sources("any") == {ids["accepted"], ids["rejected"], ids["open"], None}
    assert selectors.new_comparison_count(project=project) == 3  # the rejected judgment's pair is not new data


def test_training_reads_labels_by_review(db):
    project = factories.project(
        mode="classify",
        labels=["good", "bad"],
        positive_label="good",
        completions_shown=1,
    )
    lab, checker = (
        factories.member(project, "labeler"),
        factories.member(project, "reviewer"),
    )
    first_prompt, second_prompt = factories.prompts(project, 2, completions=1)
    first = judge(project, lab, "c1", labels={first_prompt.completions.get().pk: "good"})
    judge(project, lab, "c2", labels={second_prompt.completions.get().pk: "bad"})
    judgment_review_reject(judgment=first, actor=checker, reason="No.")
    assert [item.label for item in selectors.training_items(project=project)] == [1]
    assert len(selectors.training_items(project=project, review="any")) == 2
    assert selectors.training_items(project=project, review="accepted") == []


def test_a_run_takes_a_review_option_and_refuses_an_unknown_one():
    assert TrainConfig.from_dict({"review": "accepted"}).review == "accepted"
    assert TrainConfig().review == "not-rejected"
    with pytest.raises(InvalidTrainingOptions):
        TrainConfig(review="maybe")
