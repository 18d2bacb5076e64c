"""The reward-model REST API, version 1: training runs, versions, scoring and ranking.

Training and versions are for the project's leads and admins (promote and roll back: admins
only); scoring and ranking are for any member. Outsiders get 404, as everywhere.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from annotator.api import ApiView, ErrorSerializer
from annotator.authentication import QueryTokenAuthentication
from annotator.fields import StrictCharField
from annotator.models import Membership
from annotator.permissions import project_for_lead, project_for_member
from arbiter_reward.reward import POOLINGS

from . import config, rl_queries, runs, selectors, serving, versions
from .models import RewardModelVersion, TrainingRun


class ModelUnavailableError(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "model_unavailable"


class ModelFetchingError(ModelUnavailableError):
    default_code = "model_fetching"
    wait = 5  # DRF's handler answers it as Retry-After: a MiniLM version downloads in seconds


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: DRF's BooleanField also takes "yes", 0, "off" and the like."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


def _project_for_admin(*, user, slug):
    project, role = project_for_lead(user=user, slug=slug)
    if role != Membership.Role.ADMIN:
        raise PermissionDenied("Only the project's admins may change which model is current.")
    return project


def _viewer_context(role):
    """Serializer context: admins see run tracebacks, leads only their last line."""
    return {"is_admin": role == Membership.Role.ADMIN}


@extend_schema_serializer(component_name="TrainingRun")
class RunSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None, read_only=True, allow_null=True)
    version = serializers.IntegerField(source="version.version", default=None, read_only=True, allow_null=True)
    error = serializers.SerializerMethodField(
        help_text="Why the run failed: the traceback's end for admins, its last line for leads."
    )

    def get_error(self, run) -> str:
        return selectors.run_error_for(run=run, is_admin=self.context.get("is_admin", False))

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "status",
            "trigger",
            "requested_by",
            "options",
            "progress",
            "metrics",
            "split",
            "error",
            "send_error",
            "attempts",
            "version",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]


@extend_schema_serializer(component_name="TrainingRunDetail")
class RunDetailSerializer(RunSerializer):
    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "history"]


@extend_schema_serializer(component_name="RewardModelVersion")
class VersionSerializer(serializers.ModelSerializer):
    parent = serializers.IntegerField(source="parent.version", default=None, read_only=True, allow_null=True)

    class Meta:
        model = RewardModelVersion
        fields = [
            "version",
            "status",
            "is_current",
            "rejected_reason",
            "parent",
            "metrics",
            "data_snapshot",
            "base_model",
            "created_at",
            "promoted_at",
        ]


class TrainStartApi(ApiView):
    @extend_schema_serializer(component_name="TrainInput")
    class InputSerializer(serializers.Serializer):
        epochs = serializers.IntegerField(min_value=1, max_value=100, required=False)
        pooling = serializers.ChoiceField(choices=POOLINGS, required=False)
        review = serializers.ChoiceField(
            choices=config.REVIEW_FILTERS, required=False,
            help_text="Whose rows it trains on, by review: all but rejected judgments' (the default), only "
            "accepted judgments' (no imported rows), or any.",
        )
        from_scratch = StrictBooleanField(required=False)
        micro_batch_size = serializers.IntegerField(
            min_value=0, max_value=4096, required=False,
            help_text="Pairs per forward/backward (gradient accumulation; 0 = the whole batch): the same step in less memory.",
        )
        activation_checkpointing = StrictBooleanField(required=False, help_text="Recompute activations in backward: less memory, slower.")
        procs = serializers.IntegerField(
            min_value=1, max_value=1024, required=False,
            help_text="Processes that train the run together through torchrun (one per GPU); default ARBITER_TRAIN_PROCS.",
        )
        bf16_cpu = StrictBooleanField(required=False, help_text="bfloat16 autocast on a CPU too (GPUs that support it use it anyway).")
        lora_r = serializers.IntegerField(min_value=0, max_value=1024, required=False, help_text="LoRA rank; 0 (the default) trains the weights themselves.")
        lora_alpha = serializers.FloatField(min_value=0, required=False)
        lora_dropout = serializers.FloatField(min_value=0, max_value=0.99, required=False)
        lora_target_modules = serializers.ListField(
            child=serializers.CharField(max_length=200), min_length=1, max_length=64, required=False,
            help_text="Module names LoRA adapts; by default the attention projections of the model's family.",
        )
        lora_merge = StrictBooleanField(
            required=False, help_text="Publish the adapters merged into the weights (the default) or kept apart (false; loading needs peft).",
        )

    @extend_schema(
        operation_id="projects_train",
        request=InputSerializer,
        responses={
            201: RunSerializer,
            200: OpenApiResponse(RunSerializer, description="A run was already queued or running: that run."),
            400: OpenApiResponse(
                ErrorSerializer, description="Invalid options, or the base model is not under ARBITER_MODEL_ROOTS."
            ),
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The project is archived: it starts no training."),
        },
        description="Leads and admins. Queue a training run (one at a time per project).",
    )
    def post(self, request, slug):
        project, role = project_for_lead(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            run, created = runs.training_run_get_or_start(
                project=project,
                trigger=TrainingRun.Trigger.MANUAL,
                requested_by=request.user,
                options=serializer.validated_data,
            )
        except config.InvalidTrainingOptions as error:  # e.g. a base model outside ARBITER_MODEL_ROOTS
            raise serializers.ValidationError({"non_field_errors": [str(error)]}) from None
        body = RunSerializer(run, context=_viewer_context(role)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RunListApi(ApiView):
    @extend_schema(
        operation_id="projects_runs_list",
        responses={200: RunSerializer(many=True), 403: ErrorSerializer, 404: ErrorSerializer},
        description="Leads and admins. The latest 50 runs, newest first.",
    )
    def get(self, request, slug):
        project, role = project_for_lead(user=request.user, slug=slug)
        return Response(RunSerializer(selectors.runs_for(project=project), many=True, context=_viewer_context(role)).data)


class RunDetailApi(ApiView):
    @extend_schema(
        operation_id="projects_runs_retrieve",
        responses={200: RunDetailSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request, slug, run_id):
        project, role = project_for_lead(user=request.user, slug=slug)
        run = get_object_or_404(TrainingRun.objects.select_related("version", "requested_by"), project=project, pk=run_id)
        return Response(RunDetailSerializer(run, context=_viewer_context(role)).data)


class ModelListApi(ApiView):
    @extend_schema(
        operation_id="projects_models_list",
        responses={200: VersionSerializer(many=True), 403: ErrorSerializer, 404: ErrorSerializer},
        description="Leads and admins. Every version, newest first; `is_current` marks the one that scores.",
    )
    def get(self, request, slug):
        project, _role = project_for_lead(user=request.user, slug=slug)
        return Response(VersionSerializer(selectors.versions_for(project=project), many=True).data)


class ModelPromoteApi(ApiView):
    @extend_schema(
        operation_id="projects_models_promote",
        request=None,
        responses={
            200: VersionSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The checkpoint failed verification against its manifest."),
        },
        description="Admins. Make this version current (overrules the promotion gate) once its checkpoint verifies.",
    )
    def post(self, request, slug, version):
        project = _project_for_admin(user=request.user, slug=slug)
        target = get_object_or_404(RewardModelVersion, project=project, version=version)
        try:
            promoted = versions.model_version_promote(version=target, actor=request.user)
        except versions.VersionUnavailable as error:
            raise Conflict(str(error)) from None
        return Response(VersionSerializer(promoted).data)


class ModelRollbackApi(ApiView):
    @extend_schema(
        operation_id="projects_models_rollback",
        request=None,
        responses={
            200: VersionSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description="No current version, none before it, or its checkpoint failed verification."
            ),
        },
        description="Admins. Make the published version before the current one current again.",
    )
    def post(self, request, slug):
        project = _project_for_admin(user=request.user, slug=slug)
        try:
            restored = versions.model_version_rollback(project=project, actor=request.user)
        except versions.VersionUnavailable as error:
            raise Conflict(str(error)) from None
        return Response(VersionSerializer(restored).data)


class OverBudgetError(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "over_budget"
    wait = 1  # DRF's handler answers it as Retry-After: a smaller batch may go at once


def _scored(call):
    try:
        return call()
    except serving.ModelFetching as error:
        raise ModelFetchingError(str(error)) from None
    except serving.ModelUnavailable as error:
        raise ModelUnavailableError(str(error)) from None
    except serving.OverBudget as error:
        raise OverBudgetError(str(error)) from None
    except serving.VersionNotPublished as error:
        raise Conflict(str(error)) from None


class ScoringOptionsSerializer(serializers.Serializer):
    """What every scoring request may add: pin a version, normalise the rewards."""

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Score with this published version (409 when it is not published), so a promotion "
        "does not move a long RL run mid-way. Default: the current version.",
    )
    normalize = StrictBooleanField(
        required=False,
        default=False,
        help_text="Return (r - mean) / std, with the mean and std that version measured on its held-out completions.",
    )


def _options(data):
    return {"version": data.get("version"), "normalize": data.get("normalize", False)}


def _refuse_too_large(*, n_items, texts, items_setting="ARBITER_SCORE_MAX_ITEMS"):
    """413 for a request over the scoring limits, checked on the raw body before the serializer
    spends time on it; whatever is not a list or a string is left to the serializer's 400."""
    try:
        serving.check_size(n_items=n_items, texts=texts, items_setting=items_setting)
    except serving.TooLarge as error:
        raise PayloadTooLarge(str(error)) from None


