"""Settings for every environment, read from the environment in this one place.

With no DATABASE_URL and no REDIS_URL the platform runs on its embedded default:
SQLite, Celery tasks executed in-process after commit, console email.
"""

import importlib.util
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("CEM_REQUIRE_SECRET_KEY", False):
        raise RuntimeError("SECRET_KEY must be set in production")
    SECRET_KEY = "insecure-local-development-key-change-me"  # noqa: S105
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    # axes before organizations: its failed-login receiver runs first, the audit reads its verdict
    "axes",
    "organizations",
    "customers",
    "journeys",
    "surveys",
    "analytics",
    "alerts",
    "improvements",
    "notifications",
    "integrations",
    "demo",
    "cem",  # the project package, an app only for the migration history of organizations' tables
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "organizations.middleware.TenantMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = os.environ.get("CEM_ROOT_URLCONF", "cem.urls")
WSGI_APPLICATION = "cem.wsgi.application"

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
                "django.template.context_processors.i18n",
                "organizations.context_processors.tenant",
                "cem.context_processors.links",
                "notifications.context_processors.unread",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The tenant guard (docs/security.md): connections `SET ROLE` to this role, which row-level
    # security constrains to the current tenant; migrate runs as the login role, the owner.
    # Empty when DATABASE_URL already logs in as the app role (migrate then with the owner's).
    DATABASES["default"]["ENGINE"] = "organizations.db.postgresql"
    DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "cem_app")
    if DATABASE_APP_ROLE:
        DATABASES["default"].setdefault("OPTIONS", {})["assume_role"] = DATABASE_APP_ROLE
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
AUTHENTICATION_BACKENDS = [
    "organizations.login_throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes, see organizations/login_throttle.py): per account and per client
# address, a cool-off that doubles, failures and lockouts in the audit log.
AXES_FAILURE_LIMIT = int(os.environ.get("CEM_LOGIN_FAILURE_LIMIT", "5"))
CEM_LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("CEM_LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
CEM_LOGIN_COOLOFF_MINUTES = int(os.environ.get("CEM_LOGIN_COOLOFF_MINUTES", "5"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "organizations.login_throttle.LoginThrottleHandler"
AXES_COOLOFF_TIME = "organizations.login_throttle.login_cool_off"
AXES_USE_ATTEMPT_EXPIRATION = True  # each lock expires on its own cool-off, not the caller's
AXES_CLIENT_IP_CALLABLE = "organizations.login_throttle.login_address"
AXES_LOCKOUT_CALLABLE = "organizations.login_throttle.lockout_page"
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure, also for unknown usernames
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
_PLOTLY_DIR = Path(importlib.util.find_spec("plotly").submodule_search_locations[0])
# plotly.js ships inside the plotly package: served as /static/plotly/plotly.min.js.
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", _PLOTLY_DIR / "package_data")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("CEM_MANIFEST_STATIC", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Files the platform writes (exports): kept on disk here, served only through views that check
# who asks, never as static files.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"
# Days an export's file is kept after it was written; beat removes it then.
CEM_EXPORT_KEEP_DAYS = int(os.environ.get("CEM_EXPORT_KEEP_DAYS", "7"))
# The most responses one export may hold, unless the tenant has its own quota (docs/exports.md).
CEM_EXPORT_MAX_ROWS = int(os.environ.get("CEM_EXPORT_MAX_ROWS", "2000000"))
# The Chromium that prints the PDF reports (docs/reports.md); Debian's package by default.
CEM_CHROMIUM_PATH = os.environ.get("CEM_CHROMIUM_PATH", "/usr/bin/chromium")
# Serve straight from the apps in development; production serves the collected files.
WHITENOISE_USE_FINDERS = not env_bool("CEM_MANIFEST_STATIC", False)

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A cache that does not answer is a miss soon, not a hung request.
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://localhost/")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_DEFAULT_QUEUE", "default")
CELERY_TASK_ROUTES = {
    # Exact names win over the patterns below: exports run long, so never before scoring.
    "analytics.tasks.run_export": {"queue": os.environ.get("CELERY_REPORTS_QUEUE", "reports")},
    "analytics.tasks.send_scheduled_reports": {
        "queue": os.environ.get("CELERY_REPORTS_QUEUE", "reports")
    },
    "analytics.tasks.send_report_delivery": {
        "queue": os.environ.get("CELERY_REPORTS_QUEUE", "reports")
    },
    "analytics.tasks.*": {"queue": os.environ.get("CELERY_SCORING_QUEUE", "scoring")},
    "alerts.tasks.*": {"queue": os.environ.get("CELERY_ALERTS_QUEUE", "alerts")},
    "surveys.tasks.*": {"queue": os.environ.get("CELERY_NOTIFICATIONS_QUEUE", "notifications")},
    "notifications.tasks.*": {
        "queue": os.environ.get("CELERY_NOTIFICATIONS_QUEUE", "notifications")
    },
    "integrations.tasks.*": {"queue": os.environ.get("CELERY_EVENTS_QUEUE", "default")},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 2,
    "socket_connect_timeout": 1,
}
# Publishing from a web request gives up within about a second when the broker is down
# (see organizations/broker.py); workers keep retrying their own connection as usual.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "sweep-unscored-responses": {"task": "analytics.tasks.sweep_unscored", "schedule": 60.0},
    "analyze-external-posts": {
        "task": "analytics.tasks.analyze_unanalyzed_external_posts",
        "schedule": 60.0,
    },
    "escalate-due-tickets": {
        "task": "alerts.tasks.escalate_due",
        "schedule": float(os.environ.get("CEM_ESCALATION_SWEEP_SECONDS", "60")),
    },
    "send-due-invitations": {"task": "surveys.tasks.dispatch_due_invitations", "schedule": 60.0},
    "requeue-org-unit-imports": {
        "task": "organizations.tasks.requeue_org_unit_imports",
        "schedule": 60.0,
    },
    "requeue-export-jobs": {"task": "analytics.tasks.requeue_export_jobs", "schedule": 60.0},
    "expire-export-files": {"task": "analytics.tasks.expire_export_files", "schedule": 3600.0},
    "send-scheduled-reports": {
        "task": "analytics.tasks.send_scheduled_reports",
        "schedule": float(os.environ.get("CEM_REPORTS_SWEEP_SECONDS", "900")),
    },
    "process-pending-events": {
        "task": "integrations.tasks.sweep_unprocessed_events",
        "schedule": 60.0,
    },
    # Themes of the text page: found on a worker, for the tenants with new texts since.
    "discover-text-themes": {
        "task": "analytics.tasks.discover_due_text_themes",
        "schedule": 3600.0,
    },
    # Recurring root causes become proposed improvement projects (improvements.services).
    "propose-improvement-projects": {
        "task": "improvements.tasks.propose_for_recurring_causes",
        "schedule": 3600.0,
    },
    # NPS drops per org unit and touchpoint against their own history (docs/metric-alerts.md):
    # the window is the last seven whole local days, so one run a day sees each window.
    "detect-metric-drops": {
        "task": "analytics.tasks.detect_metric_drops",
        "schedule": float(os.environ.get("CEM_METRIC_DROP_SWEEP_SECONDS", "86400")),
    },
}
# Responses complete for longer than this with no score are re-enqueued by the sweeper.
CEM_SWEEP_GRACE_SECONDS = int(os.environ.get("CEM_SWEEP_GRACE_SECONDS", "90"))
# A journey-map cell with fewer scored answers than this is shown greyed with its n, not scored.
CEM_MAP_MIN_SAMPLE = int(os.environ.get("CEM_MAP_MIN_SAMPLE", "30"))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "cem@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
# Where respondents reach the platform: links in invitations are built on it.
CEM_PUBLIC_BASE_URL = os.environ.get("CEM_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# Addresses a group robot's webhook may resolve to although they are not public (and reached
# over plain http): only for a local test receiver; empty in every deployment.
CEM_WEBHOOK_ALLOW_PRIVATE: list[str] = []
# One backend per outbound channel (see organizations/messaging.py).
CEM_MESSAGE_BACKENDS = {
    "email": os.environ.get("CEM_EMAIL_SENDER", "organizations.messaging.EmailBackend"),
    "sms": os.environ.get("CEM_SMS_SENDER", "organizations.messaging.LogBackend"),
    "wechat": os.environ.get("CEM_WECHAT_SENDER", "organizations.messaging.LogBackend"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["integrations.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["integrations.auth.HasTenantApiKey"],
    "DEFAULT_PARSER_CLASSES": ["integrations.parsers.StrictJsonParser"],
    # Per client address (checked before the key) and per key; see integrations/throttles.py.
    "DEFAULT_THROTTLE_CLASSES": ["integrations.throttles.ApiKeyThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": os.environ.get("CEM_API_RATE", "600/minute"),
        "api_address": os.environ.get("CEM_API_ADDRESS_RATE", "1200/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "integrations.schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "integrations.pagination.ApiPagination",
    "EXCEPTION_HANDLER": "integrations.errors.json_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CEM platform API",
    "DESCRIPTION": "Partner API: journeys, surveys, responses and tickets of one tenant, "
    "authenticated by a per-tenant API key (`Authorization: Api-Key <key>`).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SurveyStatusEnum": "surveys.models.Survey.Status",
        "TicketStatusEnum": "alerts.models.TicketStatus",
        "ResponseStatusEnum": "surveys.models.Response.Status",
    },
}

# Respondent pages: page submissions per client address per minute. Generous, because many
# respondents can share one address (branch Wi-Fi, carrier NAT) and each page is a POST.
CEM_PUBLIC_SUBMIT_RATE = int(os.environ.get("CEM_PUBLIC_SUBMIT_RATE", "120"))
# Public account pages (accepting an invitation, password reset, sign-up): POSTs per client
# address per minute.
CEM_PUBLIC_FORM_RATE = int(os.environ.get("CEM_PUBLIC_FORM_RATE", "20"))
# Whether anyone may create a tenant at /signup/ (off: operators use `manage.py create_tenant`).
CEM_SIGNUP_OPEN = env_bool("CEM_SIGNUP_OPEN", False)
# Where request limits are counted; without it (or while it is down) each process counts alone.
CEM_RATELIMIT_REDIS_URL = os.environ.get("CEM_RATELIMIT_REDIS_URL", REDIS_URL)
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Database sessions read through a copy in the shared Redis (organizations/sessions.py).
SESSION_ENGINE = "organizations.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a TLS-terminating proxy (see docs/deployment.md).
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# How many proxies in front of the app append to X-Forwarded-For; the client address used
# for rate limits is the one the outermost trusted proxy saw.
CEM_TRUSTED_PROXY_COUNT = int(os.environ.get("CEM_TRUSTED_PROXY_COUNT", "0"))
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere (charts are drawn from data attributes by a static file), so a
# stored javascript: link or an injected tag cannot run. Styles may be inline: plotly sets
# them at run time, and a survey's brand colour is one checked value. Respondent pages widen
# frame-ancestors for the embed widget (surveys/respond.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "jieba": {"level": "WARNING"},
        # A request with a forged Host header is the client's error, not ours.
        "django.security.DisallowedHost": {"handlers": [], "propagate": False},
    },
}
