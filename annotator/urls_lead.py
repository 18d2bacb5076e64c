from django.urls import path

from . import views_console, views_lead, views_lifecycle, views_prompts, views_quality, views_review

urlpatterns = [
    path("projects/<slug:slug>/", views_lead.project_detail, name="project_detail"),
    path("projects/<slug:slug>/import/", views_lead.project_import, name="project_import"),
    path("projects/<slug:slug>/import/<int:job_id>/", views_lead.import_job_detail, name="import_job_detail"),
    path("projects/<slug:slug>/export/", views_lead.project_export, name="project_export"),
    path("projects/<slug:slug>/quality/", views_quality.quality, name="project_quality"),
    path("projects/<slug:slug>/quality/<slug:chart>.csv", views_quality.quality_chart_csv, name="project_quality_csv"),
    # The console: set-up, members, audit log, judgments (views_console.py).
    path("console/projects/new/", views_console.project_new, name="project_new"),
    path("console/preview/", views_console.instructions_preview, name="instructions_preview"),
    path("projects/<slug:slug>/settings/", views_console.project_settings, name="project_settings"),
    path("projects/<slug:slug>/members/", views_console.members, name="project_members"),
    path("projects/<slug:slug>/members/<int:membership_id>/", views_console.member_change, name="member_change"),
    path("projects/<slug:slug>/archive/", views_lifecycle.project_archive_page, name="project_archive"),
    path("projects/<slug:slug>/restore/", views_lifecycle.project_restore_page, name="project_restore"),
    path("projects/<slug:slug>/delete/", views_lifecycle.project_delete_page, name="project_delete"),
    path("console/deleted-projects/audit/", views_lifecycle.deleted_projects_audit, name="deleted_projects_audit"),
    path("projects/<slug:slug>/audit/", views_console.audit_log, name="project_audit"),
    path("projects/<slug:slug>/audit.csv", views_console.audit_log_csv, name="project_audit_csv"),
    path("projects/<slug:slug>/judgments/", views_console.judgments, name="project_judgments"),
    path("projects/<slug:slug>/judgments/<int:judgment_id>/", views_console.judgment_detail, name="judgment_detail"),
    path("projects/<slug:slug>/judgments/<int:judgment_id>/gold/", views_console.judgment_gold, name="judgment_gold"),
    path("projects/<slug:slug>/judgments/<int:judgment_id>/review/", views_review.judgment_review, name="judgment_review"),
    path("projects/<slug:slug>/review/", views_review.review_queue, name="project_review"),
    path("projects/<slug:slug>/prompts/", views_prompts.prompts, name="project_prompts"),
    path("projects/<slug:slug>/imported-pairs/<int:pair_id>/", views_console.imported_pair_detail, name="imported_pair_detail"),
    path("projects/<slug:slug>/imported-labels/<int:label_id>/", views_console.imported_label_detail, name="imported_label_detail"),
]
