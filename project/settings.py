"""Piquet settings, read from the environment (and an optional `.env` file).

Every variable is documented in `.env.example` and `docs/configuration.md`.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from project import sso

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
# Keys that were ever written in an example: anyone could forge acknowledge and unsubscribe links with them.
EXAMPLE_SECRET_KEYS = {"change-me", "changeme", "secret", "piquet-development-key-not-for-production"}
MAKE_A_KEY = "Make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or in .env (only DEBUG=1 runs with a development key). "
            + MAKE_A_KEY
        )
    SECRET_KEY = "piquet-development-key-not-for-production"  # noqa: S105 (DEBUG only)
elif not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY.lower() in EXAMPLE_SECRET_KEYS or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for a server (shorter than 50 characters, or an example value): anyone could "
        "forge acknowledge and unsubscribe links with it. " + MAKE_A_KEY
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

PIQUET_BASE_URL = env.str("PIQUET_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# The public status page's branding (the admin's "Status page settings" override each one).
PIQUET_ORG_NAME = env.str("PIQUET_ORG_NAME", default="Piquet")
PIQUET_ORG_LOGO_URL = env.str("PIQUET_ORG_LOGO_URL", default="")
PIQUET_ORG_URL = env.str("PIQUET_ORG_URL", default="")
PIQUET_SUPPORT_CONTACT = env.str("PIQUET_SUPPORT_CONTACT", default="")

# HTTPS: when Piquet is reached over https (PIQUET_BASE_URL), the browser is told to stay on it and cookies
# travel only over it. Piquet sits behind a TLS reverse proxy that sets X-Forwarded-Proto. Each can be set.
SERVED_OVER_HTTPS = PIQUET_BASE_URL.startswith("https://") and not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SERVED_OVER_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if SERVED_OVER_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SERVED_OVER_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SERVED_OVER_HTTPS)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SERVED_OVER_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SERVED_OVER_HTTPS)
_proxy_header = env.list(
    "SECURE_PROXY_SSL_HEADER", default=["HTTP_X_FORWARDED_PROTO", "https"] if SERVED_OVER_HTTPS else []
)
SECURE_PROXY_SSL_HEADER = tuple(_proxy_header) if len(_proxy_header) == 2 else None

INSTALLED_APPS = [
    "project.apps.PiquetAdminConfig",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "auditlog",
    # Ours, lowest first: each app imports only the apps above it in this list.
    "project",
    "people",
    "delivery",
    "rotations",
    "incidents",
    "comms",
    "releases",
    "reviews",
    "worker",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "people.middleware.ViewerTimeZoneMiddleware",  # times shown in the viewer's zone (Profile.time_zone)
    "project.middleware.AuditlogMiddleware",  # the admin user is the audit actor (the API sets its own)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# The audit trail of configuration (registered in each app's ready()): a secret is stored as its last four
# characters, never whole.
AUDITLOG_MASK_CALLABLE = "project.text.mask_key"

ROOT_URLCONF = "project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "project" / "templates"],
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

WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

# Database: SQLite under var/ by default (no server needed), PostgreSQL in production.
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'piquet.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two processes
    # never deadlock upgrading a read lock ("database is locked").
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    # WAL: readers never wait for the writer, and a commit costs one fsync.
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL;")
    # Writers take turns through a lock file instead of polling SQLite's lock (see project/sqlite3/base.py).
    DATABASES["default"]["ENGINE"] = "project.sqlite3"
else:
    # Prepared statements: each connection parses and plans a statement it keeps running once (psycopg
    # prepares it at its fifth run), which halves the database's work for a new incident. A pooler that
    # cannot keep them (PgBouncer in transaction mode before 1.21) needs PIQUET_DB_PREPARED_STATEMENTS=0.
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
        "PIQUET_DB_PREPARED_STATEMENTS", default=True
    ):
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
# Keep connections open: opening one costs more than most requests' queries, and the ORM broker polls often.
# No health check before each request: it costs a round trip on every alert; after a restart of PostgreSQL
# each process fails one request (senders retry) and reconnects.
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("de", _("German")), ("it", _("Italian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Zurich")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# E-mail: console in development, any SMTP server through EMAIL_URL.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Piquet <piquet@localhost>")

# Background work: django-q2 on the ORM broker by default, Redis in production.
Q_BROKER = env.str("Q_BROKER", default="orm")
Q_CLUSTER = {
    # Processes sharing a queue must share this name; separate installations on
    # one Redis need different names.
    "name": env.str("Q_CLUSTER_NAME", default="piquet"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 60,  # a task running longer than this is killed ...
    "retry": 90,  # ... well before the broker hands it out again
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    "save_limit": -1,  # keep failed tasks only: successes are in the database already
    "label": "Background tasks",
    # `manage.py worker` runs the schedules every second itself (django-q2 looks
    # only every ~30 s); see incidents/escalation.py.
    "scheduler": False,
}
if Q_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["broker_class"] = "project.queue_table.QueueTable"  # django-q2's, a task row in one INSERT
elif Q_BROKER.startswith(("redis://", "rediss://", "unix://")):
    Q_CLUSTER["redis"] = Q_BROKER
else:
    raise ImproperlyConfigured(f"Q_BROKER must be 'orm' or a redis:// URL, not {Q_BROKER!r}.")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "people.api.auth.PersonTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["project.api.RolePermissions"],
    "DEFAULT_PAGINATION_CLASS": "project.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "project.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "project.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Piquet API",
    "DESCRIPTION": "Incident response and on-call: alerts, incidents, schedules, releases.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A service's public status is one enum wherever it appears (the service, a status update).
    "ENUM_NAME_OVERRIDES": {
        "PublicStatusEnum": "incidents.models.PublicStatus",
        "IncidentRoleEnum": "incidents.models.IncidentRole.Role",
        "TeamRoleEnum": "people.models.TeamMembership.Role",
        "UrgencyEnum": "incidents.models.Urgency",
        "SeverityEnum": "incidents.models.Severity",
        "RuleUrgencyEnum": "people.models.NotificationRule.Urgency",
        "IncidentTypeEnum": "incidents.models.IncidentType",
        "IncidentTaskStateEnum": "incidents.models.IncidentTask.State",
        "ResponderRequestStateEnum": "incidents.models.ResponderRequest.State",
        "SwapRequestStateEnum": "rotations.models.SwapRequest.State",
        "ReviewStateEnum": "reviews.models.Review.State",
    },
}

# Providers for SMS, WhatsApp and voice calls (Twilio) and Telegram; see docs/configuration.md.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com")
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")

# Largest alert event accepted by the ingestion endpoints, in bytes.
PIQUET_MAX_EVENT_BYTES = 512 * 1024


# Shared counters for rate limits: set CACHE_URL (e.g. redis://127.0.0.1:6379/3) when several processes serve.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# Failed logins (django-axes): after PIQUET_LOGIN_FAILURES for one account or from one address, 429 for
# PIQUET_LOGIN_COOLOFF_MINUTES. A successful login resets the count.
AXES_FAILURE_LIMIT = env.int("PIQUET_LOGIN_FAILURES", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("PIQUET_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "project.ratelimits.locked_out"

# Single sign-on with OpenID Connect (docs/configuration.md): on when PIQUET_OIDC_ISSUER and the client are
# set. The provider's endpoints and keys come from its discovery document, fetched when first needed; if it
# cannot be had, password login goes on working and the login page says SSO is unavailable.
PIQUET_OIDC_ISSUER = env.str("PIQUET_OIDC_ISSUER", default="").rstrip("/")
PIQUET_OIDC_CLIENT_ID = env.str("PIQUET_OIDC_CLIENT_ID", default="")
PIQUET_OIDC_CLIENT_SECRET = env.str("PIQUET_OIDC_CLIENT_SECRET", default="")
PIQUET_OIDC_GROUPS_CLAIM = env.str("PIQUET_OIDC_GROUPS_CLAIM", default="groups")
# provider group=role:Managers|Responders|Stakeholders, team:<slug> or team-manager:<slug>, comma-separated.
PIQUET_OIDC_GROUP_MAP = sso.parse_group_map(env.str("PIQUET_OIDC_GROUP_MAP", default=""))
# Local passwords: 0 turns them off for everyone but the superusers named in PIQUET_BREAK_GLASS_USERS.
PIQUET_PASSWORD_LOGIN = env.bool("PIQUET_PASSWORD_LOGIN", default=True)
PIQUET_BREAK_GLASS_USERS = env.list("PIQUET_BREAK_GLASS_USERS", default=[])
if PIQUET_OIDC_ISSUER and not PIQUET_OIDC_CLIENT_ID:
    raise ImproperlyConfigured("PIQUET_OIDC_ISSUER is set but PIQUET_OIDC_CLIENT_ID is not: set both, or neither.")
# The SSO backend answers only the provider's callback, and nothing while SSO is not configured.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "project.passwords.PasswordBackend",
    "people.sso.OIDCBackend",
]
# What mozilla-django-oidc reads; the endpoints are read from the discovery document (people/sso.py).
OIDC_RP_CLIENT_ID = PIQUET_OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = PIQUET_OIDC_CLIENT_SECRET
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_NONCE = True  # the library checks the state and the nonce of every callback
OIDC_TIMEOUT = 10
OIDC_STORE_ID_TOKEN = True  # the hint the provider's end-session endpoint asks for at logout
OIDC_OP_LOGOUT_URL_METHOD = "project.sso.provider_logout_url"
LOGIN_REDIRECT_URL = "admin:index"
LOGIN_REDIRECT_URL_FAILURE = "/admin/login/"  # a path: the library does not resolve this one

# Networks (CIDRs) that webhooks and other outbound URLs may reach although they are loopback, private or
# link-local (for a receiver inside your network). Empty: none; such URLs are refused.
PIQUET_OUTBOUND_ALLOWED_NETWORKS = env.list("PIQUET_OUTBOUND_ALLOWED_NETWORKS", default=[])

# Release gate: incident severities that freeze their service, and who hears when a freeze begins or ends
# (e-mail addresses and Apprise URLs, comma-separated in the environment).
PIQUET_FREEZE_SEVERITIES = env.list("PIQUET_FREEZE_SEVERITIES", default=["SEV1", "SEV2"])
PIQUET_FREEZE_ANNOUNCE = env.list("PIQUET_FREEZE_ANNOUNCE", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "project.logs.UTCFormatter", "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
