"""The labeling data model.

Every judgment a labeler makes is a Judgment row; every "chosen beats
rejected" pair it implies is a Comparison row, and imported labelled pairs are
Comparison rows too, so export and training read one table. In classify mode
each label given to a completion is a Classification row, imported or human,
for the same reason.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Project(models.Model):
    class Mode(models.TextChoices):
        PAIRWISE = "pairwise", "Pairwise"
        RANKING = "ranking", "Ranking"
        CLASSIFY = "classify", "Classify"

    MAX_LABELS = 9  # one digit key per label on the labeling page

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, help_text="Markdown, shown above every item.")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PAIRWISE)
    completions_shown = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(9)],
        help_text="Completions shown per item (2 in pairwise mode, 2..9 when ranking, 1..9 when classifying).",
    )
    labels = models.JSONField(
        default=list, blank=True, help_text="Classify mode: the label names (2..9), in the order their keys 1..9 pick them."
    )
    positive_label = models.CharField(
        max_length=100, blank=True, help_text="Classify mode: the label whose logit is the reward, e.g. \"not hate\"."
    )
    overlap = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Judgments wanted per prompt."
    )
    allow_tie = models.BooleanField(default=True)
    allow_edit = models.BooleanField(default=True)
    lease_seconds = models.PositiveIntegerField(
        default=600, help_text="How long an item stays reserved for the labeler who got it."
    )
    base_model = models.CharField(
        max_length=500, blank=True, help_text="Local Hugging Face model folder; empty for the default."
    )
    retrain_min_new_comparisons = models.PositiveIntegerField(
        default=200, help_text="The schedule retrains once this many comparisons arrived since the last run."
    )
    # Quality control (annotator.quality): gold items, swapped repeats, speed.
    gold_min_accuracy = models.FloatField(
        default=0.7,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Labelers below this accuracy on gold prompts (3 or more) are flagged.",
    )
    repeat_share = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of items that re-serve a pair the labeler already judged, sides swapped (0 = none).",
    )
    repeat_gap = models.PositiveIntegerField(
        default=10, help_text="A repeat comes only after this many of the labeler's judgments since the original."
    )
    min_seconds = models.FloatField(
        default=2.0, validators=[MinValueValidator(0.0)], help_text="Judgments faster than this are flagged as too fast."
    )
    class QueueOrder(models.TextChoices):
        FEWEST_LABELS = "fewest_labels", "Fewest labels first (started prompts finish first)"
        UNCERTAIN_FIRST = "uncertain_first", "Uncertain first (the current model's closest pair)"
        DISAGREEMENT = "disagreement", "Disagreements first (a confident model contradicts the labeler: a second labeler)"

    queue_order = models.CharField(
        max_length=20,
        choices=QueueOrder.choices,
        default=QueueOrder.FEWEST_LABELS,
        help_text="Which prompt a labeler gets next. Uncertain first needs a current reward model; "
        "its scores are refreshed by a periodic task, never in the request.",
    )
    rl_audit_share = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of what the scoring API scores that is kept for the RL audit page (0 = off).",
    )
    exclude_flagged_from_training = models.BooleanField(
        default=False, help_text="Training leaves out the pairs of flagged labelers and too-fast judgments."
    )
    # Archived: read-only, hidden from labelers, still exported; cleared to restore it.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.slug

    @property
    def classifies(self) -> bool:
        return self.mode == self.Mode.CLASSIFY

    @property
    def min_shown(self) -> int:
        """Completions an item needs: one to label, two to compare."""
        return 1 if self.classifies else 2

    def clean(self):
        errors = {}
        if self.mode != self.Mode.CLASSIFY and self.completions_shown < 2:
            errors["completions_shown"] = "Only a classify project shows a single completion."
        if self.classifies:
            labels = self.labels if isinstance(self.labels, list) else None
            if labels is None or not all(isinstance(x, str) and x.strip() == x and x for x in labels):
                errors["labels"] = "Give the labels as a list of names without leading or trailing spaces."
            elif not 2 <= len(labels) <= self.MAX_LABELS:
                errors["labels"] = f"A classify project has 2 to {self.MAX_LABELS} labels; {len(labels)} given."
            elif len(set(labels)) != len(labels):
                errors["labels"] = "Each label may appear only once."
            elif any(len(x) > 100 for x in labels):
                errors["labels"] = "A label name has at most 100 characters."
            elif self.positive_label not in labels:
                errors["positive_label"] = f"The positive label must be one of the labels ({', '.join(labels)})."
        elif self.labels or self.positive_label:
            errors["labels"] = "Only a classify project has labels."
        if errors:
            raise ValidationError(errors)


class Membership(models.Model):
    class Role(models.TextChoices):
        LABELER = "labeler", "Labeler"
        REVIEWER = "reviewer", "Reviewer"
        LEAD = "lead", "Project lead"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LABELER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="membership_unique_user_project")]

    def __str__(self):
        return f"{self.user} in {self.project} as {self.role}"


class Prompt(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    external_id = models.CharField(max_length=200)
    text = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    # False for prompts that arrived already labelled (imported pairs): they
    # feed training and export but are not put in front of labelers again.
    queued = models.BooleanField(default=True)
    # A known answer (gold item): completion ids best first. Labelers' judgments of it are
    # scored against it, and they yield no training pairs (the answer was not theirs to give).
    gold = models.JSONField(null=True, blank=True, help_text="Gold: the expected ranking, completion ids best first.")
    # queue_order uncertain_first: the smallest reward gap between two of its completions under
    # the current version (rewardtrain.live_scoring.refresh_queue_scores); None until scored.
    uncertainty = models.FloatField(null=True, blank=True)
    # queue_order disagreement: judgments wanted beyond the overlap, set to 1 when a confident
    # model contradicted its labeler (rewardtrain.live_scoring.score_fresh_labels), so a second labeler judges it.
    extra_judgments = models.PositiveSmallIntegerField(default=0)
    # Denormalised count of judgments, kept by judgment_record in the same
    # transaction, so the queue needs no join over Judgment.
    judgment_count = models.PositiveIntegerField(default=0)
    # Taken out of the queue by a lead: kept, never served, left out of training and exports
    # unless asked for; put back by clearing it.
    taken_out = models.BooleanField(default=False)
    # Reassigned by a lead to one labeler: served to them first, and to no one else meanwhile.
    reserved_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="prompt_unique_external_id")
        ]
        indexes = [
            models.Index(fields=["project", "queued", "-judgment_count", "id"], name="prompt_queue_idx"),
            models.Index(fields=["project", "queued", "uncertainty", "id"], name="prompt_uncertain_queue_idx"),
        ]

    def __str__(self):
        return f"{self.project.slug}/{self.external_id}"


class Completion(models.Model):
    class Origin(models.TextChoices):
        IMPORTED = "imported", "Imported"
        EDITED = "edited", "Edited by a labeler"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="completions")
    text = models.TextField()
    model_name = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.IMPORTED)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="edits")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # The reward the project's current version gave it, for queue_order uncertain_first (which
    # version: scored_version); refreshed by rewardtrain.live_scoring.refresh_queue_scores, never in a request.
    model_reward = models.FloatField(null=True, blank=True)
    scored_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"completion {self.pk} of {self.prompt_id}"


class Assignment(models.Model):
    """A lease: one prompt (and the completions chosen for display) reserved for one labeler."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DONE = "done", "Judged"
        SKIPPED = "skipped", "Skipped"
        # A skip a lead lifted: the prompt is back in that labeler's queue; kept for the record.
        SKIP_LIFTED = "skip_lifted", "Skip lifted"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    shown = models.JSONField(help_text="Completion ids in display order (A, B, ...).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # A swapped repeat of the labeler's earlier judgment: outside the overlap, no pairs.
    repeat_of = models.ForeignKey(
        "Judgment", null=True, blank=True, on_delete=models.CASCADE, related_name="repeat_assignments"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["prompt", "status", "expires_at"], name="assignment_lease_idx"),
            models.Index(fields=["annotator", "project", "status"], name="assignment_annotator_idx"),
        ]

    def __str__(self):
        return f"assignment {self.pk} ({self.status})"


