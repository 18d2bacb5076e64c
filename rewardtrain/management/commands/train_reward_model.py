"""python manage.py train_reward_model <project> [--sync] [--epochs N] [--from-scratch] [--max-length N] [--batch-size N]
                                               [--base-model PATH] [--pooling mean|cls]
                                               [--review accepted|not-rejected|any]

The same code path as the page and the API: a TrainingRun with trigger "cli". Without --sync the
run is queued for a Celery worker and its id printed (or, when the broker could not be reached,
that it is queued but not sent yet, why, and that beat sends it again). With --sync it trains
here, with a progress line on stderr, and prints the version and its metrics.

Exit status: 0 when a version was published and made current, 0 as well when the promotion gate
rejected it (training worked; the message says it is not current, and the version can still be
promoted by an admin), and 0 for a queued run the broker did not take yet (beat re-sends it);
1 when the run failed or another run is already queued or running.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from annotator.models import Project
from annotator.project_lifecycle import ProjectArchived
from arbiter_reward.reward import POOLINGS
from rewardtrain import checkpoint_store, config, runs
from rewardtrain.config import REVIEW_FILTERS
from rewardtrain.models import TrainingRun


# TrainConfig fields that the options below set under their own names.
LORA_AND_MEMORY_OPTIONS = (
    "micro_batch_size", "activation_checkpointing", "bf16_cpu", "procs",
    "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "lora_merge",
)


class Command(BaseCommand):
    help = "Train a reward model on a project's comparisons."

    def add_arguments(self, parser):
        parser.add_argument("project", help="Project slug.")
        parser.add_argument("--sync", action="store_true", help="Train in this process instead of queueing.")
        parser.add_argument("--epochs", type=int, help="Passes over the training pairs.")
        parser.add_argument("--from-scratch", action="store_true", help="Start from the base model, not the current version.")
        parser.add_argument("--max-length", type=int, help="Tokens per (prompt, completion).")
        parser.add_argument("--batch-size", type=int, help="Preference pairs per optimiser step.")
        parser.add_argument("--base-model", help="Local Hugging Face model folder to start from.")
        parser.add_argument(
            "--pooling", choices=POOLINGS, help="What the head reads: the mean of the token states (default) or BERT's [CLS] pooler."
        )
        parser.add_argument(
            "--review", choices=REVIEW_FILTERS,
            help="Whose rows it trains on: accepted judgments only (no imported rows), all but rejected ones "
            "(the default) or any.",
        )

        parser.add_argument("--micro-batch-size", type=int, help="Pairs per forward/backward (gradient accumulation).")
        parser.add_argument("--procs", type=int, help="Processes that train it together through torchrun (one per GPU).")
        parser.add_argument("--activation-checkpointing", action="store_true", default=None, help="Recompute activations in backward: less memory.")
        parser.add_argument("--bf16-cpu", action="store_true", default=None, help="bfloat16 autocast on the CPU too.")
        parser.add_argument("--lora-r", type=int, help="Train LoRA adapters of this rank (0: the weights themselves).")
        parser.add_argument("--lora-alpha", type=float, help="LoRA scale numerator (scale = alpha / r).")
        parser.add_argument("--lora-dropout", type=float, help="Dropout on the LoRA adapters' input.")
        parser.add_argument("--lora-target-modules", nargs="+", help="Module names LoRA adapts (default: by model family).")
        parser.add_argument(
            "--lora-keep-adapter", dest="lora_merge", action="store_false", default=None,
            help="Publish base weights and adapter apart (loading needs peft) instead of merged.",
        )

    def handle(self, *args, project, sync, epochs, from_scratch, max_length, batch_size, base_model, pooling, review, **extra):
        project_row = Project.objects.filter(slug=project).first()
        if project_row is None:
            raise CommandError(f"No project {project!r}.")
        options = {
            key: value
            for key, value in {
                "epochs": epochs,
                "max_length": max_length,
                "batch_size": batch_size,
                "base_model": base_model,
                "pooling": pooling,
                "review": review,
                **{name: extra[name] for name in LORA_AND_MEMORY_OPTIONS},
            }.items()
            if value is not None
        }
        if from_scratch:
            options["from_scratch"] = True
        # --sync trains here: no message goes to a worker, which would otherwise claim the run too.
        try:
            run, created = runs.training_run_get_or_start(
                project=project_row, trigger=TrainingRun.Trigger.CLI, options=options, enqueue=not sync
            )
        except config.InvalidTrainingOptions as error:
            raise CommandError(f"No run started: {error}.") from None
        except ProjectArchived as archived:
            raise CommandError(f"No run started: {archived}") from None
        if not created:
            raise CommandError(f"Run {run.id} of {project} is already {run.status}; wait for it to finish.")
        if not sync:
            # Outside a transaction the send has already run (on_commit runs at once) and left its outcome on the row.
            if run.send_error:
                self.stdout.write(
                    f"Run {run.id} for {project} is queued but not sent to a worker yet; beat sends it again "
                    f"at its next tick, every minute, once the broker is back. Why: {run.send_error}"
                )
            else:
                self.stdout.write(f"Queued run {run.id} for {project}.")
            return
        run = runs.training_run_execute(run_id=run.id, on_progress=self.show_progress)
        self.stderr.write("")  # end the progress line
        if run.status == TrainingRun.Status.FAILED:
            raise CommandError(f"Run {run.id} failed:\n{run.error}")
        version = run.version
        metrics = json.dumps({k: v for k, v in version.metrics.items() if k != "gate"}, indent=2, sort_keys=True)
        if not version.is_current:  # rejected by the gate, or pending evidence
            self.stdout.write(f"Run {run.id} published v{version.version} but it was NOT made current: {version.rejected_reason}")
        else:
            self.stdout.write(f"Run {run.id} published v{version.version}, now current, as {version.path} in {checkpoint_store.store()!r}")
        self.stdout.write(metrics)

    def show_progress(self, report):
        line = f"\rstep {report['step']}/{report['total']}  loss {report['loss']:.4f}  {report.get('pairs_per_s', report.get('items_per_s', 0)):.1f} {'pairs' if 'pairs_per_s' in report else 'items'}/s"
        if "eval" in report and report["eval"].get("heldout_accuracy") is not None:
            line += f"  held-out accuracy {report['eval']['heldout_accuracy']:.3f}"
        self.stderr.write(line, ending="")
        self.stderr.flush()
