from django.urls import path

from . import views, views_files

urlpatterns = [
    path("projects/<slug:slug>/models/", views.project_models, name="project_models"),
    path("projects/<slug:slug>/models/train/", views.project_train, name="project_train"),
    path("projects/<slug:slug>/models/rollback/", views.project_model_rollback, name="project_model_rollback"),
    path(
        "projects/<slug:slug>/models/<int:version>/promote/",
        views.project_model_promote,
        name="project_model_promote",
    ),
    path("projects/<slug:slug>/models/<int:version>/", views_files.project_model_version, name="project_model_version"),
    path(
        "projects/<slug:slug>/models/<int:version>/checkpoint.tar",
        views_files.project_model_version_tar,
        name="project_model_version_tar",
    ),
    path(
        "projects/<slug:slug>/models/<int:version>/files/<path:name>",
        views_files.project_model_version_file,
        name="project_model_version_file",
    ),
    path("projects/<slug:slug>/runs/<int:run_id>/", views.project_run, name="project_run"),
    path("projects/<slug:slug>/rl-audit/", views.project_rl_audit, name="project_rl_audit"),
]
