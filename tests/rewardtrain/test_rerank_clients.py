"""Rerank in every shape real clients send, at the project's one API base with the same token:
vLLM / Jina (`documents`), TEI (`texts`, a bare array back) and the Cohere SDK (`v1/rerank`,
`v2/rerank`, `Authorization: Bearer`). Every shape answers the order and the rewards /score/
gives for the same (query, document) items; each answer is parsed by the client's own model
(the Cohere SDK itself; pydantic mirrors of vLLM's, Jina's and TEI's response models)."""

import math

import pytest
from pydantic import BaseModel, ConfigDict
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.rewardtrain.test_rl_loop_serving import PROMPT, current_folder, post, score_api, trained  # noqa: F401

TEXTS = ["the cat is bad and rude", "the cat is good and kind", "the cat"]


def rewards_from_score(user, project, texts=TEXTS):
    return score_api(user, project, [(PROMPT, text) for text in texts]).json()["rewards"]


def best_first(rewards):
    return sorted(range(len(rewards)), key=lambda i: -rewards[i])


def tokens_read(project, texts=TEXTS):
    """What the model reads for (PROMPT, text), by the checkpoint's own plain tokenizer (these
    short pairs fit max_length, where Arbiter's encoding equals the plain one)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(current_folder(project), trust_remote_code=True)  # a mean-pooled checkpoint names its own code
    return sum(len(tokenizer(PROMPT, text)["input_ids"]) for text in texts)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# --- mirrors of the clients' own response models --------------------------------------------
# vLLM (vllm/entrypoints/openai/protocol.py, the pooling/score protocol in later releases):
# OpenAIBaseModel allows extra fields; a result's `document` is required, its `text` optional.


class VllmOpenAIBaseModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class VllmRerankDocument(BaseModel):
    text: str | None = None
    multi_modal: list | dict | None = None


class VllmRerankResult(BaseModel):
    index: int
    document: VllmRerankDocument
    relevance_score: float


class VllmRerankUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class VllmRerankResponse(VllmOpenAIBaseModel):
    id: str
    model: str
    usage: VllmRerankUsage
    results: list[VllmRerankResult]


# Jina's reranker API: `document` only with return_documents (its default is true).
class JinaDocument(BaseModel):
    text: str


class JinaResult(BaseModel):
    index: int
    relevance_score: float
    document: JinaDocument | None = None


class JinaUsage(BaseModel):
    total_tokens: int
    prompt_tokens: int | None = None


class JinaRerankResponse(BaseModel):
    model: str
    usage: JinaUsage
    results: list[JinaResult]


# TEI (text-embeddings-inference's openapi.json): the answer is a bare array of Rank.
class TeiRank(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: int
    score: float
    text: str | None = None


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# --- vLLM / Jina ----------------------------------------------------------------------------


def test_vllm_and_jina_rerank_answers_validate_against_their_own_response_models(trained, labeler):
    raw = rewards_from_score(labeler, trained)
    order = best_first(raw)
    body = {"model": "anything", "query": PROMPT, "documents": [TEXTS[0], {"text": TEXTS[1]}, TEXTS[2]]}
    response = post(labeler, f"/api/v1/projects/{trained.slug}/rerank/", body)
    assert response.status_code == 200, response.content
    vllm = VllmRerankResponse.model_validate(response.json())
    jina = JinaRerankResponse.model_validate(response.json())
    assert [r.index for r in vllm.results] == order
    assert [r.relevance_score for r in vllm.results] == pytest.approx([raw[i] for i in order])
    assert [r.document.text for r in vllm.results] == [TEXTS[i] for i in order]
    assert vllm.model == f"{trained.slug}-v1" and response.json()["version"] == 1 and vllm.id
    assert vllm.usage.total_tokens == vllm.usage.prompt_tokens == tokens_read(trained)
    assert jina.usage.total_tokens == tokens_read(trained)


def test_vllm_top_n_zero_means_every_document_and_jina_may_leave_the_documents_out(trained, labeler):
    url = f"/api/v1/projects/{trained.slug}/rerank"
    everything = post(labeler, url, {"query": PROMPT, "documents": TEXTS, "top_n": 0}).json()
    assert len(everything["results"]) == 3  # vLLM's default top_n is 0: all of them
    two = post(labeler, url, {"query": PROMPT, "documents": TEXTS, "top_n": 2, "return_documents": False}).json()
    assert [r["index"] for r in two["results"]] == [r["index"] for r in everything["results"]][:2]
    assert all("document" not in r for r in two["results"])
    JinaRerankResponse.model_validate(two)


# --- TEI ------------------------------------------------------------------------------------


def test_tei_rerank_answers_a_bare_array_best_first_with_raw_rewards_when_asked(trained, labeler):
    raw = rewards_from_score(labeler, trained)
    order = best_first(raw)
    url = f"/api/v1/projects/{trained.slug}/rerank/"
    body = {"query": PROMPT, "texts": TEXTS, "raw_scores": True, "return_text": True, "truncate": True}
    response = post(labeler, url, body)
    assert response.status_code == 200, response.content
    ranks = [TeiRank.model_validate(rank) for rank in response.json()]
    assert [r.index for r in ranks] == order
    assert [r.score for r in ranks] == pytest.approx([raw[i] for i in order])
    assert [r.text for r in ranks] == [TEXTS[i] for i in order]


def test_tei_rerank_without_raw_scores_answers_the_sigmoid_of_the_reward_as_tei_does(trained, labeler):
    raw = rewards_from_score(labeler, trained)
    response = post(labeler, f"/api/v1/projects/{trained.slug}/rerank", {"query": PROMPT, "texts": TEXTS})
    assert response.status_code == 200, response.content
    ranks = response.json()
    assert [r["index"] for r in ranks] == best_first(raw)
    assert [r["score"] for r in ranks] == pytest.approx([sigmoid(raw[i]) for i in best_first(raw)])
    assert all(set(r) == {"index", "score"} for r in ranks)  # return_text defaults to false


# --- Cohere SDK against the live server -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_cohere_sdk_v1_and_v2_rerank_with_the_projects_base_and_token(trained, labeler, outsider, live_server):
    import cohere

    raw = rewards_from_score(labeler, trained)
    order = best_first(raw)
    token = Token.objects.create(user=labeler).key
    base = f"{live_server.url}/api/v1/projects/{trained.slug}"

    v1 = cohere.Client(api_key=token, base_url=base)
    answer = v1.rerank(model="rerank-v3.5", query=PROMPT, documents=[TEXTS[0], {"text": TEXTS[1]}, TEXTS[2]],
                       top_n=2, return_documents=True)  # fmt: skip
    assert [r.index for r in answer.results] == order[:2]
    assert [r.relevance_score for r in answer.results] == pytest.approx([raw[i] for i in order[:2]])
    assert [r.document.text for r in answer.results] == [TEXTS[i] for i in order[:2]]
    assert answer.id and answer.meta.api_version.version == "1"
    assert answer.meta.tokens.input_tokens == tokens_read(trained)
    assert all(r.document is None for r in v1.rerank(model="m", query=PROMPT, documents=TEXTS).results)

    v2 = cohere.ClientV2(api_key=token, base_url=base)
    answer = v2.rerank(model="rerank-v3.5", query=PROMPT, documents=TEXTS)
    assert [r.index for r in answer.results] == order
    assert [r.relevance_score for r in answer.results] == pytest.approx([raw[i] for i in order])
    assert answer.id and answer.meta.api_version.version == "2"

    with pytest.raises(cohere.core.ApiError) as refused:
        cohere.ClientV2(api_key="not-a-token", base_url=base).rerank(model="m", query=PROMPT, documents=TEXTS)
    assert refused.value.status_code == 401
    stranger = Token.objects.create(user=outsider).key
    with pytest.raises(cohere.core.ApiError) as hidden:
        cohere.ClientV2(api_key=stranger, base_url=base).rerank(model="m", query=PROMPT, documents=TEXTS)
    assert hidden.value.status_code == 404


def test_cohere_routes_answer_with_and_without_the_trailing_slash(trained, labeler):
    for version in ("v1", "v2"):
        for url in (f"/api/v1/projects/{trained.slug}/{version}/rerank", f"/api/v1/projects/{trained.slug}/{version}/rerank/"):
            response = post(labeler, url, {"model": "m", "query": PROMPT, "documents": TEXTS})
            assert response.status_code == 200, (url, response.content)  # no redirect: a POST stays a POST
            assert response.json()["meta"]["api_version"]["version"] == version[1]


# --- tokens, limits and refusals ------------------------------------------------------------


def test_a_bearer_token_is_accepted_wherever_a_token_is(trained, labeler):
    client = bearer(Token.objects.create(user=labeler).key)
    base = f"/api/v1/projects/{trained.slug}"
    assert client.get("/api/v1/projects/").status_code == 200  # a labeling endpoint
    assert client.post(f"{base}/score/", {"items": [{"prompt": "a", "completion": "b"}]}, format="json").status_code == 200
    assert client.post(f"{base}/get_reward", {"query": ["a b"]}, format="json").status_code == 200
    assert client.post(f"{base}/rerank", {"query": "a", "documents": ["b"]}, format="json").status_code == 200
    assert client.post(f"{base}/rerank", {"query": "a", "texts": ["b"]}, format="json").status_code == 200
    assert bearer("wrong").get("/api/v1/projects/").status_code == 401
    assert bearer("wrong").post(f"{base}/v2/rerank", {"model": "m", "query": "a", "documents": ["b"]}, format="json").status_code == 401


def test_a_bearer_token_is_remembered_like_a_token_header(labeler, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotator import authentication

    settings.ARBITER_TOKEN_CACHE_SECONDS = 10
    authentication._remembered.clear()
    key = Token.objects.create(user=labeler).key
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert token_client.get("/api/v1/projects/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert bearer(key).get("/api/v1/projects/").status_code == 200
    assert not any("authtoken_token" in query["sql"] for query in queries.captured_queries)
    authentication._remembered.clear()


def test_the_schema_declares_the_bearer_scheme_and_both_rerank_bodies(labeler):
    client = APIClient()
    client.force_authenticate(labeler)
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    rerank = schema["paths"]["/api/v1/projects/{slug}/rerank/"]["post"]
    assert {"bearerAuth": []} in rerank["security"]
    bodies = rerank["requestBody"]["content"]["application/json"]["schema"]
    assert len(schema["components"]["schemas"][bodies["$ref"].split("/")[-1]]["oneOf"]) == 2
    for version in ("v1", "v2"):
        assert f"/api/v1/projects/{{slug}}/{version}/rerank/" in schema["paths"]


RERANK_BODIES = {
    "rerank/": lambda docs: {"query": "a", "documents": docs},
    "rerank": lambda docs: {"query": "a", "texts": docs},
    "v1/rerank": lambda docs: {"model": "m", "query": "a", "documents": docs},
    "v2/rerank/": lambda docs: {"model": "m", "query": "a", "documents": docs},
}


@pytest.mark.parametrize("route", RERANK_BODIES)
def test_every_rerank_shape_keeps_the_scoring_limits_and_refuses_outsiders(trained, labeler, outsider, settings, route):
    url, body = f"/api/v1/projects/{trained.slug}/{route}", RERANK_BODIES[route]
    settings.ARBITER_SCORE_MAX_ITEMS, settings.ARBITER_SCORE_MAX_CHARS = 2, 10
    too_many = post(labeler, url, body(["b", "c", "d"]))
    assert too_many.status_code == 413 and "ARBITER_SCORE_MAX_ITEMS" in too_many.json()["detail"]
    too_long = post(labeler, url, body(["b", "c" * 11]))
    assert too_long.status_code == 413 and "ARBITER_SCORE_MAX_CHARS" in too_long.json()["detail"]
    assert "[1]" in too_long.json()["detail"]  # names the text
    assert post(outsider, url, body(["b"])).status_code == 404
    assert post(labeler, url, body("b")).status_code == 400
    assert post(labeler, url, body([7])).status_code == 400
    assert post(labeler, url, ["not", "an", "object"]).status_code == 400


def test_rerank_refuses_what_it_cannot_honour_with_a_clear_400(trained, labeler):
    url = f"/api/v1/projects/{trained.slug}/rerank"
    cases = [
        ({"query": "a", "documents": [{"title": "b"}]}, "documents"),
        ({"query": "a", "documents": ["b"], "rank_fields": ["title"]}, "rank_fields"),
        ({"query": "a", "texts": ["b"], "raw_scores": "yes"}, "raw_scores"),
        ({"query": "a", "documents": ["b"], "top_n": -1}, "top_n"),
        ({"documents": ["b"]}, "query"),
        ({"query": "a"}, "documents"),
    ]
    for body, field in cases:
        response = post(labeler, url, body)
        assert response.status_code == 400 and field in response.json()["errors"], (body, response.content)
