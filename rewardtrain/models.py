"""Training runs and the reward-model versions they publish.

Only rewardtrain/runs.py and versions.py write these rows; the trainer itself
(data.py, training.py, checkpoints.py, scoring.py) knows nothing of Django.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotator.models import Project
from rewardtrain.checkpoints import ManifestPin


class RewardModelVersion(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected by the promotion gate"
        # Too few held-out pairs to compare it with the current version: it waits for an admin.
        PENDING = "pending", "Pending evidence"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    version = models.PositiveIntegerField()
    # The checkpoint's name in the store, <slug>/v<N> (rewardtrain/storage.py), never a host's
    # folder: every host finds it through the store (checkpoint_store.version_folder).
    path = models.CharField(max_length=1000, help_text="The checkpoint's name in the checkpoint store: <slug>/v<N>.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PUBLISHED)
    is_current = models.BooleanField(default=False)
    rejected_reason = models.TextField(blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    metrics = models.JSONField(default=dict, blank=True)
    data_snapshot = models.JSONField(default=dict, blank=True)
    base_model = models.CharField(max_length=1000, blank=True)
    # The pin: sha256 and size of manifest.json's bytes at publish. The folder's manifest alone
    # can be rewritten with its files; the row records what was published. Empty on rows
    # published before pins: those are checked against their own manifest only, until
    # `verify_checkpoints --pin-unpinned` pins them.
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    manifest_size = models.PositiveBigIntegerField(null=True, blank=True)
    verification_error = models.TextField(
        blank=True, help_text="Why its folder was last refused (cleared once it verifies again); names no path."
    )
    verification_failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="model_version_unique"),
            models.CheckConstraint(
                condition=Q(manifest_sha256="", manifest_size__isnull=True)
                | (~Q(manifest_sha256="") & Q(manifest_size__isnull=False)),
                name="model_version_pin_whole",
            ),
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_current=True), name="model_version_one_current"
            ),
        ]
        ordering = ["-version"]

    def __str__(self):
        return f"{self.project.slug} v{self.version}"

    @property
    def manifest_pin(self):
        """The checkpoints.ManifestPin recorded at publish; None on a row published before pins."""
        return ManifestPin(self.manifest_sha256, self.manifest_size) if self.manifest_sha256 else None


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected by the promotion gate"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        CLI = "cli", "Command line"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="training_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    options = models.JSONField(default=dict, blank=True, help_text="Overrides of the training config.")
    progress = models.JSONField(default=dict, blank=True, help_text="Latest step, total, loss, pairs/s.")
    history = models.JSONField(default=list, blank=True, help_text="Metrics at every evaluation.")
    metrics = models.JSONField(default=dict, blank=True)
    split = models.JSONField(default=dict, blank=True, help_text="The held-out split this run used.")
    error = models.TextField(blank=True)
    note = models.TextField(
        blank=True, help_text="What befell the run beside its outcome: interrupted by a worker shutdown and queued again."
    )
    # The Celery task id the run was enqueued under: a redelivery carries the
    # same id, a stale message from another enqueue does not.
    task_id = models.CharField(max_length=64, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When its task was last sent (or tried).")
    send_error = models.TextField(
        blank=True, help_text="Why the last send to the broker failed; the reaper's next tick sends it again."
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker claimed it: a redelivery after the worker died retries once."
    )
    version = models.ForeignKey(
        RewardModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Single flight: at most one queued or running run per project, enforced by the database.
            models.UniqueConstraint(
                fields=["project"], condition=Q(status__in=["queued", "running"]), name="training_run_single_flight"
            )
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="training_run_reaper_idx")]
        ordering = ["-id"]

    def __str__(self):
        return f"run {self.pk} of {self.project.slug} ({self.status})"

    @property
    def phase_text(self) -> str:
        """What a running run is doing: "loading the model", "step 3 of 40", "publishing" (static/js/run_progress.js says it the same way)."""
        progress = self.progress or {}
        if progress.get("phase") == "training" and progress.get("total"):
            return f"step {progress.get('step')} of {progress['total']}"
        return progress.get("phase", "")


class FreshLabelScore(models.Model):
    """A version's rewards for a human comparison it never trained on: one made after its
    training data was read. Written by live_scoring.score_fresh_labels while the version is current,
    so each version's accuracy on labels it has not seen can be watched beside its held-out one."""

    version = models.ForeignKey(RewardModelVersion, on_delete=models.CASCADE, related_name="fresh_scores")
    comparison = models.ForeignKey("annotator.Comparison", on_delete=models.CASCADE, related_name="fresh_scores")
    chosen_reward = models.FloatField()
    rejected_reward = models.FloatField()
    scored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "comparison"], name="fresh_score_once_per_version")
        ]

    @property
    def agrees(self) -> float:
        """1 when the model prefers what the labeler chose, 0.5 on an exact tie (as the gate counts it)."""
        if self.chosen_reward == self.rejected_reward:
            return 0.5
        return 1.0 if self.chosen_reward > self.rejected_reward else 0.0


class ScoredSample(models.Model):
    """Something the scoring API scored, kept for the RL audit (Project.rl_audit_share): reward
    hacking shows as high rewards on completions people reject, so a lead looks at the highest,
    longest and least certain ones and sends a selection back to labelers."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="scored_samples")
    version = models.PositiveIntegerField()
    prompt = models.TextField()
    completion = models.TextField()
    reward = models.FloatField(help_text="Raw reward (never normalised).")
    length = models.PositiveIntegerField(help_text="The completion's length in characters.")
    gap = models.FloatField(
        null=True, blank=True, help_text="Reward gap to the closest other completion of the same prompt in the request."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "-reward"], name="sample_reward_idx"),
            models.Index(fields=["project", "-length"], name="sample_length_idx"),
            models.Index(fields=["project", "gap"], name="sample_gap_idx"),
        ]
