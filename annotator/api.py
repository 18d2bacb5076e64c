"""The labeling REST API, version 1: one view per operation.

Each view validates with its nested InputSerializer, calls one service or
selector, and answers with its nested OutputSerializer. Every error body is
`{"detail": "...", "errors": {field: [messages]}}`, `errors` only on 400.
Anonymous callers get 401; outsiders get 404 for anything in a project.
"""

from django.conf import settings
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from . import export_formats, exports
from .api_docs import ApiSchema, ErrorSerializer
from .export_audit import export_audit
from .fields import CompletionLabelsField, StrictCharField
from .judgments import (
    InvalidJudgment,
    JudgmentConflict,
    JudgmentMismatch,
    JudgmentResult,
    judgment_pairs,
    judgment_record,
)
from .models import Assignment, Judgment, Membership, Project
from .permissions import project_for_labeler, project_for_lead
from .project_lifecycle import project_refuse_if_archived
from .queue import assignment_next_for, assignment_skip
from .selectors import projects_for, quality_report_for


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with what is already stored."
    default_code = "conflict"


class Unprocessable(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This cannot be done with what was sent."
    default_code = "unprocessable"


def api_exception_handler(exc, context):
    """DRF's handler, with validation errors moved under "errors" beside a "detail"."""
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": "Invalid input.", "errors": errors}
    return response


class ApiView(APIView):
    schema = ApiSchema()  # declares 401, CSRF's 403 and the database's 503 on every operation

    def get_exception_handler(self):
        return api_exception_handler


def _own_assignment(*, user, assignment_id):
    """The caller's own assignment, with its project; 404 for anyone else's."""
    assignment = Assignment.objects.select_related("project").filter(pk=assignment_id).first()
    if assignment is None or assignment.annotator_id != user.pk:
        raise Http404("No such assignment.")
    project_refuse_if_archived(assignment.project)  # skipping or judging it would change the project
    assignment.annotator = user
    return assignment


class ProjectListApi(ApiView):
    @extend_schema_serializer(component_name="Project")
    class OutputSerializer(serializers.ModelSerializer):
        role = serializers.ChoiceField(choices=Membership.Role.choices)

        class Meta:
            model = Project
            fields = [
                "slug",
                "name",
                "mode",
                "completions_shown",
                "overlap",
                "allow_tie",
                "allow_edit",
                "labels",
                "positive_label",
                "instructions",
                "role",
            ]

    @extend_schema(operation_id="projects_list", responses={200: OutputSerializer(many=True)})
    def get(self, request):
        roles = dict(Membership.objects.filter(user=request.user).values_list("project_id", "role"))
        projects = list(projects_for(user=request.user))
        for project in projects:
            # Superusers see every project as admins, member or not.
            project.role = Membership.Role.ADMIN if request.user.is_superuser else roles[project.pk]
        return Response(self.OutputSerializer(projects, many=True).data)


class NextItemApi(ApiView):
    @extend_schema_serializer(component_name="Item")
    class OutputSerializer(serializers.Serializer):
        class TextSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            text = serializers.CharField()

        assignment = serializers.IntegerField(source="pk")
        prompt = TextSerializer()
        completions = TextSerializer(source="shown_completions", many=True, help_text="In display order: A, B, ...")

    @extend_schema(
        operation_id="projects_next",
        request=None,
        responses={
            200: OutputSerializer,
            204: OpenApiResponse(description="Nothing is left for you to judge."),
            403: OpenApiResponse(ErrorSerializer, description="The project is archived (to a labeler)."),
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The project is archived (to a lead or admin)."),
        },
        description="Lease the next item (or get back the one you hold). Not idempotent: it may create a lease.",
    )
    def get(self, request, slug):
        project, _role = project_for_labeler(user=request.user, slug=slug)
        project_refuse_if_archived(project)  # a lead's call too: it leases an item
        assignment = assignment_next_for(annotator=request.user, project=project)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.OutputSerializer(assignment).data)


