"""Scoring with a project's current reward model, loaded once per process.

Published versions are never rewritten (v1, v2, ... are immutable once published), so a
scorer cached by version (checkpoint_store.identity) stays valid; when "current" moves to
another version, it misses the cache and that version is verified against its row's pin and its manifest
(verification.version_verify), then loaded. A version that fails is skipped for the earlier
published ones, newest first, and every answer says which version scored. A refusal is
remembered for a minute, so a broken version is not hashed again on every request; it is
recorded on the row and in the audit log once, however often it is seen again.

With a remote store (ARBITER_CHECKPOINT_STORAGE=s3://...), a version this host has no copy of
is fetched into its cache in a background thread (checkpoint_store, model_cache): meanwhile an
earlier version already here answers, or, with none, the API answers 503 with Retry-After.
"""

import logging
import math
import random
import threading
import time
from collections import OrderedDict
from itertools import chain

from django.conf import settings

from arbiter_reward.reward import encode
from rewardtrain import checkpoint_store, selectors
from rewardtrain.checkpoints import CheckpointInvalid
from rewardtrain.verification import version_verify

log = logging.getLogger(__name__)

CACHED_MODELS = 4  # a few projects' current versions; each MiniLM is ~90 MB
REFUSED_RECHECK_SECONDS = 60  # a repaired checkpoint is tried again after this long

_cache: "OrderedDict[str, object]" = OrderedDict()  # checkpoint_store.identity -> rewardtrain.scoring.Scorer
_refused: dict[str, tuple[float, str]] = {}  # checkpoint_store.identity -> (when, reason)
_cache_lock = threading.Lock()


class ModelUnavailable(Exception):
    """No version to score with: none yet, or none whose checkpoint verifies and loads.
    The message names versions, never paths: it is the API's answer."""


class ModelFetching(ModelUnavailable):
    """The version is being fetched into this host's cache: the API's 503 with Retry-After."""


class VersionNotPublished(Exception):
    """A request pinned a version the project has not published (the API's 409)."""


class TooLarge(ValueError):
    """A scoring request over ARBITER_SCORE_MAX_ITEMS items, or with a text over ARBITER_SCORE_MAX_CHARS."""


def check_size(*, n_items, texts, items_setting="ARBITER_SCORE_MAX_ITEMS"):
    """TooLarge unless `n_items` items whose texts are `texts` ((name, text) pairs) are within the
    limits: the setting named `items_setting` for the items, ARBITER_SCORE_MAX_CHARS per text."""
    max_items = getattr(settings, items_setting)
    if n_items > max_items:
        raise TooLarge(f"{n_items} items; at most {max_items} per request ({items_setting})")
    limit = settings.ARBITER_SCORE_MAX_CHARS
    total = 0
    for name, text in texts:
        if len(text) > limit:
            raise TooLarge(f"{name} is {len(text)} characters; at most {limit} (ARBITER_SCORE_MAX_CHARS)")
        total += len(text)
    # A get_reward batch may hold thousands of texts: their sum is bounded too, not only each one.
    if total > settings.ARBITER_REWARD_MAX_TOTAL_CHARS:
        raise TooLarge(f"{total} characters in all; at most {settings.ARBITER_REWARD_MAX_TOTAL_CHARS} per request "
                       "(ARBITER_REWARD_MAX_TOTAL_CHARS)")  # fmt: skip


def scorer_for(version, *, fetch=True):
    """The loaded scorer of `version`; ModelUnavailable with the reason when its checkpoint does
    not verify against its row and its manifest, or does not load. With a remote store and no
    copy on this host yet, ModelFetching: the copy is fetched in the background (when `fetch`),
    and the request is answered at once rather than held for the download."""
    key = checkpoint_store.identity(version)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        refused = _refused.get(key)
        if refused and time.monotonic() - refused[0] < REFUSED_RECHECK_SECONDS:
            raise ModelUnavailable(refused[1])
        if checkpoint_store.cached_folder(version) is None:
            if fetch:
                fetch_in_background(version)
            raise ModelFetching(f"fetching v{version.version} from the checkpoint store; try again shortly")
        # Verified and loaded under the lock: two first requests must not load the same model twice.
        try:
            folder = version_verify(version=version, detected_by="serving")
            # torch only here: commands and Django's checks import the API views without scoring.
            from rewardtrain.scoring import Scorer

            with checkpoint_store.holding(version):
                scorer = Scorer.load(folder, device=settings.ARBITER_TRAIN_DEVICE)
        except Exception as error:
            if isinstance(error, CheckpointInvalid):
                reason = f"v{version.version} failed verification: {error}"
            else:  # the loader's message holds the path: it goes to the log only
                reason = f"v{version.version} could not be loaded"
            log.warning("not scoring with v%s (%s): %s", version.version, version.path, error)
            _refused[key] = (time.monotonic(), reason)
            raise ModelUnavailable(reason) from error
        _refused.pop(key, None)
        _cache[key] = scorer
        while len(_cache) > CACHED_MODELS:
            _cache.popitem(last=False)
        return scorer


