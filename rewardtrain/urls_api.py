from django.urls import path

from . import api, api_rerank

urlpatterns = [
    path("projects/<slug:slug>/train/", api.TrainStartApi.as_view(), name="api_train"),
    path("projects/<slug:slug>/runs/", api.RunListApi.as_view(), name="api_runs"),
    path("projects/<slug:slug>/runs/<int:run_id>/", api.RunDetailApi.as_view(), name="api_run"),
    path("projects/<slug:slug>/models/", api.ModelListApi.as_view(), name="api_models"),
    path("projects/<slug:slug>/models/rollback/", api.ModelRollbackApi.as_view(), name="api_model_rollback"),
    path("projects/<slug:slug>/models/<int:version>/promote/", api.ModelPromoteApi.as_view(), name="api_model_promote"),
    path("projects/<slug:slug>/score/", api.ScoreApi.as_view(), name="api_score"),
    path("projects/<slug:slug>/rank/", api.RankApi.as_view(), name="api_rank"),
    # RL configs paste URLs with or without the slash, and a redirect would turn a POST into a GET.
    path("projects/<slug:slug>/get_reward/", api.GetRewardApi.as_view(), name="api_get_reward"),
    path("projects/<slug:slug>/get_reward", api.GetRewardNoSlashApi.as_view(), name="api_get_reward_no_slash"),
    # vLLM, Jina and TEI at one URL; the Cohere SDK adds v1/rerank or v2/rerank to its base_url.
    path("projects/<slug:slug>/rerank/", api_rerank.RerankApi.as_view(), name="api_rerank"),
    path("projects/<slug:slug>/rerank", api_rerank.RerankNoSlashApi.as_view(), name="api_rerank_no_slash"),
    path("projects/<slug:slug>/v1/rerank/", api_rerank.CohereV1RerankApi.as_view(), name="api_cohere_v1_rerank"),
    path("projects/<slug:slug>/v1/rerank", api_rerank.CohereV1RerankNoSlashApi.as_view(), name="api_cohere_v1_rerank_no_slash"),
    path("projects/<slug:slug>/v2/rerank/", api_rerank.CohereV2RerankApi.as_view(), name="api_cohere_v2_rerank"),
    path("projects/<slug:slug>/v2/rerank", api_rerank.CohereV2RerankNoSlashApi.as_view(), name="api_cohere_v2_rerank_no_slash"),
]
