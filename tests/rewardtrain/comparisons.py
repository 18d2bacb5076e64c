"""Comparison rows for the Django-side reward-model tests: separable "good" vs "bad" replies."""

from annotator.models import Comparison, Completion, Prompt
from rewardtrain.models import TrainingRun
from rewardtrain.runs import training_run_execute, training_run_start

NOUNS = "cat dog bird fish tree house car road city river".split()


def make_comparisons(project, n_prompts, *, labelers=(None,), strength="", start=0):
    """n_prompts prompts, each with a "good" and a "bad" reply that every labeler prefers "good" on.

    Words come from the tiny test tokenizer's vocabulary. Returns the Comparison rows.
    """
    rows = []
    for i in range(start, start + n_prompts):
        noun = NOUNS[i % len(NOUNS)]
        prompt = Prompt.objects.create(
            project=project, external_id=f"cmp-{i}", text=f"human: tell me about the {noun} {i}. assistant:", queued=False
        )
        good = Completion.objects.create(prompt=prompt, text=f"the {noun} is good and kind")
        bad = Completion.objects.create(prompt=prompt, text=f"the {noun} is bad and rude")
        for labeler in labelers:
            rows.append(
                Comparison.objects.create(
                    project=project,
                    prompt=prompt,
                    chosen=good,
                    rejected=bad,
                    annotator=labeler,
                    source=Comparison.Source.HUMAN if labeler else Comparison.Source.IMPORTED,
                    strength=strength,
                )
            )
    return rows


# A training config small enough for the tiny test model: a run takes about a second. The
# whole (random) model learns, fast: with the defaults' frozen layers and 5e-5 it ranked all 11
# held-out pairs wrong, and a first version must now beat chance to go live.
SMALL = {
    "max_length": 32, "batch_size": 8, "heldout_fraction": 0.25, "threads": 1,
    "learning_rate": 1e-3, "freeze_embeddings": False, "freeze_layers": 0,
}  # fmt: skip


def train_small(project, **options):
    """Start and execute one run in this process (what the Celery task does); returns the finished run."""
    run = training_run_start(project=project, trigger=TrainingRun.Trigger.MANUAL, options={**SMALL, **options})
    return training_run_execute(run_id=run.id, task_id=run.task_id, progress_every=0)


def fake_gate_scores(monkeypatch, *, new_right, current_right=None):
    """Hand-made rewards for the promotion gate: the new version (and the current one, whose
    checkpoint then is not loaded) ranks a held-out prompt's "good" reply above its "bad" one
    exactly when `new_right(prompt)` (`current_right(prompt)`) is true. Returns the calls made."""
    from rewardtrain import promotion_gate

    calls = {"new": [], "current": []}

    def rewards(right, items):
        return [float(("good" in text) == bool(right(prompt))) for prompt, text in items]

    def score_new(result, items):
        calls["new"].append(items)
        return rewards(new_right, items)

    def score_current(current, items, config):
        calls["current"].append((current.path, items))
        return rewards(current_right, items)

    monkeypatch.setattr(promotion_gate, "_score_new", score_new)
    if current_right is not None:
        monkeypatch.setattr(promotion_gate, "_score_current", score_current)
    return calls
