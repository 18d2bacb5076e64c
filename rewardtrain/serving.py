"""Scoring with a project's current reward model, loaded once per process.

Checkpoint folders are never rewritten (v1, v2, ... are immutable once published), so a
scorer cached by path stays valid; when "current" moves to another version, its new path
misses the cache and that version is loaded.
"""

import math
import threading
from collections import OrderedDict

from django.conf import settings

from rewardtrain import selectors
from rewardtrain.scoring import Scorer

CACHED_MODELS = 4  # a few projects' current versions; each MiniLM is ~90 MB
MAX_ITEMS = 256  # per scoring request: bounds a request's time and memory

_cache: "OrderedDict[str, Scorer]" = OrderedDict()
_cache_lock = threading.Lock()


class ModelUnavailable(Exception):
    """No version to score with, or its checkpoint cannot be loaded."""


def scorer_for_path(path: str) -> Scorer:
    with _cache_lock:
        if path in _cache:
            _cache.move_to_end(path)
            return _cache[path]
        # Loaded under the lock: two first requests must not load the same model twice.
        try:
            scorer = Scorer.load(path, device=settings.ARBITER_TRAIN_DEVICE)
        except Exception as error:
            raise ModelUnavailable(f"the reward model checkpoint at {path} cannot be loaded: {error}") from error
        _cache[path] = scorer
        while len(_cache) > CACHED_MODELS:
            _cache.popitem(last=False)
        return scorer


def current_scorer(*, project):
    """(version, scorer) of the project's current version."""
    version = selectors.current_version(project=project)
    if version is None:
        raise ModelUnavailable(f"project {project.slug} has no reward model yet: train one first")
    return version, scorer_for_path(version.path)


def rewards_for(*, project, items):
    """(version number, [reward]) for (prompt, completion) items, in input order."""
    version, scorer = current_scorer(project=project)
    return version.version, scorer.score(list(items))


def rank_completions(*, project, prompt, completions):
    """(version number, [{index, text, reward}] best first, P(first better) when there are two)."""
    number, rewards = rewards_for(project=project, items=[(prompt, text) for text in completions])
    ranked = sorted(
        ({"index": i, "text": text, "reward": reward} for i, (text, reward) in enumerate(zip(completions, rewards))),
        key=lambda row: -row["reward"],
    )
    p_first_better = sigmoid(rewards[0] - rewards[1]) if len(rewards) == 2 else None
    return number, ranked, p_first_better


def sigmoid(x: float) -> float:
    # Bradley-Terry: P(a beats b) = sigmoid(r_a - r_b); written to not overflow for large |x|.
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