def _strings(named):
    return [(name, value) for name, value in named if isinstance(value, str)]


MAX_ITEMS, MAX_CHARS = settings.ARBITER_SCORE_MAX_ITEMS, settings.ARBITER_SCORE_MAX_CHARS
TOO_LARGE = OpenApiResponse(
    ErrorSerializer,
    description=f"More than ARBITER_SCORE_MAX_ITEMS ({MAX_ITEMS}) items, or a text longer than "
    f"ARBITER_SCORE_MAX_CHARS ({MAX_CHARS}) characters; `detail` says which.",
)
UNAVAILABLE = OpenApiResponse(
    ErrorSerializer,
    description="No version yet, or none whose checkpoint verifies (or the database cannot be reached); or this host is "
    "still fetching the version from the checkpoint store (with Retry-After).",
)
BAD_TOKEN = OpenApiResponse(
    ErrorSerializer, description="No credentials, or a token that is not valid (in the header or as `?token=` in the URL)."
)
PIN_REFUSED = OpenApiResponse(ErrorSerializer, description="The pinned version is not published in this project.")


class ScoreApi(ApiView):
    @extend_schema_serializer(component_name="ScoreInput")
    class InputSerializer(ScoringOptionsSerializer):
        class ScoreItemSerializer(serializers.Serializer):
            prompt = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=MAX_CHARS)
            completion = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=MAX_CHARS)

        # A ListField, not many=True, so the schema carries minItems and maxItems.
        items = serializers.ListField(child=ScoreItemSerializer(), min_length=1, max_length=MAX_ITEMS)

    @extend_schema_serializer(component_name="Scores")
    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField(
            help_text="The version that scored: the current one, or the newest earlier published one when "
            "the current checkpoint fails verification."
        )
        rewards = serializers.ListField(
            child=serializers.FloatField(),
            help_text="In the order of the items. A classifier's reward is its positive label's logit.",
        )
        probabilities = serializers.ListField(
            child=serializers.DictField(child=serializers.FloatField()),
            required=False,
            help_text='Classifier models only: per item, the softmax over the labels by name, e.g. {"not hate": 0.93, "hate": 0.07}.',
        )

    @extend_schema(
        operation_id="projects_score",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: PIN_REFUSED,
            413: TOO_LARGE,
            503: UNAVAILABLE,
        },
        description=f"Any member. Rewards r(prompt, completion) from the current version; at most {MAX_ITEMS} items.",
    )
    def post(self, request, slug):
        project, _role = project_for_member(user=request.user, slug=slug, archived_hidden=False)
        raw = request.data.get("items") if isinstance(request.data, dict) else None
        if isinstance(raw, list):
            named = [
                (f"items[{i}].{key}", item.get(key))
                for i, item in enumerate(raw)
                if isinstance(item, dict)
                for key in ("prompt", "completion")
            ]
            _refuse_too_large(n_items=len(raw), texts=_strings(named))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = [(item["prompt"], item["completion"]) for item in serializer.validated_data["items"]]
        options = _options(serializer.validated_data)
        version, rewards, probabilities = _scored(lambda: serving.scores_for(project=project, items=items, **options))
        answer = {"version": version, "rewards": rewards}
        if probabilities is not None:
            answer["probabilities"] = probabilities
        return Response(self.OutputSerializer(answer).data)


