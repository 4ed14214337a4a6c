"""Settings for every deployment; differences come from the environment (see env.py)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from portal.settings.env import env_bool, env_int, env_list, env_secret, env_secret_key, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("CLICKSTREAM_VAR_DIR", str(BASE_DIR / "var")))

# Production mode refuses to start without a strong secret key and a host list. DEBUG shows tracebacks and
# settings to whoever causes an error, so it is off unless asked for (DEBUG=true), in every mode.
PRODUCTION = env_bool("CLICKSTREAM_PRODUCTION", False)
DEBUG = env_bool("DEBUG", False)
if PRODUCTION:
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("Set ALLOWED_HOSTS (comma separated) in production mode.")
else:
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
SECRET_KEY = env_secret_key(production=PRODUCTION, allowed_hosts=ALLOWED_HOSTS)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_q",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",  # lists each user's sessions, so linking an identity can end the others
    "portal.apps.PortalConfig",
    "projects",
    "pipelines",
    "provisioning",
    "etl",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.audit.AuditContextMiddleware",
    "portal.security.RequireMFAMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.context_processors.organization",
                "portal.oidc.context_processors.single_sign_on",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_secret("DATABASE_URL", f"sqlite:///{VAR_DIR / 'clickstream.sqlite3'}"), conn_max_age=60
    )
}
# SQLite (the embedded default) is shared by the web server and the worker's processes: a transaction takes
# the write lock when it begins (a read that later writes would otherwise fail at once with "database is
# locked" when another process writes), waits up to 20 s for it, and WAL lets readers go on meanwhile.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
Q_CLUSTER: dict[str, object] = {
    "name": "clickstream",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": env_int("Q_TIMEOUT", 3600),
    "retry": env_int("Q_TIMEOUT", 3600) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in: email + password, verified by a link; login attempts rate limited per account and IP.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# Mandatory: an address nobody proved must never stand for a person (single sign-on links accounts by it).
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
ACCOUNT_ADAPTER = "portal.accounts.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
# Who may sign up with a password: anyone ("open": they get an organization of their own), or only people
# following an invitation link ("invite", the default in production). See portal/accounts.py.
CLICKSTREAM_SIGNUP = env_str("CLICKSTREAM_SIGNUP", "invite" if PRODUCTION else "open")
if CLICKSTREAM_SIGNUP not in ("open", "invite"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"CLICKSTREAM_SIGNUP must be open or invite, not {CLICKSTREAM_SIGNUP!r}.")
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "clickstream@localhost")

# The cache holds the sign-in rate limits (allauth's, the only user of it): it must be one for all workers, or
# each worker process (and host) would allow the full number of guesses. Redis when REDIS_URL is set; in
# production without it, the database (the table `portal_cache`, made by migration 0004 whatever the
# settings); a process-local cache only for the single-process development server.
CACHE_TABLE = "portal_cache"
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif PRODUCTION:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The worker's heartbeat (django-q2's cluster stat, every half second, kept 3 s) must reach the portal's health
# check in another process: with the ORM broker it goes to files under var/ (Redis keeps its own).
if not REDIS_URL:
    CACHES["queue"] = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache" / "queue"),
    }
    Q_CLUSTER["cache"] = "queue"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# Our English wording for allauth's pages (sentence case: "Sign in", "Change password").
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.LimitOffsetPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clickstream API",
    "DESCRIPTION": "Manage organizations, projects, apps and pipelines. Authenticate with a personal API token: "
    "`Authorization: Bearer <token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "HealthStatusEnum": ["ok", "degraded"],
        "JobStatusEnum": "portal.choices.JobStatus",
    },
}

# Where the local provider keeps its data lake and the collector's allow-list.
CLICKSTREAM_LAKE_DIR = Path(env_str("CLICKSTREAM_LAKE_DIR", str(VAR_DIR / "lake")))
# The local runner's ETL engine: duckdb (in-process, the default) or spark (local[*], to check the EMR path).
CLICKSTREAM_ETL_ENGINE = env_str("CLICKSTREAM_ETL_ENGINE", "duckdb")
CLICKSTREAM_INGESTION_ENDPOINT = env_str("CLICKSTREAM_INGESTION_ENDPOINT", "http://127.0.0.1:8001/collect")
# The collector's health check (portal/health.py); by default `/health` beside the ingestion endpoint.
CLICKSTREAM_COLLECTOR_HEALTH_URL = env_str("CLICKSTREAM_COLLECTOR_HEALTH_URL", "")
# The allow-list file the local collector re-reads (`--allowlist-file`, shared by every project on this machine).
CLICKSTREAM_ALLOWLIST_FILE = Path(env_str("CLICKSTREAM_ALLOWLIST_FILE", str(VAR_DIR / "allowlist.json")))

# How long a running job's claim lasts without a heartbeat; the sweeper retries or fails a job whose worker
# stopped renewing it (a job kind may set its own). Workers renew every third of it.
CLICKSTREAM_JOB_LEASE_SECONDS = env_int("CLICKSTREAM_JOB_LEASE_SECONDS", 60, minimum=3)
# AWS (portal/aws.py): our own principal comes from the environment as boto3 finds it; AWS_ENDPOINT_URL points
# every client at an emulator. The principal's ARN goes into the trust policy of the role template (found with
# GetCallerIdentity when not given); a template bucket makes the console's quick-create link possible.
CLICKSTREAM_AWS_REGION = env_str("CLICKSTREAM_AWS_REGION", env_str("AWS_DEFAULT_REGION", "us-east-1"))
CLICKSTREAM_AWS_MAX_ATTEMPTS = env_int("CLICKSTREAM_AWS_MAX_ATTEMPTS", 8)
CLICKSTREAM_AWS_PRINCIPAL_ARN = env_str("CLICKSTREAM_AWS_PRINCIPAL_ARN", "")
CLICKSTREAM_AWS_TEMPLATE_BUCKET = env_str("CLICKSTREAM_AWS_TEMPLATE_BUCKET", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# ---------------------------------------------------------------------------------------------------------
# Single sign-on: OpenID Connect (any provider) or the Cognito shortcut, and bearer JWTs for the API.
# Configured when OIDC_ISSUER (or COGNITO_USER_POOL_ID) is set; see portal/oidc/ and the README.
# ---------------------------------------------------------------------------------------------------------
COGNITO_USER_POOL_ID = env_str("COGNITO_USER_POOL_ID", "")
COGNITO_REGION = env_str("COGNITO_REGION", COGNITO_USER_POOL_ID.partition("_")[0])
COGNITO_DOMAIN = env_str("COGNITO_DOMAIN", "").removeprefix("https://").rstrip("/")
_cognito_issuer = (
    f"https://cognito-idp.{COGNITO_REGION}.amazonaws.com/{COGNITO_USER_POOL_ID}"
    if COGNITO_USER_POOL_ID
    else ""
)
OIDC_ISSUER = env_str("OIDC_ISSUER", _cognito_issuer).rstrip("/")
OIDC_ENABLED = bool(OIDC_ISSUER)
if PRODUCTION and OIDC_ENABLED and not OIDC_ISSUER.startswith("https://"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("OIDC_ISSUER must be an https:// URL in production mode.")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "Cognito" if COGNITO_USER_POOL_ID else "single sign-on")
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID") if OIDC_ENABLED else env_str("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = "RS256"  # mozilla-django-oidc's setting; our verifier accepts OIDC_SIGNING_ALGORITHMS
OIDC_SIGNING_ALGORITHMS = env_list("OIDC_SIGNING_ALGORITHMS", ["RS256", "RS384", "RS512", "ES256", "ES384"])
# Where the groups are in the token or userinfo: a claim name, or a dotted path (Keycloak: realm_access.roles).
OIDC_ROLES_CLAIM = env_str("OIDC_ROLES_CLAIM", "cognito:groups")
# The `aud` of access tokens issued for the API (besides access tokens issued to our client, `typ: at+jwt` or
# Cognito's `token_use: access`). Never the client id: that is the audience of ID tokens (portal/oidc/tokens.py).
OIDC_API_AUDIENCES = env_list("OIDC_API_AUDIENCES")
if OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_ID in OIDC_API_AUDIENCES:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "OIDC_API_AUDIENCES must not contain OIDC_CLIENT_ID: ID tokens carry it as their audience, and an ID "
        "token is not an API token. Give the API's own audience (resource identifier) instead."
    )
OIDC_CLOCK_SKEW_SECONDS = env_int("OIDC_CLOCK_SKEW_SECONDS", 60)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 5)
OIDC_USE_USERINFO = env_bool("OIDC_USE_USERINFO", True)
# RP-initiated logout: the discovery document's end_session_endpoint unless given here (Cognito has none).
OIDC_LOGOUT_URL = env_str("OIDC_LOGOUT_URL", f"https://{COGNITO_DOMAIN}/logout" if COGNITO_DOMAIN else "")
OIDC_LOGOUT_STYLE = "cognito" if COGNITO_DOMAIN and not env_str("OIDC_LOGOUT_URL", "") else "oidc"
# Shown to a provider-signed-in person whose groups open no organization: whom to ask.
CLICKSTREAM_SUPPORT_CONTACT = env_str("CLICKSTREAM_SUPPORT_CONTACT", "")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
OIDC_REDIRECT_ALLOWED_HOSTS: list[str] = []
# The backend answers only the provider's callback (it returns None for a password), so it is always listed.
AUTHENTICATION_BACKENDS.append("portal.oidc.backend.OIDCBackend")

# Local (password) sign-in; turned off, only break-glass admins (superusers, or the emails listed) may use it.
LOCAL_SIGNIN_ENABLED = env_bool("CLICKSTREAM_LOCAL_SIGNIN", True)
BREAK_GLASS_EMAILS = [e.lower() for e in env_list("CLICKSTREAM_BREAK_GLASS_EMAILS")]

# Two-factor authentication for local accounts (django-allauth MFA): TOTP apps and recovery codes.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Clickstream")

# ---------------------------------------------------------------------------------------------------------
# Security: cookies, sessions, HTTPS, CSP. Production mode turns every protection on (check --deploy clean).
# ---------------------------------------------------------------------------------------------------------
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE_SECONDS", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"  # Lax, not Strict: the provider's redirect back must carry the session
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Behind a TLS-terminating proxy: "HTTP_X_FORWARDED_PROTO,https" trusts that header (only if the proxy sets it).
_proxy_header = env_list("SECURE_PROXY_SSL_HEADER")
if _proxy_header:
    if len(_proxy_header) != 2:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be 'HEADER,value', e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    SECURE_PROXY_SSL_HEADER = (_proxy_header[0], _proxy_header[1])
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
# The per-IP sign-in rate limit must see the client, not the proxy: how many proxies append X-Forwarded-For.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # the load balancer's plain-HTTP health check
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# The content security policy (portal/security.py): only our own scripts, styles and images.
CSP_REPORT_URI = env_str("CSP_REPORT_URI", "")

# Outside production, whitenoise serves static files straight from the app folders (no collectstatic, and
# no DEBUG needed for `runserver` to have them), picking up changed files.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
