"""Mono settings: everything comes from the environment (see `.env.example`).

`DATABASE_URL` is required, and so are `SECRET_KEY` and `PAYLOAD_MASTER_KEY` unless `DEBUG` is on; a missing one stops
start-up with Django's `ImproperlyConfigured` naming the variable (`manage.py` prints it
without a traceback). `make run` and `make test` set sensible values for a laptop; `make run`
also leaves its values in `.data/dev.env` for other terminals (read below).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from mono.kernel import aead

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# --- Where the environment comes from ----------------------------------------------------------
# A variable set in the process environment always wins. Then the user's own `.env` beside
# manage.py; only when there is none, `.data/dev.env`, which `make run` writes with what it chose
# (embedded PostgreSQL, Temporal address, DEBUG, a development SECRET_KEY), so that commands run in
# a second terminal reach the platform it started. `.data/` is not in git; `make run` never writes
# `.env`.
for _env_file in (BASE_DIR / ".env", BASE_DIR / ".data" / "dev.env"):
    if _env_file.is_file():
        environ.Env.read_env(_env_file)
        break

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "django_prometheus",
    "mono",
    "tenants",
    "workflows",
    "llm",
    "webhooks",
    "audit",
    "jobs",
    "maintenance",
    "console",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "mono.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "mono.urls"
WSGI_APPLICATION = "mono.wsgi.application"
ASGI_APPLICATION = "mono.asgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Every process draws its connections from one bounded psycopg pool (Django's native pooling).
# Under ASGI each request runs on a thread of its own, and persistent per-thread connections
# (CONN_MAX_AGE) would grow with the number of threads until PostgreSQL refuses more; a pool
# keeps the count at DATABASE_POOL_MAX_SIZE per process, whatever the concurrency. A request
# that waits longer than DATABASE_POOL_TIMEOUT_SECONDS for a connection answers 503 with
# Retry-After (`mono.middleware.DatabaseBusyMiddleware`). The web, worker and relay processes
# size their pools separately (README, "Database connections"). DATABASE_POOL_MAX_SIZE=0 turns
# pooling off and falls back to per-thread connections kept for DATABASE_CONN_MAX_AGE seconds.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=16)
if DATABASE_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(env.int("DATABASE_POOL_MIN_SIZE", default=2), DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env.float("DATABASE_POOL_TIMEOUT_SECONDS", default=10.0),
        # Connections are recycled after an hour, and closed after 10 idle minutes above min_size.
        "max_lifetime": 3600.0,
        "max_idle": 600.0,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / ".data" / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # Tenant backup archives (`manage.py backup_tenant`, the nightly TenantBackups schedule).
    "backups": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.path("BACKUP_ROOT", default=BASE_DIR / ".data" / "backups")},
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".data" / "media")
# Uploads (`POST /api/v1/media`): the largest request, and the largest file of each detected
# kind; over either answers 413 naming `file`. Images over MEDIA_MAX_IMAGE_PIXELS are refused
# as decompression bombs when processed.
MEDIA_MAX_UPLOAD_BYTES = env.int("MEDIA_MAX_UPLOAD_BYTES", default=100 * 1024 * 1024)
MEDIA_MAX_BYTES_BY_KIND = {
    "image": env.int("MEDIA_MAX_IMAGE_BYTES", default=25 * 1024 * 1024),
    "document": env.int("MEDIA_MAX_DOCUMENT_BYTES", default=50 * 1024 * 1024),
    "video": env.int("MEDIA_MAX_VIDEO_BYTES", default=100 * 1024 * 1024),
    "other": env.int("MEDIA_MAX_OTHER_BYTES", default=10 * 1024 * 1024),
}
MEDIA_MAX_IMAGE_PIXELS = env.int("MEDIA_MAX_IMAGE_PIXELS", default=50_000_000)
# Documents and videos (on the tenant's media queue). Over a limit, the asset ends `failed` with
# the reason: more pages (sheets, slides) than MEDIA_MAX_DOCUMENT_PAGES; an Office/OpenDocument zip
# that would unpack to more than MEDIA_MAX_UNPACKED_BYTES (checked from the zip's directory); a video
# longer than MEDIA_MAX_VIDEO_SECONDS (from its header) or with frames over MEDIA_MAX_VIDEO_PIXELS;
# any one step (reading, transcoding) running longer than MEDIA_MAX_PROCESS_SECONDS. Text beyond
# MEDIA_MAX_DOCUMENT_CHARS is dropped (the asset says `truncated`). A transcode reports progress at
# least every few seconds; a worker silent for MEDIA_HEARTBEAT_SECONDS is presumed dead and the
# step starts again on another.
MEDIA_MAX_DOCUMENT_PAGES = env.int("MEDIA_MAX_DOCUMENT_PAGES", default=2000)
MEDIA_MAX_DOCUMENT_CHARS = env.int("MEDIA_MAX_DOCUMENT_CHARS", default=5_000_000)
MEDIA_MAX_UNPACKED_BYTES = env.int("MEDIA_MAX_UNPACKED_BYTES", default=200 * 1024 * 1024)
MEDIA_MAX_VIDEO_SECONDS = env.int("MEDIA_MAX_VIDEO_SECONDS", default=3600)
MEDIA_MAX_VIDEO_PIXELS = env.int("MEDIA_MAX_VIDEO_PIXELS", default=3840 * 2160)
MEDIA_MAX_PROCESS_SECONDS = env.int("MEDIA_MAX_PROCESS_SECONDS", default=1800)
MEDIA_HEARTBEAT_SECONDS = env.int("MEDIA_HEARTBEAT_SECONDS", default=30)
# Variants made of every uploaded image (an upload may name a subset: `variants=thumb,medium`).
# `max_size` bounds both sides; formats: webp (keeps transparency), jpeg (flattened on white), png.
MEDIA_IMAGE_VARIANTS = [
    {"name": "thumb", "max_size": 256, "format": "webp", "quality": 80},
    {"name": "medium", "max_size": 1024, "format": "jpeg", "quality": 85},
]

REDIS_URL = env.str("REDIS_URL", default="")
# A Redis channel layer lets worker processes reach websocket consumers in the web process; the
# in-memory layer only works where both run in one process (a single-process dev setup).
CHANNEL_LAYERS = {
    "default": (
        {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # channels-redis blocks 5 s per receive, exactly redis-py's default read timeout:
            # without a longer socket timeout an idle websocket dies after ~5 s of silence. Each
            # open websocket may hold a connection, so the pool allows more than redis-py's 100.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 1000}]},
        }
        if REDIS_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

# How long a process reuses a resolved API key (its tenant, user and role) before reading it
# again; changes made in the same process apply at once, other processes see them within this.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5.0)
# The largest JSON body the API reads (413 above it); uploads have their own limits per kind.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.HasTenantRole"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "mono.api.LimitOffsetPagination",
    # JSON only, unless a view says otherwise (uploads): the schema then says what is accepted.
    "DEFAULT_PARSER_CLASSES": ["mono.parsers.JSONParser"],
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "mono.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mono API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "ExecutionStatusEnum": "workflows.models.ExecutionStatus",
        "DefinitionStatusEnum": "workflows.models.DefinitionStatus",
        "EditableDefinitionStatusEnum": ["draft", "published"],
        "RoleEnum": "tenants.models.Role",
        "MessageRoleEnum": ["system", "user", "assistant"],
        "WebhookEventStatusEnum": "webhooks.models.EventStatus",
        "MediaKindEnum": "jobs.models.MediaKind",
        "MediaStatusEnum": "jobs.models.MediaStatus",
        "CampaignKindEnum": "jobs.models.CampaignKind",
        "CampaignStatusEnum": "jobs.models.CampaignStatus",
        "DeliveryStatusEnum": "jobs.models.DeliveryStatus",
        "ProviderKindEnum": "llm.models.ProviderKind",
    },
}

# Temporal
TEMPORAL_ADDRESS = env.str("TEMPORAL_ADDRESS", default="localhost:7233")
TEMPORAL_NAMESPACE = env.str("TEMPORAL_NAMESPACE", default="default")
TEMPORAL_PLATFORM_NAMESPACE = env.str("TEMPORAL_PLATFORM_NAMESPACE", default="mono-platform")
TEMPORAL_PLATFORM_RETENTION_DAYS = env.int("TEMPORAL_PLATFORM_RETENTION_DAYS", default=365)
TEMPORAL_TENANT_NAMESPACE_PREFIX = env.str("TEMPORAL_TENANT_NAMESPACE_PREFIX", default="mono-tenant-")
TEMPORAL_CONNECT_TIMEOUT_SECONDS = env.float("TEMPORAL_CONNECT_TIMEOUT_SECONDS", default=5.0)
TEMPORAL_UI_URL = env.str("TEMPORAL_UI_URL", default="http://127.0.0.1:8233")
# How often `runworkers` looks for tenants created, deactivated or moved since it started.
TEMPORAL_WORKER_REFRESH_SECONDS = env.float("TEMPORAL_WORKER_REFRESH_SECONDS", default=10.0)
TEMPORAL_WORKER_ACTIVITY_THREADS = env.int("TEMPORAL_WORKER_ACTIVITY_THREADS", default=32)
# How long SIGTERM waits for in-flight activities before cancelling them (they are retried).
TEMPORAL_WORKER_SHUTDOWN_SECONDS = env.float("TEMPORAL_WORKER_SHUTDOWN_SECONDS", default=30.0)
# Pollers per worker autoscale between 1 and this many with load (an idle queue holds one long poll).
TEMPORAL_WORKER_MAX_POLLERS = env.int("TEMPORAL_WORKER_MAX_POLLERS", default=4)
# Workflows kept in each worker's sticky cache: small, since one host runs a worker per tenant.
TEMPORAL_WORKER_CACHED_WORKFLOWS = env.int("TEMPORAL_WORKER_CACHED_WORKFLOWS", default=100)
# Threads that run workflow tasks, shared by every worker of the host.
TEMPORAL_WORKER_WORKFLOW_THREADS = env.int("TEMPORAL_WORKER_WORKFLOW_THREADS", default=8)
# Most activity slots (of TEMPORAL_WORKER_ACTIVITY_THREADS) one tenant may hold at once, as a share.
TEMPORAL_WORKER_TENANT_ACTIVITY_SHARE = env.float("TEMPORAL_WORKER_TENANT_ACTIVITY_SHARE", default=0.25)
# Tenant queues polled at all times (e.g. `workflows`). By default none: a tenant's worker starts when
# work is started there or the queue has open workflows or schedules, and stops when it has none.
TEMPORAL_WORKER_STANDING_QUEUES = [q for q in env.list("TEMPORAL_WORKER_STANDING_QUEUES", default=[]) if q]
# An on-demand worker with no activity and no open workflow (or schedule) for this long is stopped.
TEMPORAL_WORKER_IDLE_SECONDS = env.float("TEMPORAL_WORKER_IDLE_SECONDS", default=300.0)
# Between these full re-listings of tenants, a refresh reads only tenants changed since the last one.
TEMPORAL_WORKER_FULL_REFRESH_SECONDS = env.float("TEMPORAL_WORKER_FULL_REFRESH_SECONDS", default=600.0)
TEMPORAL_WORKER_HEALTH_PORT = env.int("TEMPORAL_WORKER_HEALTH_PORT", default=9464)
# The Temporal SDK serves its own worker metrics (task latencies, pollers, slots) on this port.
TEMPORAL_WORKER_SDK_METRICS_PORT = env.int("TEMPORAL_WORKER_SDK_METRICS_PORT", default=9465)

# Envelope encryption of Temporal payloads: each namespace's data keys are stored in PostgreSQL
# wrapped by this master key (URL-safe base64 of 32 random bytes; README "Keys"). Required unless
# DEBUG, where an empty value derives a development key from SECRET_KEY.
PAYLOAD_MASTER_KEY = env.str("PAYLOAD_MASTER_KEY", default="" if DEBUG else environ.Env.NOTSET)
# Master keys replaced by PAYLOAD_MASTER_KEY: still unwrap old rows until `rewrap_payload_keys` ran.
PAYLOAD_MASTER_KEYS_PREVIOUS = env.list("PAYLOAD_MASTER_KEYS_PREVIOUS", default=[])
for _name, _values in (
    ("PAYLOAD_MASTER_KEY", [PAYLOAD_MASTER_KEY] if PAYLOAD_MASTER_KEY else []),
    ("PAYLOAD_MASTER_KEYS_PREVIOUS", PAYLOAD_MASTER_KEYS_PREVIOUS),
):
    for _value in _values:
        try:
            aead.parse_master_key(_value)
        except ValueError as _exc:
            raise ImproperlyConfigured(f"{_name}: {_exc} (see README, Keys)") from _exc
# Origins of the Temporal UI allowed to call the codec endpoint from the browser (CORS).
TEMPORAL_CODEC_CORS_ORIGINS = env.list(
    "TEMPORAL_CODEC_CORS_ORIGINS", default=["http://127.0.0.1:8233", "http://localhost:8233"]
)

# Project models an UpdateRecordNode may update (`data.model`), and which fields: only
# tenant-owned models, always scoped to the run's tenant.
WORKFLOW_UPDATABLE_MODELS = {"workflows.emailtemplate": ["subject", "body"]}
# A step output (or part of one) above this many bytes stays in PostgreSQL and travels through
# Temporal as a reference, so no run can reach Temporal's payload limits whatever steps return.
WORKFLOW_PAYLOAD_INLINE_BYTES = env.int("WORKFLOW_PAYLOAD_INLINE_BYTES", default=64 * 1024)

# Outbound webhooks (WebhookNode): hosts allowed even on private addresses (development, tests).
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)

# E-mail (EmailNode, campaigns): e.g. smtp://user:password@host:587 or consolemail:// (prints).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# Seconds an SMTP connect or reply may take; well under the send activity's 2-minute
# start_to_close_timeout, so a hung server fails the attempt before Temporal starts another.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT_SECONDS", default=30.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mono@localhost")
# Most messages per minute one send (a campaign or a single message) starts; paced with durable timers.
EMAIL_RATE_PER_MINUTE = env.int("EMAIL_RATE_PER_MINUTE", default=60)
EMAIL_CAMPAIGN_MAX_RECIPIENTS = env.int("EMAIL_CAMPAIGN_MAX_RECIPIENTS", default=1000)

# LLM providers (keys may be empty until a provider is used).
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="")
MISTRAL_API_KEY = env.str("MISTRAL_API_KEY", default="")
MISTRAL_BASE_URL = env.str("MISTRAL_BASE_URL", default="")
# Encrypts tenants' own provider keys at rest (derived from SECRET_KEY when empty).
LLM_CREDENTIAL_KEY = env.str("LLM_CREDENTIAL_KEY", default="")
# Route used when a request names neither a model nor a route.
LLM_DEFAULT_ROUTE = env.str("LLM_DEFAULT_ROUTE", default="openai:gpt-4o-mini > anthropic:claude-3-5-haiku-latest")
# How long a provider that failed with a rate limit, overload, 5xx or timeout is skipped.
# How long a process reuses a tenant's provider credentials, the price table and which providers
# a tenant has limits for, before reading them again (changes in the same process apply at once).
LLM_CONFIG_CACHE_SECONDS = env.float("LLM_CONFIG_CACHE_SECONDS", default=5.0)
# How often a process reads the providers' shared breaker state (cooldowns) from PostgreSQL.
LLM_HEALTH_CACHE_SECONDS = env.float("LLM_HEALTH_CACHE_SECONDS", default=1.0)
LLM_COOLDOWN_SECONDS = env.float("LLM_COOLDOWN_SECONDS", default=30.0)
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=60.0)
# The providers' own upload cap for transcription; a larger file is a 400 naming `file`.
LLM_TRANSCRIPTION_MAX_BYTES = env.int("LLM_TRANSCRIPTION_MAX_BYTES", default=25 * 1024 * 1024)
LLM_IMAGES_MAX_N = env.int("LLM_IMAGES_MAX_N", default=4)

# Bounds on one workflow definition: a larger one is refused with a 400 naming the limit.
WORKFLOW_MAX_NODES = env.int("WORKFLOW_MAX_NODES", default=500)
WORKFLOW_MAX_EDGES = env.int("WORKFLOW_MAX_EDGES", default=2000)
WORKFLOW_MAX_DEFINITION_CHARS = env.int("WORKFLOW_MAX_DEFINITION_CHARS", default=1_000_000)
WORKFLOW_MAX_NODE_DATA_CHARS = env.int("WORKFLOW_MAX_NODE_DATA_CHARS", default=100_000)
WORKFLOW_MAX_TEMPLATE_CHARS = env.int("WORKFLOW_MAX_TEMPLATE_CHARS", default=20_000)

# Browser console: its own login (members need no staff status), throttled per username and per
# client address with the cache below (shared by every web process when Redis is configured).
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:dashboard"
LOGOUT_REDIRECT_URL = "console:login"
CONSOLE_LOGIN_FAILURES_PER_USERNAME = env.int("CONSOLE_LOGIN_FAILURES_PER_USERNAME", default=5)
CONSOLE_LOGIN_FAILURES_PER_ADDRESS = env.int("CONSOLE_LOGIN_FAILURES_PER_ADDRESS", default=20)
CONSOLE_LOGIN_LOCKOUT_SECONDS = env.int("CONSOLE_LOGIN_LOCKOUT_SECONDS", default=15 * 60)
# Absolute base of links in e-mails (approval links), e.g. https://mono.example.com.
CONSOLE_BASE_URL = env.str("CONSOLE_BASE_URL", default="http://localhost:8000")
# An approval e-mail's links decide without a login for this long; past it they ask the approver
# to log in first (the link still names the decision and still works only once).
APPROVAL_LINK_TTL_SECONDS = env.int("APPROVAL_LINK_TTL_SECONDS", default=24 * 3600)
# A reminder goes to approvers who have not decided when this much time is left before the timeout.
APPROVAL_REMINDER_BEFORE_SECONDS = env.int("APPROVAL_REMINDER_BEFORE_SECONDS", default=3600)
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "mono"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Platform schedules (`manage.py sync_schedules`): cron expressions, UTC.
HOUSEKEEPING_CRON = env.str("HOUSEKEEPING_CRON", default="17 3 * * *")
ORPHANED_MEDIA_CLEANUP_CRON = env.str("ORPHANED_MEDIA_CLEANUP_CRON", default="47 3 * * *")
TENANT_BACKUPS_CRON = env.str("TENANT_BACKUPS_CRON", default="7 2 * * *")

# --- Access and fairness limits (issue 13) ------------------------------------------------------
# `/metrics` (web and the worker's health port) needs `Authorization: Bearer <METRICS_TOKEN>`;
# when it is empty, only loopback callers are answered.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Open websockets re-check their API key, membership and tenant this often; 4403 when gone.
LIVE_ACCESS_RECHECK_SECONDS = env.float("LIVE_ACCESS_RECHECK_SECONDS", default=30.0)
# Runs of one tenant that may be pending or running at once; a start beyond it answers 429.
TENANT_MAX_CONCURRENT_RUNS = env.int("TENANT_MAX_CONCURRENT_RUNS", default=1000)
# API throttling (429 with Retry-After) per API key (or session user) and per tenant, counted in
# Django's cache: Redis when REDIS_URL is set (shared by every process), else each process's memory.
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["tenants.throttling.ApiKeyThrottle", "tenants.throttling.TenantThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "api_key": env.str("API_THROTTLE_RATE_PER_KEY", default="1200/min"),
    "tenant": env.str("API_THROTTLE_RATE_PER_TENANT", default="6000/min"),
}
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "mono"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "mono"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"temporalio": {"level": "WARNING"}},
}