class RankApi(ApiView):
    @extend_schema_serializer(component_name="RankInput")
    class InputSerializer(ScoringOptionsSerializer):
        prompt = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=MAX_CHARS)
        completions = serializers.ListField(
            child=StrictCharField(trim_whitespace=False, allow_blank=True, max_length=MAX_CHARS),
            min_length=1,
            max_length=MAX_ITEMS,
        )

    @extend_schema_serializer(component_name="Ranking")
    class OutputSerializer(serializers.Serializer):
        class RankedSerializer(serializers.Serializer):
            index = serializers.IntegerField(help_text="Position in the request.")
            text = serializers.CharField()
            reward = serializers.FloatField()

        version = serializers.IntegerField(help_text="The version that scored (see the score endpoint).")
        completions = RankedSerializer(many=True, help_text="Best first.")
        p_first_better = serializers.FloatField(
            required=False, help_text="Only for exactly two completions: sigmoid(r_first - r_second)."
        )

    @extend_schema(
        operation_id="projects_rank",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: PIN_REFUSED,
            413: TOO_LARGE,
            503: UNAVAILABLE,
        },
        description=f"Any member. Best-of-n: the completions sorted by reward, best first; at most {MAX_ITEMS}.",
    )
    def post(self, request, slug):
        project, _role = project_for_member(user=request.user, slug=slug, archived_hidden=False)
        data = request.data if isinstance(request.data, dict) else {}
        raw = data.get("completions")
        if isinstance(raw, list):
            named = [("prompt", data.get("prompt")), *((f"completions[{i}]", text) for i, text in enumerate(raw))]
            _refuse_too_large(n_items=len(raw), texts=_strings(named))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version, ranked, p_first_better = _scored(
            lambda: serving.rank_completions(
                project=project, prompt=data["prompt"], completions=data["completions"], **_options(data)
            )
        )
        body = {"version": version, "completions": ranked}
        if p_first_better is not None:
            body["p_first_better"] = p_first_better
        return Response(self.OutputSerializer(body).data)


