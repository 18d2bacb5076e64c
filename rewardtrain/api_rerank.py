"""Rerank in the shapes real clients send, at the project's API base (`/api/v1/projects/{slug}`):

- vLLM and Jina post `{"model"?, "query", "documents", "top_n"?, "return_documents"?}` to `rerank`
  and read `{"id", "model", "results": [{"index", "relevance_score", "document"}], "usage"}`;
- TEI posts `{"query", "texts", "raw_scores"?, "return_text"?, "truncate"?}` to the same `rerank`
  (told apart by `texts`) and reads a bare array `[{"index", "score", "text"?}]`;
- the Cohere SDK, given the project's API base as `base_url`, posts to `v1/rerank` (Client) and
  `v2/rerank` (ClientV2) and reads `{"id", "results", "meta"}`.

The query is the prompt and each document a completion; every score is the raw reward /score/
gives for that (prompt, completion), best first. The one exception is TEI without `raw_scores`:
TEI passes a reranker's logit through a sigmoid unless `raw_scores` is true, so a TEI client
gets sigmoid(reward) there, as TEI itself would serve this model.
"""

import uuid

from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.response import Response

from annotator.api import ApiView, ErrorSerializer
from annotator.authentication import QueryTokenAuthentication
from annotator.fields import StrictCharField
from annotator.permissions import project_for_member

from . import serving
from .api import (
    BAD_TOKEN,
    MAX_CHARS,
    MAX_ITEMS,
    PIN_REFUSED,
    TOO_LARGE,
    UNAVAILABLE,
    ScoringOptionsSerializer,
    StrictBooleanField,
    _options,
    _refuse_too_large,
    _scored,
    _strings,
)


def _text_field(**kwargs):
    return StrictCharField(trim_whitespace=False, allow_blank=True, max_length=MAX_CHARS, **kwargs)


@extend_schema_field(
    {"oneOf": [{"type": "string", "maxLength": MAX_CHARS},
               {"type": "object", "properties": {"text": {"type": "string", "maxLength": MAX_CHARS}}, "required": ["text"]}]}
)  # fmt: skip
class DocumentField(serializers.Field):
    """A document as a string or as {"text": string} (both forms rerank clients send)."""

    def to_internal_value(self, data):
        text = data.get("text") if isinstance(data, dict) else data
        return _text_field().run_validation(text)


# --- what comes in --------------------------------------------------------------------------


@extend_schema_serializer(component_name="RerankInput")
class DocumentsInputSerializer(ScoringOptionsSerializer):
    """vLLM's, Jina's and Cohere's request (Cohere v2 sends strings only)."""

    model = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=200,
        help_text="Accepted and ignored: the project's current version scores (or the pinned `version`).",
    )  # fmt: skip
    query = _text_field(help_text="The prompt.")
    documents = serializers.ListField(
        child=DocumentField(), min_length=1, max_length=MAX_ITEMS, help_text="Completions: strings or {text}."
    )
    top_n = serializers.IntegerField(
        required=False, min_value=0, help_text="Keep only the best top_n; 0 (vLLM's default) keeps them all."
    )
    return_documents = StrictBooleanField(
        required=False, help_text="Answer each result's document: default true at rerank (vLLM, Jina), false at "
        "v1/rerank and v2/rerank (Cohere).",
    )  # fmt: skip
    rank_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=["text"]), required=False,
        help_text='Cohere\'s; only ["text"]: a reward model scores one completion text.',
    )  # fmt: skip


@extend_schema_serializer(component_name="TeiRerankInput")
class TeiInputSerializer(ScoringOptionsSerializer):
    """text-embeddings-inference's request."""

    query = _text_field(help_text="The prompt.")
    texts = serializers.ListField(child=_text_field(), min_length=1, max_length=MAX_ITEMS, help_text="Completions.")
    raw_scores = StrictBooleanField(
        required=False, default=False, help_text="true: the raw reward; false (TEI's default): sigmoid(reward), as TEI scores."
    )
    return_text = StrictBooleanField(required=False, default=False, help_text="Answer each text beside its score.")
    truncate = StrictBooleanField(
        required=False, allow_null=True, help_text="Accepted; inputs are always cut as the model was trained to read them."
    )
    truncation_direction = serializers.ChoiceField(
        choices=["Left", "Right"], required=False, help_text="Accepted; the prompt is cut from its start, as in training."
    )


