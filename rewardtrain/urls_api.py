from django.urls import path

from . import api

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
    path("projects/<slug:slug>/rerank/", api.RerankApi.as_view(), name="api_rerank"),
    path("projects/<slug:slug>/rerank", api.RerankNoSlashApi.as_view(), name="api_rerank_no_slash"),
]