_fetching: set[str] = set()  # versions this process is fetching now


def fetch_in_background(version):
    """Fetch `version` into this host's cache in a daemon thread, once per process at a time (the
    cache's file lock makes it once per host). A fetch that fails verification is recorded on
    the row and refused for REFUSED_RECHECK_SECONDS; one that fails to reach the store is
    refused as long, then tried again. Called under _cache_lock."""
    key = checkpoint_store.identity(version)
    if key in _fetching:
        return
    _fetching.add(key)

    def fetch():
        from django.db import connection

        try:
            version_verify(version=version, detected_by="fetch")
        except Exception as error:
            log.warning("fetching v%s (%s) failed: %s", version.version, version.path, error)
            reason = (f"v{version.version} failed verification: {error}" if isinstance(error, CheckpointInvalid)
                      else f"v{version.version} could not be fetched from the checkpoint store")  # fmt: skip
            with _cache_lock:
                _refused[key] = (time.monotonic(), reason)
        finally:
            with _cache_lock:
                _fetching.discard(key)
            connection.close()  # this thread's own

    threading.Thread(target=fetch, name=f"fetch-{version.project.slug}-v{version.version}", daemon=True).start()


def fetch_state(*, project):
    """What this host is doing about `project`'s current version: "fetching vN" while its copy is
    downloaded from a remote store, "" when it is here (or the store is local)."""
    current = selectors.current_version(project=project)
    if current is None or checkpoint_store.cached_folder(current) is not None:
        return ""
    return f"fetching v{current.version}"


def warm_current_scorers():
    """Load the current version of the most recently promoted projects (up to CACHED_MODELS)
    into this process's cache, so no request waits seconds for a model load. Returns the
    versions now loaded."""
    from rewardtrain.models import RewardModelVersion

    loaded = []
    current = RewardModelVersion.objects.filter(is_current=True).select_related("project").order_by("-created_at")
    for version in current[:CACHED_MODELS]:
        try:
            scorer_for(version)
            loaded.append(version)
        except ModelUnavailable:
            pass  # logged by scorer_for; requests fall back to an earlier version
    return loaded


def start_scorer_warmer(*, every_seconds=None, stop=None):
    """A daemon thread that warms the cache now and then every ARBITER_SCORER_REFRESH_SECONDS
    until `stop` (a threading.Event) is set: a promotion anywhere is loaded within that long,
    before requests ask for it. Started in each web worker after the fork (gunicorn.conf.py)."""
    every = every_seconds if every_seconds is not None else settings.ARBITER_SCORER_REFRESH_SECONDS
    stop = stop or threading.Event()

    def warm_until_stopped():
        from django.db import connection

        while True:
            try:
                warm_current_scorers()
            except Exception as error:  # the database down for a while must not end the thread
                log.warning("warming the scorers failed (%s); trying again in %s s", error, every)
            finally:
                connection.close()  # this thread's own; not held open between rounds
            if stop.wait(every):
                return

    thread = threading.Thread(target=warm_until_stopped, name="scorer-warmer", daemon=True)
    thread.start()
    return thread


def current_scorer(*, project):
    """(version, scorer) of the current version or, when it fails, of the newest earlier
    published version that verifies and loads."""
    current = selectors.current_version(project=project)
    if current is None:
        raise ModelUnavailable(f"project {project.slug} has no reward model yet: train one first")
    reasons = []
    fetching = None
    # The earlier versions are read from the database only when the current one fails. While
    # the current one is being fetched, an earlier one scores only if it is here already.
    for version in chain([current], selectors.published_versions_before(project=project, version=current.version)):
        try:
            return version, scorer_for(version, fetch=fetching is None)
        except ModelFetching as error:
            fetching = fetching or error
        except ModelUnavailable as error:
            reasons.append(str(error))
    if fetching is not None:
        raise fetching
    raise ModelUnavailable(f"no reward model version can score: {'; '.join(reasons)}")


def pinned_scorer(*, project, number):
    """(version, scorer) of published version `number`: a pinned request never falls back."""
    version = selectors.published_version(project=project, number=number)
    if version is None:
        raise VersionNotPublished(f"project {project.slug} has no published version {number}")
    return version, scorer_for(version)


def _scorer(*, project, version):
    if version is None:
        return current_scorer(project=project)
    return pinned_scorer(project=project, number=version)


SCORE_CHUNK = 64  # items encoded and scored at a time: memory is bounded by this, not by the request


class OverBudget(Exception):
    """A scoring request still unfinished after ARBITER_SCORE_TIME_BUDGET_SECONDS (the API's 503)."""


