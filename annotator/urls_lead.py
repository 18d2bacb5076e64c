from django.urls import path

from . import views_lead

urlpatterns = [
    path("projects/<slug:slug>/", views_lead.project_detail, name="project_detail"),
    path("projects/<slug:slug>/import/", views_lead.project_import, name="project_import"),
    path("projects/<slug:slug>/import/<int:job_id>/", views_lead.import_job_detail, name="import_job_detail"),
    path("projects/<slug:slug>/export.jsonl", views_lead.project_export, name="project_export"),
]
