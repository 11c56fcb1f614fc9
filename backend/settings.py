"""Django settings for the pix:e backend. Secrets and switches come from the environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values

# Lets `ModelAdmin[Run]`, `QuerySet[Run]`, ... be written at runtime (for mypy). DRF's
# classes are patched in LlmConfig.ready(): importing them here would freeze DRF's
# settings before REST_FRAMEWORK below is defined.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A Django setting from the environment, else the .env file (which is read, never
    copied into os.environ: the orchestrator reads it through its own loader)."""
    path = os.environ.get("LLM_ORCHESTRATOR_ENV_FILE") or BASE_DIR / ".env"
    return os.environ.get(name) or _dotenv(str(path)).get(name) or default


def _dotenv(path: str) -> dict[str, str]:
    return {k: v for k, v in dotenv_values(path).items() if v} if os.path.isfile(path) else {}


#: ``DJANGO_PRODUCTION=1`` (set by gunicorn.conf.py): no development fallbacks, HTTPS only.
PRODUCTION = env("DJANGO_PRODUCTION") == "1"
SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. In production it must be a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    SECRET_KEY = "dev-only-insecure-key-change-me"
DEBUG = env("DJANGO_DEBUG", "0") == "1" and not PRODUCTION
ALLOWED_HOSTS = [
    h for h in env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",") if h
]

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
    # Before the tasks apps: its ``db_worker`` (which waits out a locked database)
    # replaces theirs.
    "backend.llm",
    "django_tasks",
    "django_tasks_db",
    "backend.pillars",
    # After the features: agents register plans for operations those apps define.
    "agents",
    "backend.experiments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves static files (admin, the API docs' Swagger UI) under gunicorn/uvicorn too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "backend.llm.api.middleware.RejectUnstorableText",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# SQLite by default; PostgreSQL (or anything dj-database-url parses) when DATABASE_URL is set.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{env('SQLITE_PATH') or BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and PRODUCTION:
    # A pool per process (psycopg-pool) instead of a connection per thread kept for a
    # minute: a web thread, a run's lease renewer and a task worker borrow a connection
    # only while they use it. Size: every process's max together must stay under the
    # server's max_connections (README, "Many machines, one PostgreSQL"). Not for the
    # test runner, which switches databases under its connections.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them instead
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(env("DATABASE_POOL_MIN") or 1),
        "max_size": int(env("DATABASE_POOL_MAX") or 10),
        "timeout": float(env("DATABASE_POOL_TIMEOUT_S") or 30),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN, so
    # two requests racing on one idempotency key queue instead of failing to upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        # Seconds a writer waits for the lock before "database is locked" (runs then
        # retry their outcome until their deadline, and workers wait it out).
        "timeout": float(env("SQLITE_BUSY_TIMEOUT_S") or 30),
    }
    # Tests get a file, not Django's default shared-cache in-memory database: there, a
    # concurrent writer fails at once with "table is locked" instead of waiting its turn.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get(
            "SQLITE_TEST_PATH",
            str(Path(tempfile.gettempdir()) / f"pixe-test-{os.getpid()}.sqlite3"),
        )
    }

if PRODUCTION:
    # What ``manage.py check --deploy`` asks for. Behind a proxy that terminates TLS, it
    # must set X-Forwarded-Proto; DJANGO_SECURE_SSL_REDIRECT=0 if the proxy redirects.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env("DJANGO_SECURE_SSL_REDIRECT", "1") == "1"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("DJANGO_SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Background runs (``Prefer: respond-async``): Django's tasks framework (the django-tasks
# backport), stored in the database; workers: ``python manage.py db_worker``.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A run's process renews its lease every third of this; one that died is recovered after.
LLM_RUN_LEASE_SECONDS = float(env("LLM_RUN_LEASE_SECONDS") or 30)
LLM_RUN_MAX_ATTEMPTS = int(env("LLM_RUN_MAX_ATTEMPTS") or 3)
# Finished task rows are pruned by the workers after this many days (runs keep outcomes).
LLM_TASK_RETENTION_DAYS = float(env("LLM_TASK_RETENTION_DAYS") or 14)

# Throttle counts: in the database by default; THROTTLE_CACHE_URL=redis://... counts them
# in Redis instead (django's RedisCache; needs the redis package).
if env("THROTTLE_CACHE_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env("THROTTLE_CACHE_URL"),
        },
    }
    THROTTLE_CACHE = "throttle"

# Request bodies: 256 KiB at most (the orchestrator itself caps `data` at 20,000 characters).
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": (
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ),
    "DEFAULT_PERMISSION_CLASSES": ("rest_framework.permissions.IsAuthenticated",),
    # A JSON API: one body format to document, validate and size-limit.
    "DEFAULT_PARSER_CLASSES": ("backend.llm.api.parsers.JSONParser",),
    # Counted in the database: a limit holds across every web process.
    "DEFAULT_THROTTLE_CLASSES": ("backend.llm.api.throttling.SharedUserRateThrottle",),
    "DEFAULT_THROTTLE_RATES": {
        "user": env("API_RATE_USER", "600/min"),
        "llm_execute": env("API_RATE_LLM_EXECUTE", "60/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.llm.api.exception_handler.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "pix:e LLM Orchestrator API",
    "DESCRIPTION": "Run LLM operations in monolithic or agentic mode; every run is recorded.",
    "VERSION": "0.1.0",
    # 3.1: JSON Schema proper, so request bodies are the pydantic types' own schemas.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # Like every endpoint: the schema and its docs need a login (token or session).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.llm.api.openapi.add_error_envelope",
    ],
}

TEST_RUNNER = "backend.test_runner.PytestTestRunner"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Serve app static files without a collectstatic step (run it for production speed).
WHITENOISE_USE_FINDERS = True

# The orchestrator's settings (keys are Config field names in upper case); these win
# over environment variables. Empty: everything comes from the environment / .env.
LLM_ORCHESTRATOR: dict[str, object] = {}

# Logs: text for development, one JSON object per line in production (LOG_FORMAT=json
# or text overrides); every line logged during a run carries its run_id (and trace_id
# when tracing). Run events (run.start, run.end, run.retry, ...) are INFO on
# backend.llm.events: shown in production, or with LOG_LEVEL=INFO.
LOG_FORMAT = env("LOG_FORMAT", "json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"run": {"()": "backend.llm.observability.RunIdFilter"}},
    "formatters": {
        "json": {"()": "backend.llm.observability.JsonFormatter"},
        "text": {"format": "%(levelname)s %(name)s [run %(run_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["run"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "loggers": {
        "backend": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
        "backend.llm.events": {
            "handlers": ["console"],
            "level": env("LOG_LEVEL", "INFO" if PRODUCTION else "WARNING"),
            "propagate": False,
        },
    },
}
# GET /metrics (Prometheus) answers a scraper that sends "Authorization: Bearer
# <METRICS_TOKEN>"; without the setting the endpoint is off (404).
METRICS_TOKEN = env("METRICS_TOKEN")
