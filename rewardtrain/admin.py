from django import forms
from django.contrib import admin, messages

from annotator.admin import ProjectAdmin
from annotator.models import Project

from . import config, model_roots, runs, versions
from .models import RewardModelVersion, TrainingRun


class ProjectForm(forms.ModelForm):
    def clean_base_model(self):
        base_model = self.cleaned_data["base_model"]
        if base_model:  # empty: ARBITER_BASE_MODEL or the packaged model, checked when a run starts
            try:
                model_roots.base_model_check(base_model, source="this base model")
            except config.InvalidTrainingOptions as error:
                raise forms.ValidationError(str(error)) from None
        return base_model


# The project admin belongs to annotator, which knows nothing of reward models; the base model
# check is this app's, so this app swaps in a form that adds it.
admin.site.unregister(Project)


@admin.register(Project)
class ProjectWithBaseModelAdmin(ProjectAdmin):
    form = ProjectForm


def retrain(model_admin, request, projects):
    for project in sorted(projects, key=lambda p: p.slug):
        run, created = runs.training_run_get_or_start(
            project=project, trigger=TrainingRun.Trigger.MANUAL, requested_by=request.user
        )
        note = "queued" if created else f"already {run.status}"
        model_admin.message_user(request, f"{project.slug}: run {run.id} {note}.")


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = [
        "id", "project", "status", "trigger", "requested_by", "version", "created_at", "heartbeat_at", "finished_at"
    ]
    list_filter = ["status", "trigger", "project"]
    search_fields = ["project__slug", "error"]
    list_select_related = ["project", "requested_by", "version"]
    readonly_fields = [
        "task_id", "progress", "history", "metrics", "split", "error", "version", "started_at", "heartbeat_at", "finished_at"
    ]
    actions = ["retrain_now"]

    @admin.action(description="Retrain these runs' projects now")
    def retrain_now(self, request, queryset):
        retrain(self, request, {run.project for run in queryset.select_related("project")})


@admin.register(RewardModelVersion)
class RewardModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "version", "status", "is_current", "base_model", "created_at", "promoted_at"]
    list_filter = ["status", "is_current", "project"]
    search_fields = ["project__slug", "path"]
    list_select_related = ["project"]
    # The pin is what the folder is checked against: editable here, it would undo itself.
    readonly_fields = [
        "is_current", "path", "metrics", "data_snapshot", "parent", "promoted_at",
        "manifest_sha256", "manifest_size", "verification_error", "verification_failed_at",
    ]  # fmt: skip
    actions = ["promote", "retrain_now"]

    @admin.action(description="Make the selected version current (overrules the gate)")
    def promote(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.ERROR)
            return
        version = queryset.get()
        try:
            versions.model_version_promote(version=version, actor=request.user)
        except versions.VersionUnavailable as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(request, f"{version} is now current.")

    @admin.action(description="Retrain these versions' projects now")
    def retrain_now(self, request, queryset):
        retrain(self, request, {version.project for version in queryset.select_related("project")})
