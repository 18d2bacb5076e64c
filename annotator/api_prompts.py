"""The prompts API: a project's prompts searched, filtered and paged as on the prompts page, and the
page's actions on a selection of them.

Reading: reviewers, leads and admins; acting: leads and admins (a labeler gets 403, an outsider 404).
"""

from django.core.paginator import Paginator
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .api import ApiView, Unprocessable
from .api_docs import ErrorSerializer
from .fields import StrictCharField
from .permissions import project_for_lead, project_for_reviewer
from .project_lifecycle import project_refuse_if_archived
from .prompt_actions import PromptActionRefused
from .prompt_browser import (
    FILTERS,
    PROMPTS_PER_PAGE,
    UnknownFilter,
    prompt_rows,
    prompts_browsed,
)
from .prompt_selection import ACTIONS, REASSIGN, UnknownLabeler, prompt_selection_apply

SEARCH_MAX_CHARS = 200  # as the page's search box


class LeaseSerializer(serializers.Serializer):
    labeler = serializers.CharField()
    expires_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="BrowsedPrompt")
class PromptRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="prompt.pk")
    external_id = serializers.CharField(source="prompt.external_id")
    text = serializers.CharField(source="prompt.text")
    source = serializers.CharField(help_text="The metadata's `source`, else whether it arrived labelled.")
    created_at = serializers.DateTimeField(source="prompt.created_at")
    judgment_count = serializers.IntegerField(source="prompt.judgment_count")
    extra_judgments = serializers.IntegerField(source="prompt.extra_judgments")
    wanted = serializers.IntegerField(help_text="Judgments wanted: the overlap plus extra_judgments.")
    leases = LeaseSerializer(many=True, help_text="Live leases: who holds the prompt, until when.")
    skipped_by = serializers.ListField(child=serializers.CharField())
    gold = serializers.BooleanField(source="prompt.gold", help_text="A gold item (it has a known answer).")
    agreement = serializers.FloatField(
        allow_null=True, help_text="Share of its judgments giving the majority answer; null below two labelers."
    )
    queued = serializers.BooleanField(source="prompt.queued", help_text="False for prompts imported already labelled.")
    taken_out = serializers.BooleanField(source="prompt.taken_out")
    reserved_for = serializers.CharField(source="prompt.reserved_for.username", allow_null=True, default=None)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["gold"] = instance.prompt.gold is not None
        return data


class ProjectPromptsApi(ApiView):
    @extend_schema_serializer(component_name="PromptPage")
    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField(help_text="Prompts matching, on all pages.")
        page = serializers.IntegerField()
        pages = serializers.IntegerField()
        results = PromptRowSerializer(many=True)

    @extend_schema(
        operation_id="projects_prompts",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Search: words of the text (PostgreSQL's full-text "
                             "search), or an external id; a substring on SQLite."),
            OpenApiParameter("filter", OpenApiTypes.STR, enum=list(FILTERS), description="Only these prompts: "
                             + "; ".join(f"{name}: {label}" for name, label in FILTERS.items()) + "."),
            OpenApiParameter("page", {"type": "integer", "minimum": 1}, description=f"From 1; {PROMPTS_PER_PAGE} a page."),
        ],
        responses={
            200: OutputSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such project for the caller, or no such page."),
        },
        description=f"Reviewers, leads and admins. The project's prompts oldest first, {PROMPTS_PER_PAGE} a page, "
        "as the prompts page lists them (`q`, `filter` and `page` as in its address).",
    )
    def get(self, request, slug):
        project, _role = project_for_reviewer(user=request.user, slug=slug)
        params = request.query_params
        search = params.get("q", "")
        if len(search) > SEARCH_MAX_CHARS or "\x00" in search:  # PostgreSQL refuses NUL in text
            raise ValidationError({"q": [f"At most {SEARCH_MAX_CHARS} characters, none of them NUL."]})
        try:
            browsed = prompts_browsed(project=project, search=search, filter_by=params.get("filter", ""))
        except UnknownFilter as unknown:
            raise ValidationError({"filter": [str(unknown)]}) from None
        number = params.get("page", "1")
        paginator = Paginator(browsed, PROMPTS_PER_PAGE)
        if not (number.isascii() and number.isdigit()) or not number.strip("0"):
            raise ValidationError({"page": ["Must be a whole number from 1."]})
        if len(number) > 9 or int(number) > paginator.num_pages:  # (int() refuses thousands of digits)
            raise Http404(f"No page {number}: there are {paginator.num_pages}.")
        page = paginator.page(int(number))
        return Response(
            self.OutputSerializer(
                {
                    "count": paginator.count, "page": page.number, "pages": paginator.num_pages,
                    "results": prompt_rows(project=project, prompts=page.object_list),
                }
            ).data
        )


class PromptActionsApi(ApiView):
    @extend_schema_serializer(component_name="PromptActionInput")
    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=list(ACTIONS))
        prompt_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1, max_length=1000,
            help_text="Prompt ids (the listing's `id`, not the external id); other projects' are ignored.",
        )  # fmt: skip
        labeler = StrictCharField(required=False, max_length=150, help_text="reassign only: the username to reserve them for.")

        def validate(self, data):
            if data["action"] == REASSIGN and not data.get("labeler"):
                raise ValidationError({"labeler": ["Required to reassign: the labeler's username."]})
            return data

    @extend_schema_serializer(component_name="PromptActionResult")
    class OutputSerializer(serializers.Serializer):
        detail = serializers.CharField(help_text='What was done, as the page says it: "3 prompts taken out of the queue".')

    @extend_schema(
        operation_id="projects_prompts_actions",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such project for the caller, or `labeler` is not "
                                 "a member of it who may label."),
            409: OpenApiResponse(ErrorSerializer, description="The project is archived."),
            422: OpenApiResponse(ErrorSerializer, description="Refused, saying why: reassigning prompts the labeler "
                                 "judged, or that have all their judgments, or are taken out."),
        },
        description="Leads and admins. Act on prompts as the prompts page does: release_leases, send_back, "
        "take_out, put_back, lift_skips, or reassign (with `labeler`).",
    )
    def post(self, request, slug):
        project, _role = project_for_lead(user=request.user, slug=slug)
        project_refuse_if_archived(project)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            said = prompt_selection_apply(
                project=project, action=data["action"], prompt_ids=data["prompt_ids"], actor=request.user,
                labeler=data.get("labeler", ""),
            )  # fmt: skip
        except UnknownLabeler as unknown:
            raise Http404(str(unknown)) from None
        except PromptActionRefused as refused:
            raise Unprocessable(str(refused)) from None
        return Response(self.OutputSerializer({"detail": said}).data)