class AssignmentSkipApi(ApiView):
    @extend_schema(
        operation_id="assignments_skip",
        request=None,
        responses={
            204: OpenApiResponse(description="Skipped (or already closed)."),
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The project is archived."),
        },
        description="Give the item back; you will not be offered this prompt again.",
    )
    def post(self, request, assignment_id):
        assignment_skip(assignment=_own_assignment(user=request.user, assignment_id=assignment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class JudgmentCreateApi(ApiView):
    @extend_schema_serializer(component_name="JudgmentInput")
    class InputSerializer(serializers.Serializer):
        class EditSerializer(serializers.Serializer):
            completion = serializers.IntegerField(help_text="The shown completion that was edited.")
            text = StrictCharField(trim_whitespace=False, max_length=settings.ARBITER_MAX_TEXT_CHARS)

        assignment = serializers.IntegerField()
        client_id = StrictCharField(
            max_length=64, help_text="Generated by the client per judgment; a retry sends the same one."
        )
        choice = serializers.ChoiceField(choices=Judgment.Choice.choices, required=False, help_text="Pairwise.")
        ranking = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="Best first.")
        excluded = serializers.ListField(child=serializers.IntegerField(), required=False)
        labels = CompletionLabelsField(
            required=False,
            help_text='Classify mode: {"<completion id>": "<label name>"} for each shown completion not excluded.',
        )
        strength = serializers.ChoiceField(choices=Judgment.Strength.choices, required=False)
        comment = StrictCharField(required=False, allow_blank=True, max_length=settings.ARBITER_MAX_TEXT_CHARS)
        time_spent_ms = serializers.IntegerField(required=False, min_value=0, max_value=2_000_000_000)
        edit = EditSerializer(required=False)

    @extend_schema_serializer(component_name="Judgment")
    class OutputSerializer(serializers.ModelSerializer):
        comparisons = serializers.SerializerMethodField(help_text="[chosen, rejected] completion id pairs.")

        class Meta:
            model = Judgment
            fields = [
                "id",
                "assignment",
                "prompt",
                "choice",
                "ranking",
                "excluded",
                "labels",
                "strength",
                "comment",
                "edited_completion",
                "client_id",
                "created_at",
                "comparisons",
            ]

        def get_comparisons(self, judgment) -> list[list[int]]:
            return [[chosen, rejected] for chosen, rejected in judgment_pairs(judgment)]

    @extend_schema(
        operation_id="judgments_create",
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            200: OpenApiResponse(OutputSerializer, description="A retry: this client_id was already stored."),
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            422: OpenApiResponse(ErrorSerializer, description="This client_id was stored with another judgment."),
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        assignment = _own_assignment(user=request.user, assignment_id=data["assignment"])
        edit = data.get("edit")
        result = JudgmentResult(
            choice=data.get("choice", ""),
            ranking=data.get("ranking", []),
            excluded=data.get("excluded", []),
            labels=data.get("labels", {}),
            strength=data.get("strength", ""),
            comment=data.get("comment", ""),
            edit_of=edit["completion"] if edit else None,
            edit_text=edit["text"] if edit else "",
            time_spent_ms=data.get("time_spent_ms"),
        )
        try:
            judgment, created = judgment_record(assignment=assignment, result=result, client_id=data["client_id"])
        except InvalidJudgment as error:
            raise ValidationError({name: [message] for name, message in error.errors.items()}) from None
        except JudgmentConflict as error:
            raise Conflict(str(error)) from None
        except JudgmentMismatch as error:
            raise Unprocessable(str(error)) from None
        return Response(
            self.OutputSerializer(judgment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class FileFormatNegotiation(DefaultContentNegotiation):
    """The export's ?format= names the file format, not a DRF renderer, so it must not pick one.

    Errors are always JSON; the export itself is a StreamingHttpResponse that
    bypasses renderers.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ProjectExportApi(ApiView):
    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        operation_id="projects_export",
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(export_formats.FORMATS), default="jsonl"),
            OpenApiParameter(
                "kind", OpenApiTypes.STR, enum=list(exports.KINDS), default="pairs",
                description="Default: labels for a classify project (its only kind besides judgments), else pairs.",
            ),
            OpenApiParameter(
                "form", OpenApiTypes.STR, enum=list(exports.FORMS), default="explicit", description="Pairs only; others ignore it."
            ),
            OpenApiParameter(
                "since", OpenApiTypes.DATETIME, description="Created at or after (ISO 8601)."
            ),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Created before (ISO 8601)."),
            OpenApiParameter("labelers", OpenApiTypes.STR, description="Comma-separated usernames."),
            OpenApiParameter("source", OpenApiTypes.STR, enum=list(exports.SOURCES)),
            OpenApiParameter("split", OpenApiTypes.STR, enum=list(exports.SPLITS)),
            OpenApiParameter(
                "hash_annotators", OpenApiTypes.BOOL, default=False, description="Keyed hashes instead of usernames."
            ),
            OpenApiParameter(
                "min_agreement", {"type": "number", "minimum": 0, "maximum": 1},
                description="0 to 1: only prompts whose judgments agree with their majority at least this much "
                "(the quality report's per-prompt agreement); a prompt no two labelers answered is left out.",
            ),
            OpenApiParameter(
                "exclude_flagged", OpenApiTypes.BOOL, default=False,
                description="Leave out the labelers the quality report flags and judgments faster than the project's "
                "min_seconds. Imported rows stay.",
            ),
            OpenApiParameter(
                "review", OpenApiTypes.STR, enum=list(exports.REVIEW_FILTERS), default=exports.REVIEW_DEFAULT,
                description="Whose rows, by review: all but rejected judgments' (the default), only accepted "
                "judgments' (imported rows have no judgment and are left out), or any.",
            ),
            OpenApiParameter(
                "include_gold", OpenApiTypes.BOOL, default=False,
                description="Keep gold prompts' human rows in pairs, rankings and labels (left out by default: they test "
                "labelers). The judgments kind always has them, marked gold.",
            ),
            OpenApiParameter(
                "include_taken_out", OpenApiTypes.BOOL, default=False,
                description="Keep the rows of prompts a lead took out of the queue (left out by default, as training "
                "leaves them out).",
            ),
        ],
        # A generated client parses a status one way only, by the first media type it knows:
        # octet-stream comes first so that it hands over every format's bytes (openapi-python-client
        # would read text/csv as text, and a Parquet file with it). The OpenAPI document keeps
        # one description per status: the first.
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file, sent as the format's own media type: JSONL (application/x-ndjson, one JSON "
                "object per line), CSV (text/csv, a header, then one row per record), Parquet "
                "(application/vnd.apache.parquet, a fixed schema per kind and form). All UTF-8 where text.",
            ),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            (200, "application/vnd.apache.parquet"): OpenApiResponse(OpenApiTypes.BINARY),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="No row matches the options: " + exports.NOTHING_TO_EXPORT),
        },
        description="Leads and admins only. Streams in constant memory however large the project.",
    )
    def get(self, request, slug):
        project, _role = project_for_lead(user=request.user, slug=slug)
        try:
            options = exports.export_options_from(request.query_params, strict=True, project=project)
        except exports.ExportOptionsError as error:
            raise ValidationError({name: [reason] for name, reason in error.errors.items()}) from None
        if not exports.export_has_rows(project=project, options=options):
            raise Conflict(exports.NOTHING_TO_EXPORT)
        export_audit(project=project, actor=request.user, options=options, via="api")
        response = StreamingHttpResponse(
            exports.export_stream(project=project, options=options), content_type=options.content_type
        )
        response["Content-Disposition"] = f'attachment; filename="{options.filename(project.slug)}"'
        return response


# The quality report's parts (annotator.quality.quality_report): a figure without data is null.
class QualityKindAgreementSerializer(serializers.Serializer):
    with_majority = serializers.FloatField(allow_null=True)
    krippendorff_alpha = serializers.FloatField(allow_null=True)
    items = serializers.IntegerField()


class QualityAgreementSerializer(QualityKindAgreementSerializer):
    items = serializers.IntegerField(help_text="Items (a prompt and the shown completions) 2+ labelers answered.")
    pairwise = QualityKindAgreementSerializer(help_text="Pairwise items; alpha at the nominal level.")
    ranking = QualityKindAgreementSerializer(help_text="Ranking items; alpha at the ordinal level.")
    labels = QualityKindAgreementSerializer(
        help_text="Classify mode: each completion labelled by 2+ labelers is an item; alpha at the nominal level."
    )


class QualityBiasSerializer(serializers.Serializer):
    judgments = serializers.IntegerField(help_text="First judgments: repeats are left out.")
    left_rate = serializers.FloatField(allow_null=True, help_text="Share of A among the A/B choices.")
    longer_wins_rate = serializers.FloatField(allow_null=True)
    tie_rate = serializers.FloatField(allow_null=True)
    both_bad_rate = serializers.FloatField(allow_null=True)
    median_seconds = serializers.FloatField(allow_null=True)
    timed = serializers.IntegerField()
    fast = serializers.IntegerField(help_text="Timed judgments faster than the project's min_seconds.")


class QualityLabelerSerializer(QualityBiasSerializer):
    username = serializers.CharField()
    agreement_with_majority = serializers.FloatField(allow_null=True)
    agreement_items = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    gold_items = serializers.IntegerField()
    self_consistency = serializers.FloatField(allow_null=True)
    repeats = serializers.IntegerField()
    flagged = serializers.BooleanField()
    flag_reasons = serializers.ListField(child=serializers.CharField())


class QualityDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    judgments = serializers.IntegerField()


class QualityLabelerDaySerializer(QualityDaySerializer):
    username = serializers.CharField()


class QualityThroughputSerializer(serializers.Serializer):
    per_day = QualityDaySerializer(many=True)
    per_labeler_day = QualityLabelerDaySerializer(many=True)


class ProjectQualityApi(ApiView):
    @extend_schema_serializer(component_name="QualityReport")
    class OutputSerializer(serializers.Serializer):
        agreement = QualityAgreementSerializer()
        labelers = QualityLabelerSerializer(many=True, help_text="One row per labeler who judged, by username.")
        overall = QualityBiasSerializer(help_text="The bias figures over every labeler.")
        throughput = QualityThroughputSerializer(help_text="Judgments per day (UTC), repeats included.")

    @extend_schema(
        operation_id="projects_quality",
        responses={200: OutputSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
        description="Leads and admins only. Agreement, gold accuracy, self-consistency, bias and throughput "
        "per labeler (see annotator.quality); null where a figure has no data.",
    )
    def get(self, request, slug):
        project, _role = project_for_lead(user=request.user, slug=slug)
        return Response(self.OutputSerializer(quality_report_for(project=project)).data)
