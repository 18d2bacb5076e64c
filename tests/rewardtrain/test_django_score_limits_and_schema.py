"""Scoring requests are bounded (413 with a message), and the schema says so and tells the truth."""

import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from rewardtrain.models import TrainingRun
from tests.rewardtrain.comparisons import make_comparisons, train_small


@pytest.fixture
def trained(project, tiny_model, settings):
    settings.ARBITER_SCORE_MAX_ITEMS = 3
    settings.ARBITER_SCORE_MAX_CHARS = 50
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    assert train_small(project).status == "succeeded"
    return project


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(user, project, endpoint, body):
    return client_for(user).post(f"/api/v1/projects/{project.slug}/{endpoint}/", body, format="json")


def test_too_many_items_to_score_is_413_with_a_message(trained, labeler):
    items = [{"prompt": "p", "completion": "c"}] * 4
    response = post(labeler, trained, "score", {"items": items})
    assert response.status_code == 413
    assert response.json() == {"detail": "4 items; at most 3 per request (ARBITER_SCORE_MAX_ITEMS)"}
    assert post(labeler, trained, "score", {"items": items[:3]}).status_code == 200


def test_a_text_too_long_to_score_is_413_naming_it(trained, labeler):
    items = [{"prompt": "p", "completion": "c"}, {"prompt": "p", "completion": "x" * 51}]
    response = post(labeler, trained, "score", {"items": items})
    assert response.status_code == 413
    assert response.json()["detail"] == "items[1].completion is 51 characters; at most 50 (ARBITER_SCORE_MAX_CHARS)"
    items[1]["completion"] = "x" * 50
    assert post(labeler, trained, "score", {"items": items}).status_code == 200


def test_rank_has_the_same_limits(trained, labeler):
    too_many = post(labeler, trained, "rank", {"prompt": "p", "completions": ["a", "b", "c", "d"]})
    assert too_many.status_code == 413 and "ARBITER_SCORE_MAX_ITEMS" in too_many.json()["detail"]
    long_prompt = post(labeler, trained, "rank", {"prompt": "p" * 51, "completions": ["a", "b"]})
    assert long_prompt.status_code == 413 and long_prompt.json()["detail"].startswith("prompt is 51 characters")
    long_completion = post(labeler, trained, "rank", {"prompt": "p", "completions": ["a", "b" * 60]})
    assert long_completion.status_code == 413 and long_completion.json()["detail"].startswith("completions[1] is 60")


def test_wrongly_typed_input_is_still_a_400(trained, labeler):
    assert post(labeler, trained, "score", {"items": [{"prompt": ["p" * 99], "completion": "c"}]}).status_code == 400
    assert post(labeler, trained, "score", {"items": "many"}).status_code == 400


def test_the_score_command_names_the_line_with_a_text_too_long(trained, tmp_path):
    source = tmp_path / "in.jsonl"
    lines = [{"prompt": "p", "completion": "c"}, {"prompt": "p" * 51, "completion": "c"}]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(CommandError, match=r"in.jsonl:2: prompt is 51 characters; at most 50 \(ARBITER_SCORE_MAX_CHARS\)"):
        call_command("score", trained.slug, str(source), str(tmp_path / "out.jsonl"))
    assert not (tmp_path / "out.jsonl").exists()


def test_from_scratch_takes_only_json_booleans(project, lead, monkeypatch):
    monkeypatch.setattr("rewardtrain.runs._enqueue", lambda run: None)
    url = f"/api/v1/projects/{project.slug}/train/"
    for wrong in ("yes", "true", 1, 0, "off", None):
        response = client_for(lead).post(url, {"from_scratch": wrong}, format="json")
        assert response.status_code == 400 and "from_scratch" in response.json()["errors"], wrong
    assert not TrainingRun.objects.exists()
    assert client_for(lead).post(url, {"from_scratch": True}, format="json").status_code == 201


@pytest.fixture
def schema(admin_user):
    response = client_for(admin_user).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_documents_413_for_scoring_and_409_for_promotion(schema):
    paths = schema["paths"]
    for endpoint in ("score", "rank"):
        responses = paths[f"/api/v1/projects/{{slug}}/{endpoint}/"]["post"]["responses"]
        assert "413" in responses and "ARBITER_SCORE_MAX_ITEMS" in responses["413"]["description"]
    promote = paths["/api/v1/projects/{slug}/models/{version}/promote/"]["post"]["responses"]
    assert "verification" in promote["409"]["description"]


def test_the_schema_declares_the_fields_that_can_be_null_as_nullable(schema):
    components = schema["components"]["schemas"]
    assert components["TrainingRun"]["properties"]["requested_by"].get("nullable") is True
    assert components["TrainingRun"]["properties"]["version"].get("nullable") is True
    assert components["RewardModelVersion"]["properties"]["parent"].get("nullable") is True
    assert "path" not in components["RewardModelVersion"]["properties"]


def test_get_reward_takes_many_more_queries_and_names_its_own_limits(trained, labeler, settings):
    settings.ARBITER_REWARD_MAX_ITEMS = 5
    settings.ARBITER_REWARD_MAX_TOTAL_CHARS = 60
    five = post(labeler, trained, "get_reward", {"query": ["p a"] * 5})
    assert five.status_code == 200 and len(five.json()["rewards"]) == 5  # over ARBITER_SCORE_MAX_ITEMS (3)
    six = post(labeler, trained, "get_reward", {"query": ["p a"] * 6})
    assert six.status_code == 413 and six.json()["detail"] == "6 items; at most 5 per request (ARBITER_REWARD_MAX_ITEMS)"
    heavy = post(labeler, trained, "get_reward", {"query": ["x" * 40, "y" * 40]})
    assert heavy.status_code == 413 and "(ARBITER_REWARD_MAX_TOTAL_CHARS)" in heavy.json()["detail"]


def test_a_get_reward_batch_past_its_time_budget_is_503_with_retry_after(trained, labeler, settings):
    settings.ARBITER_SCORE_TIME_BUDGET_SECONDS = 0  # over budget once the first chunk is scored
    settings.ARBITER_REWARD_MAX_ITEMS = 200
    response = post(labeler, trained, "get_reward", {"query": ["p a"] * 65})  # two chunks of at most 64
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert response.json()["detail"].startswith("scored 64 of 65 items in 0 s (ARBITER_SCORE_TIME_BUDGET_SECONDS)")
    assert post(labeler, trained, "get_reward", {"query": ["p a"] * 64}).status_code == 200  # one chunk always finishes
