from django.contrib import admin

from .models import Assignment, Comparison, Completion, Judgment, Membership, Project, Prompt


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "mode", "completions_shown", "overlap", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__slug"]


class CompletionInline(admin.StackedInline):
    model = Completion
    extra = 0
    fk_name = "prompt"
    raw_id_fields = ["parent", "author"]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "judgment_count", "queued", "created_at"]
    list_filter = ["project", "queued"]
    search_fields = ["external_id", "text"]
    inlines = [CompletionInline]


@admin.register(Completion)
class CompletionAdmin(admin.ModelAdmin):
    list_display = ["id", "prompt", "model_name", "origin", "author", "created_at"]
    list_filter = ["origin"]
    raw_id_fields = ["prompt", "parent", "author"]
    search_fields = ["text"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "prompt", "annotator", "status", "expires_at"]
    list_filter = ["status", "project"]
    raw_id_fields = ["prompt", "annotator"]


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = ["id", "annotator", "prompt", "choice", "strength", "created_at"]
    list_filter = ["choice", "prompt__project"]
    raw_id_fields = ["prompt", "assignment", "annotator", "edited_completion"]


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "prompt", "chosen", "rejected", "source", "annotator", "created_at"]
    list_filter = ["source", "project"]
    raw_id_fields = ["prompt", "chosen", "rejected", "judgment", "annotator"]
