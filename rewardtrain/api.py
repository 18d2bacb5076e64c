"""The reward-model REST API, version 1: training runs, versions, scoring and ranking.

Training and versions are for the project's leads and admins (promote and roll back: admins
only); scoring and ranking are for any member. Outsiders get 404, as everywhere.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from annotator.api import ApiView, ErrorSerializer
from annotator.models import Membership
from annotator.permissions import project_for_lead, project_for_member

from . import selectors, services, serving
from .models import RewardModelVersion, TrainingRun


class ModelUnavailableError(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "model_unavailable"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _project_for_admin(*, user, slug):
    project, role = project_for_lead(user=user, slug=slug)
    if role != Membership.Role.ADMIN:
        raise PermissionDenied("Only the project's admins may change which model is current.")
    return project


@extend_schema_serializer(component_name="TrainingRun")
class RunSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", default=None, read_only=True)
    version = serializers.IntegerField(source="version.version", default=None, read_only=True)

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
    parent = serializers.IntegerField(source="parent.version", default=None, read_only=True)

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
            "path",
            "created_at",
            "promoted_at",
        ]


class TrainStartApi(ApiView):
    class InputSerializer(serializers.Serializer):
        epochs = serializers.IntegerField(min_value=1, max_value=100, required=False)
        from_scratch = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="projects_train",
        request=InputSerializer,
        responses={
            201: RunSerializer,
            200: OpenApiResponse(RunSerializer, description="A run was already queued or running: that run."),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        description="Leads and admins. Queue a training run (one at a time per project).",
    )
    def post(self, request, slug):
        project, _role = project_for_lead(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, created = services.training_run_get_or_start(
            project=project,
            trigger=TrainingRun.Trigger.MANUAL,
            requested_by=request.user,
            options=serializer.validated_data,
        )
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RunListApi(ApiView):
    @extend_schema(
        operation_id="projects_runs_list",
        responses={200: RunSerializer(many=True), 403: ErrorSerializer, 404: ErrorSerializer},
        description="Leads and admins. The latest 50 runs, newest first.",
    )
    def get(self, request, slug):
        project, _role = project_for_lead(user=request.user, slug=slug)
        return Response(RunSerializer(selectors.runs_for(project=project), many=True).data)


class RunDetailApi(ApiView):
    @extend_schema(
        operation_id="projects_runs_retrieve",
        responses={200: RunDetailSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request, slug, run_id):
        project, _role = project_for_lead(user=request.user, slug=slug)
        run = get_object_or_404(TrainingRun.objects.select_related("version", "requested_by"), project=project, pk=run_id)
        return Response(RunDetailSerializer(run).data)


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
        responses={200: VersionSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        description="Admins. Make this version current (overrules the promotion gate).",
    )
    def post(self, request, slug, version):
        project = _project_for_admin(user=request.user, slug=slug)
        target = get_object_or_404(RewardModelVersion, project=project, version=version)
        try:
            promoted = services.model_version_promote(version=target)
        except services.VersionUnavailable as error:
            raise Conflict(str(error)) from None
        return Response(VersionSerializer(promoted).data)


class ModelRollbackApi(ApiView):
    @extend_schema(
        operation_id="projects_models_rollback",
        request=None,
        responses={200: VersionSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        description="Admins. Make the published version before the current one current again.",
    )
    def post(self, request, slug):
        project = _project_for_admin(user=request.user, slug=slug)
        try:
            restored = services.model_version_rollback(project=project)
        except services.VersionUnavailable as error:
            raise Conflict(str(error)) from None
        return Response(VersionSerializer(restored).data)


def _scored(call):
    try:
        return call()
    except serving.ModelUnavailable as error:
        raise ModelUnavailableError(str(error)) from None


class ScoreApi(ApiView):
    @extend_schema_serializer(component_name="ScoreInput")
    class InputSerializer(serializers.Serializer):
        class ScoreItemSerializer(serializers.Serializer):
            prompt = serializers.CharField(trim_whitespace=False, allow_blank=True)
            completion = serializers.CharField(trim_whitespace=False, allow_blank=True)

        items = ScoreItemSerializer(many=True, allow_empty=False, max_length=serving.MAX_ITEMS)

    @extend_schema_serializer(component_name="Scores")
    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField(help_text="The reward model version that scored.")
        rewards = serializers.ListField(child=serializers.FloatField(), help_text="In the order of the items.")

    @extend_schema(
        operation_id="projects_score",
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer, 503: ErrorSerializer},
        description=f"Any member. Rewards r(prompt, completion) from the current version; at most {serving.MAX_ITEMS} items.",
    )
    def post(self, request, slug):
        project, _role = project_for_member(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = [(item["prompt"], item["completion"]) for item in serializer.validated_data["items"]]
        version, rewards = _scored(lambda: serving.rewards_for(project=project, items=items))
        return Response(self.OutputSerializer({"version": version, "rewards": rewards}).data)


class RankApi(ApiView):
    @extend_schema_serializer(component_name="RankInput")
    class InputSerializer(serializers.Serializer):
        prompt = serializers.CharField(trim_whitespace=False, allow_blank=True)
        completions = serializers.ListField(
            child=serializers.CharField(trim_whitespace=False, allow_blank=True),
            min_length=1,
            max_length=serving.MAX_ITEMS,
        )

    @extend_schema_serializer(component_name="Ranking")
    class OutputSerializer(serializers.Serializer):
        class RankedSerializer(serializers.Serializer):
            index = serializers.IntegerField(help_text="Position in the request.")
            text = serializers.CharField()
            reward = serializers.FloatField()

        version = serializers.IntegerField()
        completions = RankedSerializer(many=True, help_text="Best first.")
        p_first_better = serializers.FloatField(
            required=False, help_text="Only for exactly two completions: sigmoid(r_first - r_second)."
        )

    @extend_schema(
        operation_id="projects_rank",
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer, 503: ErrorSerializer},
        description="Any member. Best-of-n: the completions sorted by reward, best first.",
    )
    def post(self, request, slug):
        project, _role = project_for_member(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version, ranked, p_first_better = _scored(
            lambda: serving.rank_completions(project=project, prompt=data["prompt"], completions=data["completions"])
        )
        body = {"version": version, "completions": ranked}
        if p_first_better is not None:
            body["p_first_better"] = p_first_better
        return Response(self.OutputSerializer(body).data)
