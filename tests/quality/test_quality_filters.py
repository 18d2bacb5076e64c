"""The export's quality filters (min_agreement, exclude_flagged, include_gold) and what training
leaves out, on a hand-judged pairwise project whose every answer is worked out below.

Overlap 3; prompts p0..p4 judged by ann, bob and zed, p5 by ann alone, p6 only imported. Each
labeler prefers a prompt's first completion ("good") unless said otherwise:
  p0  zed prefers the other          agreement 2/3
  p1  all agree                      agreement 1    (+ an imported pair)
  p2  all agree                      agreement 1
  p3  all agree, a gold prompt       agreement 1
  p4  bob prefers the other          agreement 2/3  (ann took 1 s: too fast)
  p5  ann alone                      no agreement figure
  p6  no judgments                   no agreement figure (an imported pair)
zed takes 0.5 s on each of 5 judgments, so the quality report flags zed for speed; ann (1 fast
of 6) and bob (5 s each) are not flagged. Every judgment gives one comparison.
"""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from annotator import selectors
from annotator.exports import ExportOptionsError, export_count, export_options_from, export_stream
from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Assignment, Classification, Comparison, Completion, Judgment, Project, Prompt
from annotator.queue import assignment_next_for
from rewardtrain.selectors import heldout_rankings, new_comparison_count, training_items, training_pairs
from tests import factories

pytestmark = pytest.mark.django_db

EVERYONE = {(who, p) for who in ("ann", "bob", "zed") for p in range(5)}
EVERYONE |= {("ann", 5), ("imported", 1), ("imported", 6)}
JUDGED = EVERYONE - {("imported", 1), ("imported", 6)}
GOLD = {("ann", 3), ("bob", 3), ("zed", 3)}
FLAGGED = {("zed", p) for p in range(5)} | {("ann", 4)}  # zed's judgments and ann's too-fast one


def judge_all(project, user, *, prefers_other=(), ms=5000, fast_on=()):
    """Judge every item the queue gives `user`, preferring the good completion except on the
    prompts numbered in `prefers_other`; 1 s on those in `fast_on`, else `ms`."""
    while (lease := assignment_next_for(annotator=user, project=project)) is not None:
        n = number(lease.prompt_id)
        good = Completion.objects.get(prompt_id=lease.prompt_id, text="good").pk
        picks_a = (lease.shown[0] == good) != (n in prefers_other)  # A is good, or A is bad and preferred
        choice = "a" if picks_a else "b"
        judgment_record(
            assignment=Assignment.objects.select_related("project").get(pk=lease.pk),
            result=JudgmentResult(choice=choice, time_spent_ms=1000 if n in fast_on else ms),
            client_id=f"{user.username}-{lease.pk}",
        )


def number(prompt_id):
    return int(Prompt.objects.get(pk=prompt_id).external_id[1:])


def new_prompt(project, n, **fields):
    prompt = Prompt.objects.create(project=project, external_id=f"p{n}", text=f"Question {n}", **fields)
    Completion.objects.create(prompt=prompt, text="good")
    Completion.objects.create(prompt=prompt, text="bad")
    return prompt


def make_gold(prompt):
    """The prompt a gold item whose expected ranking is its completions in id order."""
    ranking = list(prompt.completions.order_by("id").values_list("id", flat=True))
    Prompt.objects.filter(pk=prompt.pk).update(gold=ranking)


def imported_pair(project, prompt):
    good, bad = Completion.objects.get(prompt=prompt, text="good"), Completion.objects.get(prompt=prompt, text="bad")
    Comparison.objects.create(
        project=project, prompt=prompt, chosen=good, rejected=bad, source=Comparison.Source.IMPORTED
    )


@pytest.fixture
def judged():
    project = factories.project(slug="judged", overlap=3, min_seconds=2.0)
    prompts = [new_prompt(project, n) for n in range(5)]
    make_gold(prompts[3])  # good (made first) beats bad
    ann, bob, zed = (factories.member(project, "labeler", username=name) for name in ("ann", "bob", "zed"))
    judge_all(project, bob, prefers_other={4})
    judge_all(project, zed, prefers_other={0}, ms=500)
    new_prompt(project, 5)
    judge_all(project, ann, fast_on={4})
    imported_pair(project, prompts[1])
    imported_pair(project, new_prompt(project, 6, queued=False))
    assert Comparison.objects.filter(project=project).count() == len(EVERYONE)
    assert selectors.flagged_labelers(project=project) == {"zed"}
    return project


def row_key(record):
    return (record["annotator"] or "imported", int(record["prompt_id"][1:]))


