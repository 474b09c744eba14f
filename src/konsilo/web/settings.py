"""konsilo's one settings module, read from the environment through small typed helpers.

SQLite in ``KONSILO_DATA_DIR`` by default (WAL, busy timeout, IMMEDIATE transactions), or
PostgreSQL through ``DATABASE_URL``. ``KONSILO_PRODUCTION=1`` turns on the production checks
in ``konsilo.web.checks`` (secret key, allowed hosts, HTTPS cookies).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def envlist(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def envsecret(name: str) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (container secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, "")


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("KONSILO_DATA_DIR") or Path.cwd() / "data").resolve()

PRODUCTION = envbool("KONSILO_PRODUCTION")
DEBUG = envbool("KONSILO_DEBUG", default=not PRODUCTION)

# In development a fixed, obviously unsafe key keeps sessions working across restarts; in
# production `konsilo serve` refuses to start without KONSILO_SECRET_KEY (checks.py).
SECRET_KEY = envsecret("KONSILO_SECRET_KEY") or "dev-only-insecure-key-" + "k" * 40
ALLOWED_HOSTS = envlist("KONSILO_ALLOWED_HOSTS") or (
    [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = envlist("KONSILO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "konsilo.web.ledger",
    "konsilo.web.accounts",
    "konsilo.web.councils",
    "konsilo.web.decisions",
    "konsilo.web.federation",
    "konsilo.web.api",
]
if not PRODUCTION:
    INSTALLED_APPS.remove("django.contrib.staticfiles")
    INSTALLED_APPS.insert(0, "whitenoise.runserver_nostatic")
    INSTALLED_APPS.append("django.contrib.staticfiles")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "konsilo.web.urls"
WSGI_APPLICATION = "konsilo.web.wsgi.application"

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


def _database() -> dict[str, object]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
        # psycopg prepares a statement on the server once it has run this many times on a
        # connection. Django's own queries bind on the client and are never prepared; only
        # the record's proof reads (konsilo.web.ledger.store) bind on the server, and for
        # them planning costs more than running. 0 turns it off, for a pooler that cannot
        # keep prepared statements (PgBouncer before 1.21 in transaction mode).
        threshold = envint("KONSILO_PG_PREPARE_THRESHOLD", 5)
        options = dict(config.get("OPTIONS") or {})
        options.setdefault("prepare_threshold", threshold if threshold > 0 else None)
        config["OPTIONS"] = options
        # One test database per test process, so that concurrent runs never collide.
        config["TEST"] = {"NAME": f"test_{config['NAME']}_{os.getpid()}"}
        return config
    return {
        "ENGINE": "konsilo.web.sqlite",  # django.db.backends.sqlite3 + a writers queue
        "NAME": DATA_DIR / "konsilo.sqlite3",
        "OPTIONS": {
            # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
            # on the busy timeout instead of failing with "database is locked" mid-way.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                " PRAGMA wal_autocheckpoint=10000;"
            ),
        },
        # A file (not memory) so that live-server tests share it; in the temp directory so
        # that tests never need or touch an operator's data directory.
        "TEST": {"NAME": Path(tempfile.gettempdir()) / f"konsilo-test-{os.getpid()}.sqlite3"},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:me"
LOGOUT_REDIRECT_URL = "accounts:login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = envint("KONSILO_SESSION_AGE", 14 * 24 * 3600)
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("KONSILO_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = envint("KONSILO_HSTS_SECONDS", 31536000)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static" if PRODUCTION else None
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve the few static files straight from the package, with or without collectstatic.
WHITENOISE_USE_FINDERS = True

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend"
        if not envbool("KONSILO_TASKS_IMMEDIATE")
        else "django_tasks.backends.immediate.ImmediateBackend",
    }
}

# The public record (konsilo.web.ledger, docs/record.md). The origin line of a new log;
# {host} is KONSILO_LOG_HOST or the first of ALLOWED_HOSTS. A log keeps the origin it began with.
KONSILO_LOG_ORIGIN = os.environ.get("KONSILO_LOG_ORIGIN", "{host}/log/{slug}")
KONSILO_LOG_HOST = os.environ.get("KONSILO_LOG_HOST", "")
# `konsilo worker`: how often it sequences and enqueues the periodic tasks (dotted paths of
# django-tasks @task functions), and after how long without a heartbeat the write path
# sequences by itself again.
KONSILO_WORKER_INTERVAL = float(os.environ.get("KONSILO_WORKER_INTERVAL", "2"))
KONSILO_WORKER_STALE_SECONDS = envint("KONSILO_WORKER_STALE_SECONDS", 15)
KONSILO_PERIODIC_TASKS: list[str] = ["konsilo.web.decisions.tasks.close_due_votes"]

EMAIL_BACKEND = os.environ.get(
    "KONSILO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("KONSILO_FROM_EMAIL", "konsilo@localhost")

# Uploaded member lists are streamed to disk above this size; larger files are refused.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
KONSILO_MAX_IMPORT_BYTES = envint("KONSILO_MAX_IMPORT_BYTES", 200 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KONSILO_LOG_LEVEL", "WARNING")},
}
