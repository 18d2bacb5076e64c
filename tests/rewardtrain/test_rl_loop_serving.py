"""Serving in the shapes RL loops speak: OpenRLHF's get_reward, the rerank shape, version pins,
normalisation, and LocalReward / RemoteReward scoring exactly as the score API and plain
transformers with the recorded encoding do."""

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from arbiter_reward import LocalReward, RemoteReward, RewardServerError, UnsupportedEncoding
from rewardtrain import checkpoint_store
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.models import RewardModelVersion
from tests.rewardtrain.comparisons import make_comparisons, train_small
from tests.rewardtrain.plain_transformers import plain_rewards

PROMPT = "human: tell me about the cat. assistant:"
LONG_PROMPT = "human: " + "tell me about the old dog and the red car please " * 60 + "assistant:"
LONG_COMPLETION = "the dog is very kind and the car is fast " * 80
ITEMS = [(PROMPT, "the cat is good and kind"), (PROMPT, "the cat is bad and rude"), (LONG_PROMPT, LONG_COMPLETION), ("", "")]


@pytest.fixture
def trained(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    run = train_small(project)
    assert run.status == "succeeded", run.error
    return project


def post(user, url, body):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(url, body, format="json")


def score_api(user, project, items, **options):
    body = {"items": [{"prompt": p, "completion": c} for p, c in items], **options}
    return post(user, f"/api/v1/projects/{project.slug}/score/", body)


def loaded_key(project):
    """The serving cache's key of `project`'s current version."""
    return checkpoint_store.identity(RewardModelVersion.objects.get(project=project, is_current=True))


def current_folder(project):
    return version_folder(RewardModelVersion.objects.get(project=project, is_current=True))


# --- get_reward (OpenRLHF) ------------------------------------------------------------------


def test_get_reward_answers_openrlhf_shape_with_and_without_prompts(trained, labeler):
    expected = score_api(labeler, trained, ITEMS[:2]).json()["rewards"]
    queries = [p + c for p, c in ITEMS[:2]]
    for url in (f"/api/v1/projects/{trained.slug}/get_reward/", f"/api/v1/projects/{trained.slug}/get_reward"):
        with_prompts = post(labeler, url, {"query": queries, "prompts": [p for p, _ in ITEMS[:2]], "labels": ["x", None]})
        assert with_prompts.status_code == 200, with_prompts.content  # no redirect without the slash
        body = with_prompts.json()
        assert body["rewards"] == pytest.approx(expected) and body["scores"] == body["rewards"]
        assert body["extra_logs"] == {"version": 1, "stripped": 0, "failed": 0} and body["version"] == 1
        assert body["failures"] == []
    # Without prompts, a whole HH dialogue is split after its last assistant turn.
    dialogue = "\n\nHuman: tell me about the cat\n\nAssistant: the cat is good\n\nHuman: more\n\nAssistant: the cat is kind"
    split = post(labeler, f"/api/v1/projects/{trained.slug}/get_reward", {"query": [dialogue]}).json()
    direct = score_api(labeler, trained, [(dialogue[: dialogue.rfind("Assistant:") + 10], " the cat is kind")]).json()
    assert split["rewards"] == pytest.approx(direct["rewards"])


def test_get_reward_reports_a_query_it_cannot_split_and_scores_the_others(trained, labeler):
    url = f"/api/v1/projects/{trained.slug}/get_reward/"
    response = post(labeler, url, {"query": ["hello there", "abc", PROMPT + " the cat"], "prompts": ["hello", "xyz", PROMPT]})
    assert response.status_code == 200, response.content
    body = response.json()
    expected = score_api(labeler, trained, [("hello", " there"), (PROMPT, " the cat")]).json()["rewards"]
    assert body["rewards"][0] == pytest.approx(expected[0]) and body["rewards"][2] == pytest.approx(expected[1])
    assert body["rewards"][1] is None and body["scores"][1] is None
    assert [f["index"] for f in body["failures"]] == [1] and "does not start with its prompt" in body["failures"][0]["error"]
    assert body["extra_logs"]["failed"] == 1
    # A client bug (prompts and queries not paired) is still the whole request's 400.
    assert post(labeler, url, {"query": ["a"], "prompts": ["a", "b"]}).status_code == 400


def test_get_reward_leaves_out_extra_logs_when_asked(trained, labeler):
    url = f"/api/v1/projects/{trained.slug}/get_reward/?extra_logs=0"
    body = post(labeler, url, {"query": [PROMPT + " the cat"], "prompts": [PROMPT]}).json()
    assert "extra_logs" not in body and len(body["rewards"]) == 1


# --- rerank ---------------------------------------------------------------------------------


def test_rerank_sorts_documents_best_first_with_raw_rewards(trained, labeler):
    documents = ["the cat is bad and rude", {"text": "the cat is good and kind"}, "the cat"]
    raw = score_api(labeler, trained, [(PROMPT, "the cat is bad and rude"), (PROMPT, "the cat is good and kind"), (PROMPT, "the cat")]).json()["rewards"]
    for url in (f"/api/v1/projects/{trained.slug}/rerank/", f"/api/v1/projects/{trained.slug}/rerank"):
        response = post(labeler, url, {"query": PROMPT, "documents": documents, "top_n": 2})
        assert response.status_code == 200, response.content
        body = response.json()
        order = sorted(range(3), key=lambda i: -raw[i])[:2]
        assert [r["index"] for r in body["results"]] == order
        assert [r["relevance_score"] for r in body["results"]] == pytest.approx([raw[i] for i in order])
        texts = ["the cat is bad and rude", "the cat is good and kind", "the cat"]
        assert [r["document"]["text"] for r in body["results"]] == [texts[i] for i in order]
        assert body["version"] == 1 and body["model"] == f"{trained.slug}-v1"


# --- pins and normalisation -----------------------------------------------------------------


def test_a_pinned_version_keeps_scoring_after_a_promotion_and_an_unpublished_pin_is_409(trained, labeler, admin_user):
    first = score_api(labeler, trained, ITEMS[:1]).json()
    train_small(trained, learning_rate=1e-2)
    post(admin_user, f"/api/v1/projects/{trained.slug}/models/2/promote/", {})
    assert score_api(labeler, trained, ITEMS[:1]).json()["version"] == 2
    pinned = score_api(labeler, trained, ITEMS[:1], version=1).json()
    assert pinned == first
    for url, body in [
        (f"/api/v1/projects/{trained.slug}/score/", {"items": [{"prompt": "a", "completion": "b"}], "version": 7}),
        (f"/api/v1/projects/{trained.slug}/rank/", {"prompt": "a", "completions": ["b", "c"], "version": 7}),
        (f"/api/v1/projects/{trained.slug}/get_reward/", {"query": ["ab"], "version": 7}),
        (f"/api/v1/projects/{trained.slug}/rerank/", {"query": "a", "documents": ["b"], "version": 7}),
    ]:
        response = post(labeler, url, body)
        assert response.status_code == 409 and "no published version 7" in response.json()["detail"], url
    RewardModelVersion.objects.filter(project=trained, version=1).update(status=RewardModelVersion.Status.REJECTED)
    assert score_api(labeler, trained, ITEMS[:1], version=1).status_code == 409


def test_normalize_uses_the_versions_held_out_statistics(trained, labeler):
    metrics = json.loads((current_folder(trained) / "arbiter.json").read_text())["metrics"]
    raw = score_api(labeler, trained, ITEMS).json()["rewards"]
    normalized = score_api(labeler, trained, ITEMS, normalize=True).json()["rewards"]
    assert normalized == pytest.approx([(r - metrics["reward_mean"]) / metrics["reward_std"] for r in raw])
    ranked = post(labeler, f"/api/v1/projects/{trained.slug}/rank/", {"prompt": PROMPT, "completions": [ITEMS[0][1], ITEMS[1][1]], "normalize": True}).json()
    two = score_api(labeler, trained, ITEMS[:2], normalize=True).json()["rewards"]  # the same batch as rank's
    assert sorted(r["reward"] for r in ranked["completions"]) == pytest.approx(sorted(two))
    assert score_api(labeler, trained, ITEMS, normalize="yes").status_code == 400


# --- LocalReward = RemoteReward = the score API = plain transformers ------------------------


@pytest.mark.django_db(transaction=True)
def test_local_remote_api_and_plain_transformers_agree_on_long_and_short_inputs(trained, labeler, live_server):
    folder = current_folder(trained)
    api = score_api(labeler, trained, ITEMS).json()["rewards"]
    local = LocalReward(folder)
    prompts, completions = [p for p, _ in ITEMS], [c for _, c in ITEMS]
    assert local(prompts, completions) == pytest.approx(api, abs=1e-5)
    # the first two items fit max_length, where the card's plain snippet and Arbiter agree exactly
    assert plain_rewards(folder, ITEMS[:2]) == pytest.approx(api[:2], abs=1e-5)
    token = Token.objects.create(user=labeler).key
    remote = RemoteReward(live_server.url, trained.slug, token, batch_size=3)
    assert remote(prompts, completions) == pytest.approx(api, abs=1e-5)
    assert remote.last_version == 1
    with pytest.raises(RewardServerError, match="409"):
        RemoteReward(live_server.url, trained.slug, token, version=9)(prompts, completions)


def test_local_reward_takes_conversational_messages_as_the_importer_stores_them(trained, labeler):
    local = LocalReward(current_folder(trained))
    messages = [[{"role": "user", "content": "tell me about the cat"}]]
    replies = [[{"role": "assistant", "content": "the cat is good"}]]
    hh = "\n\nHuman: tell me about the cat\n\nAssistant:"
    assert local(messages, replies) == pytest.approx(local([hh], ["the cat is good"]))
    assert local(messages, replies) == pytest.approx(score_api(labeler, trained, [(hh, "the cat is good")]).json()["rewards"], abs=1e-5)


def test_local_reward_refuses_an_encoding_it_does_not_implement(trained, tmp_path):
    import shutil

    copy = tmp_path / "ckpt"
    shutil.copytree(current_folder(trained), copy)
    meta = json.loads((copy / "arbiter.json").read_text())
    meta["encoding"]["input"] = "single_text"
    (copy / "arbiter.json").write_text(json.dumps(meta))
    with pytest.raises(UnsupportedEncoding, match="single_text"):
        LocalReward(copy)


def test_the_checkpoint_carries_a_self_contained_reward_module(trained, tmp_path):
    """The copied arbiter_reward.py imports with only torch and transformers (a subprocess with
    the repo off the path) and scores as LocalReward does."""
    import subprocess
    import sys

    folder = current_folder(trained)
    expected = LocalReward(folder)([PROMPT], ["the cat is good"])
    code = (
        "import sys, json; sys.path = [p for p in sys.path if 'work/main' not in p or 'site-packages' in p];"
        f"sys.path.insert(0, {str(folder)!r}); import arbiter_reward as m;"
        "assert m.__file__.startswith(" + repr(str(folder)) + ");"
        f"print(json.dumps(m.LocalReward({str(folder)!r})([{PROMPT!r}], ['the cat is good'])))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert json.loads(out.stdout) == pytest.approx(expected)


# --- no first call waits for a model load ---------------------------------------------------


def test_workers_load_the_current_version_at_start_and_after_a_promotion(trained, admin_user):
    from rewardtrain import serving

    serving._cache.clear()
    assert [v.version for v in serving.warm_current_scorers()] == [1]
    assert loaded_key(trained) in serving._cache
    train_small(trained, learning_rate=1e-2)
    post(admin_user, f"/api/v1/projects/{trained.slug}/models/2/promote/", {})
    serving.warm_current_scorers()
    assert loaded_key(trained) in serving._cache  # v2's folder, loaded before any request


@pytest.mark.django_db(transaction=True)
def test_the_warmer_thread_picks_up_a_promotion_by_itself(trained, admin_user):
    import threading
    import time

    from rewardtrain import serving

    serving._cache.clear()
    stop = threading.Event()
    thread = serving.start_scorer_warmer(every_seconds=0.2, stop=stop)
    try:
        deadline = time.monotonic() + 30
        while loaded_key(trained) not in serving._cache and time.monotonic() < deadline:
            time.sleep(0.1)
        assert loaded_key(trained) in serving._cache
        train_small(trained, learning_rate=1e-2)
        post(admin_user, f"/api/v1/projects/{trained.slug}/models/2/promote/", {})
        v2 = loaded_key(trained)
        while v2 not in serving._cache and time.monotonic() < deadline:
            time.sleep(0.1)
        assert v2 in serving._cache
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_openrlhf_without_headers_authenticates_with_a_token_in_the_url(trained, labeler):
    """OpenRLHF posts plain JSON to --remote_rm_url: the token rides in the URL, on the RL
    endpoints only."""
    token = Token.objects.create(user=labeler).key
    anonymous = APIClient()
    url = f"/api/v1/projects/{trained.slug}/get_reward"
    assert anonymous.post(url, {"query": ["a b"]}, format="json").status_code == 401
    answer = anonymous.post(f"{url}?token={token}", {"query": ["a b"]}, format="json")
    assert answer.status_code == 200 and answer.json()["version"] == 1
    assert anonymous.post(f"{url}?token=wrong", {"query": ["a b"]}, format="json").status_code == 401
    rerank = anonymous.post(f"/api/v1/projects/{trained.slug}/rerank?token={token}", {"query": "a", "documents": ["b"]}, format="json")
    assert rerank.status_code == 200
    score = anonymous.post(f"/api/v1/projects/{trained.slug}/score/?token={token}", {"items": [{"prompt": "a", "completion": "b"}]}, format="json")
    assert score.status_code == 401  # headers only everywhere else


def test_gunicorn_config_loads_and_keeps_query_strings_out_of_the_access_log():
    from gunicorn.config import Config

    config = Config()
    namespace = {}
    from pathlib import Path

    exec((Path(__file__).resolve().parents[2] / "gunicorn.conf.py").read_text(), namespace)
    assert "%(r)s" not in namespace["access_log_format"] and "%(U)s" in namespace["access_log_format"]
    config.set("access_log_format", namespace["access_log_format"])
    assert callable(namespace["post_fork"])


def test_get_reward_refuses_an_extra_logs_it_does_not_know(trained, labeler):
    response = post(labeler, f"/api/v1/projects/{trained.slug}/get_reward/?extra_logs=no", {"query": [PROMPT + " the cat"]})
    assert response.status_code == 400 and "extra_logs" in response.json()["errors"]