def exported(project, **params):
    options = export_options_from({"format": "jsonl", **params}, project=project)
    rows = [json.loads(line) for line in "".join(export_stream(project=project, options=options)).splitlines()]
    # The page's preview counts what the download writes, under every filter.
    assert export_count(project=project, options=options) == len(rows)
    return rows


def keys(project, **params):
    rows = [row_key(r) for r in exported(project, **params)]
    assert len(rows) == len(set(rows))
    return set(rows)


def on_prompts(*numbers):
    return {key for key in EVERYONE if key[1] in numbers}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, EVERYONE - GOLD),  # gold prompts are a test of labelers: left out by default
        ({"include_gold": "true"}, EVERYONE),
        ({"exclude_flagged": "true"}, EVERYONE - GOLD - FLAGGED),  # imported pairs stay
        ({"exclude_flagged": "true", "include_gold": "true"}, EVERYONE - FLAGGED),
        # p5 and p6 have no agreement figure: left out once the filter is given, whatever its value
        ({"min_agreement": "0"}, on_prompts(0, 1, 2, 4)),
        ({"min_agreement": "0.6"}, on_prompts(0, 1, 2, 4)),
        ({"min_agreement": "0.67"}, on_prompts(1, 2)),  # 2/3 is under 0.67
        ({"min_agreement": "1", "include_gold": "true"}, on_prompts(1, 2, 3)),
        ({"min_agreement": "0.5", "exclude_flagged": "true"}, on_prompts(0, 1, 2, 4) - FLAGGED),
        ({"min_agreement": "0.5", "labelers": "bob"}, {("bob", 0), ("bob", 1), ("bob", 2), ("bob", 4)}),
        ({"source": "imported", "min_agreement": "0.9"}, {("imported", 1)}),
    ],
)
def test_pairs_export_filters(judged, params, expected):
    assert keys(judged, **params) == expected


def test_the_judgments_kind_keeps_gold_and_marks_it_and_repeats(judged):
    first = Judgment.objects.get(annotator__username="ann", prompt__external_id="p0")
    later = Judgment.objects.get(annotator__username="ann", prompt__external_id="p5")
    Judgment.objects.filter(pk=later.pk).update(repeat_of=first)  # stands in for a swapped repeat
    rows = exported(judged, kind="judgments")
    assert {row_key(r) for r in rows} == JUDGED
    assert {row_key(r) for r in rows if r["gold"]} == GOLD
    assert {row_key(r): r["repeat_of"] for r in rows if r["repeat_of"]} == {("ann", 5): first.pk}
    assert {row_key(r) for r in exported(judged, kind="judgments", exclude_flagged="true")} == JUDGED - FLAGGED
    assert {row_key(r) for r in exported(judged, kind="judgments", min_agreement="1")} == on_prompts(1, 2, 3) & JUDGED


def test_the_filters_count_the_split_too(judged):
    for split in ("train", "heldout"):
        exported(judged, split=split, exclude_flagged="true", min_agreement="0.5")


@pytest.mark.parametrize("value", ["1.5", "-0.1", "most", "nan"])
def test_min_agreement_must_be_a_share(value):
    with pytest.raises(ExportOptionsError) as error:
        export_options_from({"min_agreement": value})
    assert error.value.errors == {"min_agreement": "Must be a number from 0 to 1."}


def test_strict_flags_are_true_or_false():
    with pytest.raises(ExportOptionsError) as error:
        export_options_from({"exclude_flagged": "yes", "include_gold": "1"}, strict=True)
    assert set(error.value.errors) == {"exclude_flagged", "include_gold"}


def test_the_command_takes_the_filters(judged, tmp_path):
    target = tmp_path / "pairs.jsonl"
    call_command("export_comparisons", "judged", "--exclude-flagged", "--min-agreement", "0.5", "-o", str(target),
                 stderr=io.StringIO())  # fmt: skip
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert {row_key(r) for r in rows} == on_prompts(0, 1, 2, 4) - FLAGGED
    out = io.StringIO()
    call_command("export_comparisons", "judged", "--include-gold", stdout=out)
    assert {row_key(json.loads(line)) for line in out.getvalue().splitlines()} == EVERYONE


def test_the_api_takes_the_filters(judged):
    lead = factories.member(judged, "lead", username="lead")
    client = APIClient()
    client.force_authenticate(lead)
    url = "/api/v1/projects/judged/export/"
    response = client.get(url, {"exclude_flagged": "true", "include_gold": "true", "min_agreement": "0.9"})
    assert response.status_code == 200
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert {row_key(r) for r in rows} == on_prompts(1, 2, 3) - FLAGGED
    refused = client.get(url, {"min_agreement": "2"})
    assert refused.status_code == 400 and "min_agreement" in refused.content.decode()