class Judgment(models.Model):
    class Choice(models.TextChoices):
        A = "a", "A is better"
        B = "b", "B is better"
        TIE = "tie", "Tie"
        BOTH_BAD = "both_bad", "Both bad"

    class Strength(models.TextChoices):
        SLIGHTLY = "slightly", "Slightly better"
        MUCH = "much", "Much better"

    class Review(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="judgments")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="judgments")
    assignment = models.OneToOneField(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="judgment"
    )
    shown = models.JSONField(help_text="Completion ids in the order they were displayed.")
    choice = models.CharField(max_length=16, choices=Choice.choices, blank=True)
    ranking = models.JSONField(default=list, blank=True, help_text="Completion ids, best first.")
    excluded = models.JSONField(default=list, blank=True, help_text="Completion ids marked too hard / invalid.")
    labels = models.JSONField(
        default=dict, blank=True, help_text="Classify mode: {completion id: label name} for each labelled completion."
    )
    edited_completion = models.ForeignKey(
        Completion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    strength = models.CharField(max_length=16, choices=Strength.choices, blank=True)
    comment = models.TextField(blank=True)
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    client_id = models.CharField(max_length=64, help_text="Generated by the client; a retry reuses it.")
    # Set on a swapped repeat (quality control): the judgment it repeats. It stores no pairs.
    repeat_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="repeats")
    # Review by a lead or reviewer. A rejected judgment's pairs and labels leave training and
    # exports (unless asked for) and no longer count towards its prompt's overlap.
    review = models.CharField(max_length=16, choices=Review.choices, blank=True)
    review_reason = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotator", "client_id"], name="judgment_unique_client_id"),
            models.UniqueConstraint(
                fields=["annotator", "prompt"], condition=Q(repeat_of__isnull=True), name="judgment_once_per_prompt"
            ),
            models.UniqueConstraint(fields=["repeat_of"], name="judgment_repeated_once"),
        ]
        indexes = [models.Index(fields=["annotator", "created_at"], name="judgment_annotator_time_idx")]

    def __str__(self):
        return f"judgment {self.pk} by {self.annotator_id}"


