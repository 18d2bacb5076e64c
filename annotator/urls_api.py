from django.urls import path

from . import api, api_prompts, api_review

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="api_projects"),
    path("projects/<slug:slug>/next/", api.NextItemApi.as_view(), name="api_next"),
    path("projects/<slug:slug>/export/", api.ProjectExportApi.as_view(), name="api_export"),
    path("projects/<slug:slug>/quality/", api.ProjectQualityApi.as_view(), name="api_quality"),
    path("assignments/<int:assignment_id>/skip/", api.AssignmentSkipApi.as_view(), name="api_skip"),
    path("judgments/", api.JudgmentCreateApi.as_view(), name="api_judgment_create"),
    path("projects/<slug:slug>/judgments/", api_review.ProjectJudgmentsApi.as_view(), name="api_judgments"),
    path("judgments/<int:judgment_id>/review/", api_review.JudgmentReviewApi.as_view(), name="api_judgment_review"),
    path("projects/<slug:slug>/prompts/", api_prompts.ProjectPromptsApi.as_view(), name="api_prompts"),
    path("projects/<slug:slug>/prompts/actions/", api_prompts.PromptActionsApi.as_view(), name="api_prompt_actions"),
]
