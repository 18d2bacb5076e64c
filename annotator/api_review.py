"""The review API: list a project's judgments with their review, accept or reject one.

Reviewers, leads and admins (a labeler gets 403, an outsider 404), as the review pages. The
judgments come oldest first, PAGE_SIZE at a time after the `after` id, so a script walks them
with the `next_after` each page gives.
"""

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
from .models import Judgment
from .permissions import project_for_reviewer
from .project_lifecycle import project_refuse_if_archived
from .review import (
    REASON_MAX_CHARS,
    ReviewRefused,
    judgment_review_accept,
    judgment_review_reject,
)

PAGE_SIZE = 100
UNREVIEWED = "none"  # the `review` filter for judgments nobody reviewed yet


@extend_schema_serializer(component_name="ReviewedJudgment")
class JudgmentReviewSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True)
    labeler = serializers.CharField(source="annotator.username")
    prompt_id = serializers.CharField(source="prompt.external_id")
    review = serializers.ChoiceField(
        choices=Judgment.Review.choices,
        allow_blank=True,
        help_text='"" until reviewed, then accepted or rejected.',
    )
    reviewed_by = serializers.CharField(source="reviewed_by.username", allow_null=True, default=None)

    class Meta:
        model = Judgment
        fields = (
            "id", "labeler", "prompt_id", "shown", "choice", "ranking", "excluded", "labels", "strength", "comment",
            "repeat_of", "created_at", "review", "review_reason", "reviewed_by", "reviewed_at",
        )  # fmt: skip


class ProjectJudgmentsApi(ApiView):
    @extend_schema_serializer(component_name="JudgmentPage")
    class OutputSerializer(serializers.Serializer):
        results = JudgmentReviewSerializer(many=True)
        next_after = serializers.IntegerField(
            allow_null=True,
            help_text="Pass as `after` for the next page; null on the last page.",
        )

    @extend_schema(
        operation_id="projects_judgments",
        parameters=[
            OpenApiParameter(
                "review",
                OpenApiTypes.STR,
                enum=[UNREVIEWED, *Judgment.Review.values],
                description="Only judgments nobody reviewed yet (none), or accepted, or rejected ones.",
            ),
            OpenApiParameter(
                "labeler",
                OpenApiTypes.STR,
                description="Only this labeler's judgments (a username).",
            ),
            OpenApiParameter(
                "after",
                OpenApiTypes.INT,
                description="Judgments with a greater id: the page's next_after.",
            ),
        ],
        responses={
            200: OutputSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        description=f"Reviewers, leads and admins. The project's judgments oldest first, {PAGE_SIZE} a page.",
    )
    def get(self, request, slug):
        project, _role = project_for_reviewer(user=request.user, slug=slug)
        params = request.query_params
        judgments = Judgment.objects.filter(prompt__project=project).select_related(
            "annotator", "prompt", "reviewed_by"
        )
        review = params.get("review")
        if review is not None:
            if review not in (UNREVIEWED, *Judgment.Review.values):
                raise ValidationError(
                    {"review": [f"Must be one of {UNREVIEWED}, {', '.join(Judgment.Review.values)}."]}
                )
            judgments = judgments.filter(review="" if review == UNREVIEWED else review)
        if params.get("labeler"):
            judgments = judgments.filter(annotator__username=params["labeler"])
        try:
            after = int(params.get("after", "0"))  # any integer: ids are positive, so below 1 is "from the start"
        except ValueError:
            raise ValidationError({"after": ["Must be a judgment id (a whole number)."]}) from None
        after = min(max(after, 0), 2**62)  # within a bigint: an id past every id is an empty page, not a database error
        page = list(judgments.filter(id__gt=after).order_by("id")[: PAGE_SIZE + 1])
        more = len(page) > PAGE_SIZE
        page = page[:PAGE_SIZE]
        return Response(self.OutputSerializer({"results": page, "next_after": page[-1].pk if more else None}).data)


class JudgmentReviewApi(ApiView):
    @extend_schema_serializer(component_name="ReviewInput")
    class InputSerializer(serializers.Serializer):
        review = serializers.ChoiceField(choices=Judgment.Review.choices)
        reason = StrictCharField(
            required=False,
            allow_blank=True,
            max_length=REASON_MAX_CHARS,
            help_text="Required to reject: the labeler reads it. Ignored when accepting.",
        )

    @extend_schema(
        operation_id="judgments_review",
        request=InputSerializer,
        responses={
            200: JudgmentReviewSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            422: OpenApiResponse(
                ErrorSerializer,
                description="Refused: one's own judgment, or it was undone.",
            ),
        },
        description="Reviewers, leads and admins. Accept a judgment, or reject it with a reason: a rejected "
        "judgment's pairs and labels leave training and exports by default, and its prompt goes to another "
        "labeler. Reviewing again with the same answer changes nothing.",
    )
    def post(self, request, judgment_id):
        # The body first, as every other operation does: a malformed one is a 400 whatever the id.
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        judgment = Judgment.objects.select_related("prompt__project", "annotator").filter(pk=judgment_id).first()
        if judgment is None:
            raise Http404("No such judgment.")
        project, _role = project_for_reviewer(user=request.user, slug=judgment.prompt.project.slug)
        project_refuse_if_archived(project)
        try:
            if data["review"] == Judgment.Review.ACCEPTED:
                stored = judgment_review_accept(judgment=judgment, actor=request.user)
            else:
                if not data.get("reason", "").strip():
                    raise ValidationError({"reason": ["Required to reject: say why, the labeler reads it."]})
                stored = judgment_review_reject(judgment=judgment, actor=request.user, reason=data["reason"])
        except ReviewRefused as refused:
            raise Unprocessable(str(refused)) from None
        stored = Judgment.objects.select_related("annotator", "prompt", "reviewed_by").get(pk=stored.pk)
        return Response(JudgmentReviewSerializer(stored).data)