class Comparison(models.Model):
    class Source(models.TextChoices):
        HUMAN = "human", "Human judgment"
        IMPORTED = "imported", "Imported pair"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="comparisons")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="comparisons")
    chosen = models.ForeignKey(Completion, on_delete=models.CASCADE, related_name="+")
    rejected = models.ForeignKey(Completion, on_delete=models.CASCADE, related_name="+")
    judgment = models.ForeignKey(
        Judgment, null=True, blank=True, on_delete=models.CASCADE, related_name="comparisons"
    )
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.HUMAN)
    strength = models.CharField(max_length=16, choices=Judgment.Strength.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(chosen=models.F("rejected")), name="comparison_distinct_sides"),
        ]
        indexes = [
            models.Index(fields=["project", "id"], name="comparison_export_idx"),
            models.Index(fields=["project", "created_at"], name="comparison_time_idx"),
            models.Index(fields=["prompt", "chosen", "rejected"], name="comparison_pair_idx"),
        ]

    def __str__(self):
        return f"{self.chosen_id} > {self.rejected_id}"


class Classification(models.Model):
    """One completion given one label of its project's label set (classify mode)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="classifications")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="classifications")
    completion = models.ForeignKey(Completion, on_delete=models.CASCADE, related_name="classifications")
    label = models.CharField(max_length=100)
    judgment = models.ForeignKey(
        Judgment, null=True, blank=True, on_delete=models.CASCADE, related_name="classifications"
    )
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=16, choices=Comparison.Source.choices, default=Comparison.Source.HUMAN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "id"], name="classification_export_idx")]

    def __str__(self):
        return f"completion {self.completion_id}: {self.label}"


class ImportJob(models.Model):
    """A large upload imported by a Celery worker; the lead watches its progress on a page."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=16, blank=True, help_text="Empty: detected from the file.")
    skip_invalid = models.BooleanField(default=False)
    upload_path = models.CharField(max_length=500, help_text="The saved upload; removed when the job ends.")
    size = models.PositiveBigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Lines checked (lines_total still null), then lines written out of lines_total.
    lines_done = models.PositiveIntegerField(default=0)
    lines_total = models.PositiveIntegerField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True, help_text="ImportReport.as_dict() once it succeeded.")
    errors = models.JSONField(default=list, blank=True, help_text="[{line, field, reason}], the first ones.")
    errors_total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker while it runs; the reaper fails a job whose heartbeat went stale.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Deliveries that ran it: 2 after a worker died.")

    def __str__(self):
        return f"import {self.pk} of {self.filename} ({self.status})"


class AuditEntry(models.Model):
    """Who changed what in a project, and when: set-up, members, undone judgments.

    Written by annotator.audit_log.audit_record in the same transaction as the change it
    describes, so the log never claims a change that was rolled back.
    """

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit")
    # Kept as text too: the log must still say who and which project after either is deleted.
    project_slug = models.CharField(max_length=50, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, help_text="e.g. project.create, member.add, judgment.undo")
    detail = models.JSONField(default=dict, blank=True, help_text="What changed: ids, old and new values.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "-created_at"], name="audit_project_time_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username} {self.action}"


class ApiToken(models.Model):
    """A named API token a user made on their tokens page (annotator/tokens.py); a user may hold many.

    Only the key's SHA-256 is stored: the key is shown once, and a copy of the database gives no
    working keys. A plain hash suffices because keys are 192 random bits, not passwords. DRF's own
    Token rows (one per user, from `manage.py drf_create_token` or add_member) keep working beside these.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The key's first characters, so its owner can tell keys apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Written at most once a minute per token (annotator/tokens.py), never on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