REWARD_MAX_ITEMS = settings.ARBITER_REWARD_MAX_ITEMS
REWARD_TOO_LARGE = OpenApiResponse(
    ErrorSerializer,
    description=f"More than ARBITER_REWARD_MAX_ITEMS ({REWARD_MAX_ITEMS}) queries, or a text longer than "
    f"ARBITER_SCORE_MAX_CHARS ({MAX_CHARS}) characters; `detail` says which.",
)


REWARD_UNAVAILABLE = OpenApiResponse(
    ErrorSerializer,
    description="No version yet, or none whose checkpoint verifies (or the database cannot be reached); this host "
    "still fetching the version from the checkpoint store (with Retry-After); or the batch was still unfinished "
    "after ARBITER_SCORE_TIME_BUDGET_SECONDS (with Retry-After: send fewer at a time).",
)


class GetRewardApi(ApiView):
    """OpenRLHF's remote reward model shape (`--remote_rm_url`)."""

    authentication_classes = [QueryTokenAuthentication, *ApiView.authentication_classes]

    @extend_schema_serializer(component_name="GetRewardInput")
    class InputSerializer(ScoringOptionsSerializer):
        query = serializers.ListField(
            child=StrictCharField(trim_whitespace=False, allow_blank=True, max_length=MAX_CHARS),
            min_length=1,
            max_length=REWARD_MAX_ITEMS,
            help_text="Whole texts: each prompt followed by its completion, as the policy's tokenizer decoded them.",
        )
        prompts = serializers.ListField(
            child=StrictCharField(trim_whitespace=False, allow_blank=True, max_length=MAX_CHARS),
            required=False,
            help_text="The prompt each query starts with; the completion is the rest. Found exactly, else after "
            "normalising case, accents, Unicode forms and whitespace, else the query is cut after its last "
            'assistant-turn marker. Without it, a query is cut after its last marker ("\n\nAssistant:", '
            "ChatML, Llama 3, Gemma, ...), or is all completion.",
        )
        labels = serializers.ListField(
            child=serializers.JSONField(allow_null=True), required=False, help_text="Accepted and ignored (rule-based rewards use it)."
        )

        def validate(self, data):
            prompts = data.get("prompts")
            if prompts is not None and len(prompts) != len(data["query"]):
                raise serializers.ValidationError({"prompts": f"{len(prompts)} prompts for {len(data['query'])} queries"})
            return data

    @extend_schema_serializer(component_name="GetRewardOutput")
    class OutputSerializer(serializers.Serializer):
        class ExtraLogsSerializer(serializers.Serializer):
            version = serializers.IntegerField(help_text="The version that scored.")
            stripped = serializers.IntegerField(help_text="Trailing special tokens removed before scoring, all queries together.")
            failed = serializers.IntegerField(help_text="Queries that could not be split, so were not scored.")

        class FailureSerializer(serializers.Serializer):
            index = serializers.IntegerField(help_text="Position in the request.")
            error = serializers.CharField()

        rewards = serializers.ListField(
            child=serializers.FloatField(allow_null=True),
            help_text="In the order of the queries; null for a query that could not be split (see `failures`).",
        )
        scores = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="The same numbers (OpenRLHF reads both).")
        extra_logs = ExtraLogsSerializer(required=False, help_text="Left out with `?extra_logs=0` (OpenRLHF 0.8 cannot read it).")
        failures = FailureSerializer(many=True, help_text="The queries that were not scored, and why.")
        version = serializers.IntegerField(help_text="The version that scored.")

    @extend_schema(
        operation_id="projects_get_reward",
        request=InputSerializer,
        parameters=[
            OpenApiParameter("extra_logs", str, enum=["0", "1"], required=False,
                             description="0 leaves `extra_logs` out of the answer (OpenRLHF 0.8 concatenates its values as tensors "
                             "and fails on JSON numbers)."),  # fmt: skip
        ],
        responses={200: OutputSerializer, 400: ErrorSerializer, 401: BAD_TOKEN, 404: ErrorSerializer, 409: PIN_REFUSED,
                   413: REWARD_TOO_LARGE, 503: REWARD_UNAVAILABLE},  # fmt: skip
        description=f"Any member. OpenRLHF's remote reward shape; at most {REWARD_MAX_ITEMS} queries "
        "(ARBITER_REWARD_MAX_ITEMS), scored in chunks. Trailing special tokens of common policies (and "
        "ARBITER_STRIP_SUFFIXES) are removed before scoring. A query that cannot be split gets a null reward and a "
        "line in `failures`; the others are scored. Also without the trailing slash.",
    )
    def post(self, request, slug):
        project, _role = project_for_member(user=request.user, slug=slug, archived_hidden=False)
        extra_logs = request.query_params.get("extra_logs")
        if extra_logs not in (None, "0", "1"):
            raise serializers.ValidationError({"extra_logs": ["0 leaves extra_logs out of the answer, 1 keeps it"]})
        data = request.data if isinstance(request.data, dict) else {}
        raw = data.get("query")
        if isinstance(raw, list):
            prompts = data.get("prompts") if isinstance(data.get("prompts"), list) else []
            named = [*((f"query[{i}]", t) for i, t in enumerate(raw)), *((f"prompts[{i}]", t) for i, t in enumerate(prompts))]
            _refuse_too_large(n_items=len(raw), texts=_strings(named), items_setting="ARBITER_REWARD_MAX_ITEMS")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        queries = rl_queries.queries_to_score(
            data["query"], data.get("prompts"), suffixes=(*rl_queries.SPECIAL_SUFFIXES, *settings.ARBITER_STRIP_SUFFIXES)
        )
        scored = [i for i, item in enumerate(queries.items) if item is not None]
        version, rewards = _scored(
            lambda: serving.rewards_for(project=project, items=[queries.items[i] for i in scored], **_options(data))
        )
        per_query = [None] * len(queries.items)
        for i, reward in zip(scored, rewards):
            per_query[i] = reward
        body = {"rewards": per_query, "scores": per_query, "version": version,
                "failures": [{"index": i, "error": error} for i, error in queries.failures]}  # fmt: skip
        if extra_logs != "0":
            body["extra_logs"] = {"version": version, "stripped": queries.stripped, "failed": len(queries.failures)}
        return Response(self.OutputSerializer(body).data)


# The same view at the URL without the trailing slash, left out of the schema (one operation each).
# The rerank views are in api_rerank.py.
@extend_schema_view(post=extend_schema(exclude=True))
class GetRewardNoSlashApi(GetRewardApi):
    pass