def _asks_tei(body):
    """TEI names its completions `texts`; everyone else `documents`."""
    return isinstance(body, dict) and "texts" in body and not isinstance(body.get("documents"), list)


def _validated(serializer_class, body, *, key):
    """The validated body: 413 over the scoring limits (checked on the raw `key` list first),
    400 for anything malformed."""
    data = body if isinstance(body, dict) else {}
    raw = data.get(key)
    if isinstance(raw, list):
        texts = [item.get("text") if isinstance(item, dict) else item for item in raw]
        named = [("query", data.get("query")), *((f"{key}[{i}]", text) for i, text in enumerate(texts))]
        _refuse_too_large(n_items=len(raw), texts=_strings(named))
    serializer = serializer_class(data=body)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _reranked(*, project, query, documents, data):
    return _scored(
        lambda: serving.rerank_documents(project=project, query=query, documents=documents, **_options(data))
    )


# --- what goes out, one function per shape --------------------------------------------------


def _results(ranked, *, top_n, return_documents):
    kept = ranked[:top_n] if top_n else ranked
    return [
        {"index": row["index"], "relevance_score": row["reward"], **({"document": {"text": row["text"]}} if return_documents else {})}
        for row in kept
    ]


def vllm_answer(*, project, version, ranked, tokens, top_n, return_documents):
    """vLLM's RerankResponse (Jina's too): `usage` counts what the model read."""
    return {
        "id": f"rerank-{uuid.uuid4().hex}",
        "model": f"{project.slug}-v{version}",
        "version": version,
        "results": _results(ranked, top_n=top_n, return_documents=return_documents),
        "usage": {"total_tokens": tokens, "prompt_tokens": tokens},
    }


def tei_answer(*, ranked, raw_scores, return_text):
    """TEI's bare array of ranks, best first."""
    return [
        {"index": row["index"], "score": row["reward"] if raw_scores else serving.sigmoid(row["reward"]),
         **({"text": row["text"]} if return_text else {})}
        for row in ranked
    ]  # fmt: skip


def cohere_answer(*, project, version, ranked, tokens, top_n, return_documents, api_version):
    """Cohere's v1 or v2 RerankResponse: `meta` says which API answered and the tokens read."""
    return {
        "id": str(uuid.uuid4()),
        "model": f"{project.slug}-v{version}",
        "version": version,
        "results": _results(ranked, top_n=top_n, return_documents=return_documents),
        "meta": {"api_version": {"version": api_version}, "tokens": {"input_tokens": tokens}},
    }


class DocumentSerializer(serializers.Serializer):
    text = serializers.CharField()


class ResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the request.")
    relevance_score = serializers.FloatField(help_text="The raw reward (no sigmoid).")
    document = DocumentSerializer(required=False, help_text="Unless return_documents is false.")


@extend_schema_serializer(component_name="RerankOutput")
class DocumentsOutputSerializer(serializers.Serializer):
    class UsageSerializer(serializers.Serializer):
        total_tokens = serializers.IntegerField(help_text="Tokens the model read, every (query, document) together.")
        prompt_tokens = serializers.IntegerField(help_text="The same number (vLLM reads both).")

    id = serializers.CharField()
    model = serializers.CharField(help_text="<project>-v<version>")
    version = serializers.IntegerField(help_text="The version that scored.")
    results = ResultSerializer(many=True, help_text="Best first.")
    usage = UsageSerializer()


@extend_schema_serializer(component_name="TeiRank")
class TeiRankSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the request.")
    score = serializers.FloatField(help_text="The raw reward with raw_scores, else sigmoid(reward).")
    text = serializers.CharField(required=False, help_text="With return_text.")


@extend_schema_serializer(component_name="CohereRerankOutput")
class CohereOutputSerializer(serializers.Serializer):
    class MetaSerializer(serializers.Serializer):
        class ApiVersionSerializer(serializers.Serializer):
            version = serializers.ChoiceField(choices=["1", "2"])

        class TokensSerializer(serializers.Serializer):
            input_tokens = serializers.IntegerField(help_text="Tokens the model read.")

        api_version = ApiVersionSerializer()
        tokens = TokensSerializer()

    id = serializers.CharField()
    model = serializers.CharField(help_text="<project>-v<version>")
    version = serializers.IntegerField(help_text="The version that scored.")
    results = ResultSerializer(many=True, help_text="Best first.")
    meta = MetaSerializer()