def rewards_for(*, project, items, version=None, normalize=False):
    """(version number, [reward]) for (prompt, completion) items, in input order: scored by the
    pinned `version` or else the current one, SCORE_CHUNK items at a time; `normalize` gives
    (r - mean) / std with the statistics that version measured on its held-out completions.

    OverBudget once ARBITER_SCORE_TIME_BUDGET_SECONDS have passed with items left: a batch too
    large for this host stops holding a web thread (its client, OpenRLHF's, gives up at 180 s)."""
    answered, scorer = _scorer(project=project, version=version)
    items = list(items)
    budget = settings.ARBITER_SCORE_TIME_BUDGET_SECONDS
    deadline = time.monotonic() + budget
    raw = []
    for start in range(0, len(items), SCORE_CHUNK):
        if start and time.monotonic() > deadline:
            raise OverBudget(f"scored {start} of {len(items)} items in {budget:g} s (ARBITER_SCORE_TIME_BUDGET_SECONDS): "
                             "send fewer at a time, or score on a faster host")  # fmt: skip
        raw += scorer.score(items[start : start + SCORE_CHUNK])
    keep_audit_sample(project=project, version=answered.version, items=items, rewards=raw)
    return answered.version, [scorer.normalized(r) for r in raw] if normalize else raw


def scores_for(*, project, items, version=None, normalize=False):
    """(version number, [reward], probabilities): as rewards_for, plus for a classifier each
    item's softmax over its labels by label name (None for a pairwise reward model)."""
    answered, scorer = _scorer(project=project, version=version)
    items = list(items)
    raw, probabilities = scorer.score_with_probabilities(items)
    keep_audit_sample(project=project, version=answered.version, items=items, rewards=raw)
    return answered.version, [scorer.normalized(r) for r in raw] if normalize else raw, probabilities


def rank_completions(*, project, prompt, completions, version=None, normalize=False):
    """(version number, [{index, text, reward}] best first, P(first better) when there are two).
    P(first better) is the Bradley-Terry probability of the raw rewards, whatever is shown."""
    answered, scorer = _scorer(project=project, version=version)
    items = [(prompt, text) for text in completions]
    raw = scorer.score(items)
    keep_audit_sample(project=project, version=answered.version, items=items, rewards=raw)
    shown = [scorer.normalized(r) for r in raw] if normalize else raw
    p_first_better = sigmoid(raw[0] - raw[1]) if len(raw) == 2 else None
    return answered.version, _best_first(completions, shown), p_first_better


def rerank_documents(*, project, query, documents, version=None, normalize=False):
    """(version number, [{index, text, reward}] best first, tokens) for the rerank shapes, whose
    clients also read `usage`: `tokens` is how many the model read, each (query, document) as
    encoded for it, truncation included."""
    answered, scorer = _scorer(project=project, version=version)
    items = [(query, text) for text in documents]
    raw = scorer.score(items)
    keep_audit_sample(project=project, version=answered.version, items=items, rewards=raw)
    shown = [scorer.normalized(r) for r in raw] if normalize else raw
    # Encoded a second time to count: cheap beside the forward pass, and the Scorer stays as is.
    tokens = sum(len(encode(scorer.tokenizer, q, d, scorer.encoding)["input_ids"]) for q, d in items)
    return answered.version, _best_first(documents, shown), tokens


def _best_first(texts, rewards):
    indexed = ({"index": i, "text": text, "reward": reward} for i, (text, reward) in enumerate(zip(texts, rewards)))
    return sorted(indexed, key=lambda row: -row["reward"])


AUDIT_MAX_PER_REQUEST = 64  # rows one scoring request may add: a large batch stays one quick insert


def keep_audit_sample(*, project, version, items, rewards):
    """Keep each scored (prompt, completion) with probability project.rl_audit_share for the RL
    audit, with its raw reward, length and the gap to the closest other completion of the same
    prompt in this request (how sure the model is between them)."""
    share = project.rl_audit_share
    if not share or project.archived_at is not None:  # an archived project is still scored but stores nothing new
        return []
    from rewardtrain.models import ScoredSample

    by_prompt: dict[str, list[float]] = {}
    for (prompt, _), reward in zip(items, rewards):
        by_prompt.setdefault(prompt, []).append(reward)
    kept = [i for i in range(len(items)) if random.random() < share][:AUDIT_MAX_PER_REQUEST]
    rows = []
    for i in kept:
        (prompt, completion), reward = items[i], rewards[i]
        others = list(by_prompt[prompt])
        others.remove(reward)
        gap = min((abs(reward - other) for other in others), default=None)
        rows.append(ScoredSample(project=project, version=version, prompt=prompt, completion=completion,
                                 reward=reward, length=len(completion), gap=gap))  # fmt: skip
    return ScoredSample.objects.bulk_create(rows)


def sigmoid(x: float) -> float:
    # Bradley-Terry: P(a beats b) = sigmoid(r_a - r_b); written to not overflow for large |x|.
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