def test_the_export_page_takes_the_filters(judged, client):
    client.force_login(factories.member(judged, "lead", username="lead"))
    page = client.get("/projects/judged/export/", {"exclude_flagged": "on", "min_agreement": "0.5"})
    assert page.status_code == 200
    assert f"{len(on_prompts(0, 1, 2, 4) - FLAGGED)} rows with these filters." in page.content.decode()


def pair_keys(project):
    owners = dict(Comparison.objects.filter(project=project).values_list("id", "annotator__username"))
    prompts = dict(Comparison.objects.filter(project=project).values_list("id", "prompt__external_id"))
    return {(owners[pair.id] or "imported", int(prompts[pair.id][1:])) for pair in training_pairs(project=project)}


def test_training_leaves_out_gold_and_with_the_setting_flagged_labelers_and_fast_judgments(judged):
    assert pair_keys(judged) == EVERYONE - GOLD
    assert new_comparison_count(project=judged) == len(EVERYONE - GOLD)
    Project.objects.filter(pk=judged.pk).update(exclude_flagged_from_training=True)
    judged.refresh_from_db()
    assert pair_keys(judged) == EVERYONE - GOLD - FLAGGED
    assert new_comparison_count(project=judged) == len(EVERYONE - GOLD - FLAGGED)


def test_classify_training_leaves_out_gold_labels_and_keeps_imported_ones():
    project = factories.project(mode="classify", labels=["ok", "bad"], positive_label="ok", completions_shown=1)
    gold, plain = (new_prompt(project, n) for n in range(2))
    make_gold(gold)
    labeler = factories.member(project, "labeler", username="ann")
    while (lease := assignment_next_for(annotator=labeler, project=project)) is not None:
        judgment_record(
            assignment=Assignment.objects.select_related("project").get(pk=lease.pk),
            result=JudgmentResult(labels={lease.shown[0]: "ok"}, time_spent_ms=5000),
            client_id=f"ann-{lease.pk}",
        )
    humans = Classification.objects.filter(project=project, source="human")
    assert set(humans.values_list("prompt_id", flat=True)) == {gold.pk, plain.pk}
    imported = Classification.objects.create(
        project=project, prompt=gold, completion=Completion.objects.filter(prompt=gold).first(), label="bad",
        source=Comparison.Source.IMPORTED,
    )
    trained = {item.id for item in training_items(project=project)}
    assert trained == set(humans.filter(prompt=plain).values_list("id", flat=True)) | {imported.pk}
    labels = exported(project, kind="labels")
    assert sorted((r["prompt_id"], r["source"]) for r in labels) == sorted(
        [("p1", "human")] * humans.filter(prompt=plain).count() + [("p0", "imported")]
    )
    everything = Classification.objects.filter(project=project).count()
    assert len(exported(project, kind="labels", include_gold="true")) == everything


def test_rankings_leave_out_gold_and_training_holds_no_gold_ranking_out():
    project = factories.project(mode="ranking", completions_shown=3)
    prompts = factories.prompts(project, 2, completions=3)
    make_gold(prompts[0])
    labeler = factories.member(project, "labeler", username="ann")
    while (lease := assignment_next_for(annotator=labeler, project=project)) is not None:
        judgment_record(
            assignment=Assignment.objects.select_related("project").get(pk=lease.pk),
            result=JudgmentResult(ranking=list(lease.shown), time_spent_ms=5000),
            client_id=f"ann-{lease.pk}",
        )
    assert [r["prompt_id"] for r in exported(project, kind="rankings")] == [prompts[1].external_id]
    assert len(exported(project, kind="rankings", include_gold="true")) == 2
    pairs = exported(project)  # a ranking of 3 gives 3 pairs
    assert {r["prompt_id"] for r in pairs} == {prompts[1].external_id} and len(pairs) == 3
    everything = heldout_rankings(project=project, fraction=1.0)  # every prompt held out
    assert [prompt for prompt, _ in everything] == [prompts[1].text]


def test_parquet_and_csv_carry_gold_and_repeat_of(judged):
    options = export_options_from({"kind": "judgments", "format": "parquet"}, project=judged)
    table = pq.read_table(io.BytesIO(b"".join(export_stream(project=judged, options=options))))
    assert table.schema.field("gold").type == pa.bool_() and table.schema.field("repeat_of").type == pa.int64()
    assert sum(table.column("gold").to_pylist()) == len(GOLD) and set(table.column("repeat_of").to_pylist()) == {None}
    options = export_options_from({"kind": "judgments", "format": "csv"}, project=judged)
    header = "".join(export_stream(project=judged, options=options)).splitlines()[0]
    assert header.endswith(",split,gold,repeat_of")
