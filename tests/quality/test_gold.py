"""Gold items: the import's `gold` field (completion indexes best first), labelers' accuracy on
them, and gold prompts left out of training pairs and of the pairs export by default."""

import json
import uuid

import pytest

from annotator import selectors
from annotator.imports import ImportFailed, import_file
from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Assignment, Completion, Prompt
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def lines(*records):
    return "\n".join(json.dumps(r) for r in records).encode()


def test_gold_indexes_become_the_prompts_expected_ranking():
    project = factories.project()
    import_file(project=project, data=lines(
        {"id": "g1", "prompt": "Q1", "completions": ["worse", "better"], "gold": [1, 0]},
        {"id": "n1", "prompt": "Q2", "completions": ["x", "y"]},
    ), filename="p.jsonl")  # fmt: skip
    g1 = Prompt.objects.get(external_id="g1")
    texts = dict(Completion.objects.filter(prompt=g1).values_list("id", "text"))
    assert [texts[i] for i in g1.gold] == ["better", "worse"]
    assert Prompt.objects.get(external_id="n1").gold is None


@pytest.mark.parametrize("gold", [[0], [0, 0], [0, 2], "a", [True, 0], {"best": 0}])
def test_a_bad_gold_is_a_line_numbered_error_and_nothing_is_stored(gold):
    project = factories.project()
    data = lines({"prompt": "ok", "completions": ["a", "b"]}, {"prompt": "Q", "completions": ["a", "b"], "gold": gold})
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=data, filename="p.jsonl")
    assert [str(e) for e in failed.value.errors] == [
        "line 2, gold: must list 2 or more distinct completion indexes (0 to 1), best first"
    ]
    assert not Prompt.objects.exists()


def test_gold_accuracy_per_labeler_and_flags():
    project = factories.project(overlap=2, gold_min_accuracy=0.7)
    import_file(project=project, data=lines(*(
        {"id": f"g{i}", "prompt": f"Q{i}", "completions": ["bad", "good"], "gold": [1, 0]} for i in range(4)
    )), filename="p.jsonl")  # fmt: skip
    right, wrong = factories.member(project, "labeler", username="right"), factories.member(project, "labeler", username="wrong")
    for labeler, picks_good in ((right, True), (wrong, False)):
        for _ in range(4):
            lease = Assignment.objects.select_related("project").get(pk=assignment_next_for(annotator=labeler, project=project).pk)
            good_first = Completion.objects.get(pk=lease.shown[0]).text == "good"
            choice = "a" if good_first == picks_good else "b"
            judgment_record(assignment=lease, result=JudgmentResult(choice=choice), client_id=uuid.uuid4().hex)
    rows = {r["username"]: r for r in selectors.quality_report_for(project=project)["labelers"]}
    assert (rows["right"]["gold_accuracy"], rows["right"]["gold_items"], rows["right"]["flagged"]) == (1.0, 4, False)
    assert (rows["wrong"]["gold_accuracy"], rows["wrong"]["flagged"]) == (0.0, True)
    assert selectors.flagged_labelers(project=project) == {"wrong"}


def test_a_lead_marks_a_prompt_gold_from_a_judgment_page_and_clears_it(client):
    project = factories.project()
    (prompt,) = factories.prompts(project, 1)
    labeler, lead = factories.member(project, "labeler"), factories.member(project, "lead")
    lease = Assignment.objects.select_related("project").get(pk=assignment_next_for(annotator=labeler, project=project).pk)
    judgment, _ = judgment_record(assignment=lease, result=JudgmentResult(choice="b"), client_id="g")
    url = f"/projects/{project.slug}/judgments/{judgment.pk}/gold/"
    client.force_login(labeler)
    assert client.post(url, {"action": "mark"}).status_code == 403
    client.force_login(lead)
    page = client.get(f"/projects/{project.slug}/judgments/{judgment.pk}/").content.decode()
    assert "Mark the prompt as gold with this answer" in page
    assert client.post(url, {"action": "mark"}).status_code == 302
    prompt.refresh_from_db()
    assert prompt.gold == [lease.shown[1], lease.shown[0]]  # "b": the second shown beat the first
    assert "Clear gold" in client.get(f"/projects/{project.slug}/judgments/{judgment.pk}/").content.decode()
    from annotator.models import AuditEntry

    assert AuditEntry.objects.filter(action="prompt.gold", actor=lead).count() == 1
    client.post(url, {"action": "clear"})
    prompt.refresh_from_db()
    assert prompt.gold is None


def test_a_tie_cannot_be_a_gold_answer(client):
    project = factories.project()
    factories.prompts(project, 1)
    labeler, lead = factories.member(project, "labeler"), factories.member(project, "lead")
    lease = Assignment.objects.select_related("project").get(pk=assignment_next_for(annotator=labeler, project=project).pk)
    judgment, _ = judgment_record(assignment=lease, result=JudgmentResult(choice="tie"), client_id="t")
    client.force_login(lead)
    assert "Mark the prompt as gold" not in client.get(f"/projects/{project.slug}/judgments/{judgment.pk}/").content.decode()
    refused = client.post(f"/projects/{project.slug}/judgments/{judgment.pk}/gold/", {"action": "mark"})
    assert refused.status_code == 400 and not Prompt.objects.filter(gold__isnull=False).exists()
