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
]