# --- the views ------------------------------------------------------------------------------

ERRORS = {400: ErrorSerializer, 401: BAD_TOKEN, 404: ErrorSerializer, 409: PIN_REFUSED, 413: TOO_LARGE, 503: UNAVAILABLE}


class RerankApi(ApiView):
    """vLLM, Jina and TEI at one URL, told apart by the body."""

    authentication_classes = [QueryTokenAuthentication, *ApiView.authentication_classes]

    @extend_schema(
        operation_id="projects_rerank",
        request=PolymorphicProxySerializer(
            component_name="RerankBody", serializers=[DocumentsInputSerializer, TeiInputSerializer], resource_type_field_name=None
        ),
        responses={
            200: PolymorphicProxySerializer(
                component_name="RerankAnswer",
                serializers=[DocumentsOutputSerializer, TeiRankSerializer(many=True)],
                resource_type_field_name=None,
                many=False,
            ),
            **ERRORS,
        },
        description=f"Any member. Best-of-n in the rerank shapes of vLLM and Jina (`documents`: an object back) "
        f"and of TEI (`texts`: a bare array back); at most {MAX_ITEMS} documents. Also without the trailing slash.",
    )
    def post(self, request, slug):
        project, _role = project_for_member(user=request.user, slug=slug, archived_hidden=False)
        if _asks_tei(request.data):
            data = _validated(TeiInputSerializer, request.data, key="texts")
            _version, ranked, _tokens = _reranked(project=project, query=data["query"], documents=data["texts"], data=data)
            ranks = tei_answer(ranked=ranked, raw_scores=data["raw_scores"], return_text=data["return_text"])
            return Response(TeiRankSerializer(ranks, many=True).data)
        data = _validated(DocumentsInputSerializer, request.data, key="documents")
        version, ranked, tokens = _reranked(project=project, query=data["query"], documents=data["documents"], data=data)
        body = vllm_answer(project=project, version=version, ranked=ranked, tokens=tokens, top_n=data.get("top_n"),
                           return_documents=data.get("return_documents", True))  # fmt: skip
        return Response(DocumentsOutputSerializer(body).data)


class CohereRerankApi(ApiView):
    """The Cohere SDK's rerank; `api_version` is the URL's v1 or v2."""

    authentication_classes = [QueryTokenAuthentication, *ApiView.authentication_classes]
    api_version = None

    def post(self, request, slug):
        project, _role = project_for_member(user=request.user, slug=slug, archived_hidden=False)
        data = _validated(DocumentsInputSerializer, request.data, key="documents")
        version, ranked, tokens = _reranked(project=project, query=data["query"], documents=data["documents"], data=data)
        body = cohere_answer(project=project, version=version, ranked=ranked, tokens=tokens, top_n=data.get("top_n"),
                             return_documents=data.get("return_documents", False), api_version=self.api_version)  # fmt: skip
        return Response(CohereOutputSerializer(body).data)


def _cohere_schema(api_version, client):
    return extend_schema(
        operation_id=f"projects_cohere_v{api_version}_rerank",
        request=DocumentsInputSerializer,
        responses={200: CohereOutputSerializer, **ERRORS},
        description=f"Any member. Cohere's v{api_version} rerank, for the SDK's {client} given the project's API base "
        f"as base_url (it sends the token as `Authorization: Bearer`); at most {MAX_ITEMS} documents. Also without "
        "the trailing slash.",
    )


@extend_schema_view(post=_cohere_schema("1", "Client"))
class CohereV1RerankApi(CohereRerankApi):
    api_version = "1"


@extend_schema_view(post=_cohere_schema("2", "ClientV2"))
class CohereV2RerankApi(CohereRerankApi):
    api_version = "2"


# The same views at the URLs without the trailing slash (RL configs and SDKs paste URLs either
# way, and a redirect would turn a POST into a GET), left out of the schema: one operation each.
@extend_schema_view(post=extend_schema(exclude=True))
class RerankNoSlashApi(RerankApi):
    pass


@extend_schema_view(post=extend_schema(exclude=True))
class CohereV1RerankNoSlashApi(CohereV1RerankApi):
    pass


@extend_schema_view(post=extend_schema(exclude=True))
class CohereV2RerankNoSlashApi(CohereV2RerankApi):
    pass
