"""Settings shared by every environment; each environment module overrides what differs."""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# The address the emails' private links point at.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # The admin on workbench.site.WorkbenchAdminSite (accounts.staff.PortalAdminSite: staff sign
    # in with a second factor), opening on the Feedback team's overview.
    "federation_portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "django_fsm",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "requests_app",
    "agreements",
    "accounts",
    "support",
    "portal",
    "workbench",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "webhooks",
    "federation_portal.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # outermost but one: error pages get the policy too
    "federation_portal.errors.RefuseUnreadableRequestMiddleware",  # before anything reads a body
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "requests_app.audit.AuditContextMiddleware",
    # Last, so it is the first to see a view's exception: a database gone away is a 503.
    "federation_portal.errors.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "federation_portal.urls"
WSGI_APPLICATION = "federation_portal.wsgi.application"

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
                "requests_app.context_processors.portal",
            ],
        },
    },
]

# The app connects as a role that owns nothing and may only read and append to the audit log
# (issue 11). Schema changes and that role's grants run as the owner through a second connection,
# named when DATABASE_MIGRATE_URL is given, in the deployment's migrate step only:
#   manage.py migrate --database migrate && manage.py grant_app_role
# In tests it mirrors the default connection rather than asking for a test database of its own.
MIGRATE_DATABASE = (
    {"migrate": {**env.db("DATABASE_MIGRATE_URL"), "TEST": {"MIRROR": "default"}}}
    if env("DATABASE_MIGRATE_URL", default="")
    else {}
)
# SQLite unless a database URL is given (PostgreSQL through psycopg 3 in tests and production).
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
    **MIGRATE_DATABASE,
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# static/vendor/ is built from node_modules by `manage.py build_assets`.
STATICFILES_DIRS = [BASE_DIR / "static"]

# Agreements and evidence live outside the web root and are served only through views that
# check access (agreements.services.downloads, behind the status link, portal and workbench).
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "private")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads: the signed FPA and evidence, refused over this size (checked once received).
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 2  # every form takes one file
# The size limit first, so an oversized upload stops being read at UPLOAD_MAX_BYTES.
FILE_UPLOAD_HANDLERS = [
    "portal_kit.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="NHSmail federation <federation@nhs.net>")
FEEDBACK_TEAM_EMAIL = env("FEEDBACK_TEAM_EMAIL", default="feedback@nhs.net")
# A hung mail server fails the send (and the task retries) well before the task's time limit.
EMAIL_TIMEOUT = 20

# How many reverse proxies in front of the portal append to X-Forwarded-For (0: none).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# The public request form: attempts per client address, and requests per requester's email.
REQUEST_FORM_POSTS_PER_HOUR = env.int("REQUEST_FORM_POSTS_PER_HOUR", default=30)
REQUESTS_PER_EMAIL_PER_DAY = env.int("REQUESTS_PER_EMAIL_PER_DAY", default=5)
# A public submission waits this long for its requester to confirm their address by the emailed
# link; the link is then dead and the submission deleted (a day: long enough to find the email).
REQUESTER_CONFIRM_HOURS = env.int("REQUESTER_CONFIRM_HOURS", default=24)
CONFIRM_POSTS_PER_IP_PER_HOUR = env.int("CONFIRM_POSTS_PER_IP_PER_HOUR", default=30)
# Contacts' sign-in links: how long one works, and how many may be asked for per hour.
SIGN_IN_LINK_MINUTES = env.int("SIGN_IN_LINK_MINUTES", default=10)
SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR = env.int("SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR", default=5)
SIGN_IN_POSTS_PER_IP_PER_HOUR = env.int("SIGN_IN_POSTS_PER_IP_PER_HOUR", default=20)
VERIFY_POSTS_PER_HOUR = env.int("VERIFY_POSTS_PER_HOUR", default=30)  # the public verify page

SESSION_COOKIE_HTTPONLY = True
# Sessions (staff and contacts) end after this long without a request.
SESSION_COOKIE_AGE = 60 * env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_SAVE_EVERY_REQUEST = True
# Staff sign-in (password and an authenticator app's code): failures allowed per username and
# per client address in STAFF_SIGN_IN_WINDOW_MINUTES before sign-in pauses.
STAFF_SIGN_IN_FAILURES_PER_USER = env.int("STAFF_SIGN_IN_FAILURES_PER_USER", default=5)
STAFF_SIGN_IN_FAILURES_PER_IP = env.int("STAFF_SIGN_IN_FAILURES_PER_IP", default=20)
STAFF_SIGN_IN_WINDOW_MINUTES = env.int("STAFF_SIGN_IN_WINDOW_MINUTES", default=15)
# The issuer name authenticator apps show next to the code.
OTP_TOTP_ISSUER = "NHSmail federation portal"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp 4): script, style, image and font only from the portal's own
# origin; no inline script and no style attribute (our templates and Django's admin need none).
# A template that must have inline script marks it nonce="{{ request.csp_nonce }}" (the nonce
# joins the header only on pages that ask for one). Nothing may frame, embed or rebase a page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# The portal's own error pages (federation_portal.errors), a refused CSRF token among them.
CSRF_FAILURE_VIEW = "federation_portal.errors.csrf_failure"

# Celery: tasks are acknowledged after they run and survive a lost worker; the web never waits
# on a broker (the outbox keeps the job when Redis is down, see requests_app.outbox).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that loses Redis keeps trying for as long as it takes (Celery's default gives up after
# 100 tries, about 50 minutes, and exits); kombu spaces the tries 2, 4, ... 30 s apart.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# The timing of recovery, in seconds. A job is acknowledged after it runs (acks_late), so when a
# whole worker dies (kill -9, out of memory, a lost host) its jobs stay unacknowledged in Redis
# until the visibility timeout passes; then any worker's periodic scan puts them back in the
# queue. The numbers, from the smallest up:
# - TASK_RETRY_BACKOFF_MAX: the longest countdown of a task's retry. A retry is a new message
#   with an eta, which a worker holds unacknowledged until it is due.
# - TASK_LONGEST_TIME_LIMIT: the longest hard time limit of any task (the beat jobs, 360 s; a
#   render has 150 s, an email or a domain's checks 90 s).
# - CELERY_VISIBILITY_TIMEOUT must exceed what a live worker may hold one message for,
#   TASK_RETRY_BACKOFF_MAX + TASK_LONGEST_TIME_LIMIT (480 s), or Redis would hand a running or
#   waiting job to a second worker too. 600 s: a dead worker's jobs run again within
#   CELERY_VISIBILITY_TIMEOUT + CELERY_UNACKED_RESTORE_INTERVAL, about ten minutes (it was an hour).
#   tests/test_settings_timing.py holds every task to this.
# - Staff retry windows (AGREEMENT_RENDER_STALE_MINUTES, CHECK_RUN_LOST_MINUTES, below) exceed
#   that recovery plus the job's own time limit, so staff are not offered a fresh agreement or a
#   review without checks while the first job may still come back, and are not kept waiting an
#   hour either.
TASK_RETRY_BACKOFF_MAX = env.int("TASK_RETRY_BACKOFF_MAX", default=120)
TASK_LONGEST_TIME_LIMIT = 360
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=600)
# How often each worker scans for jobs whose visibility timeout has passed (kombu's default scan
# is every 10 x 10 s; every 10 s costs one ZRANGE).
CELERY_UNACKED_RESTORE_INTERVAL = 10
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": CELERY_UNACKED_RESTORE_INTERVAL,
    "unacked_restore_throttle": 1,
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "agreements.tasks.agreement_render": {"queue": "pdf"},
    "requests_app.tasks.run_domain_check": {"queue": "checks"},
}
CELERY_BEAT_SCHEDULE = {
    # Daily: remind organisations of an unsigned FPA and outstanding evidence; expire old FPAs.
    "agreement-reminders": {
        "task": "agreements.tasks.agreement_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
    # Daily: a domain addition whose amended agreement lapsed unsigned expires (its domain is
    # let go); signing or recording it judges the date itself meanwhile.
    "expire-domain-additions": {
        "task": "requests_app.tasks.expire_domain_additions",
        "schedule": crontab(hour=7, minute=5),
    },
    # Daily: open re-attestations as terms near their end, remind, list the overdue.
    "reattestation-daily": {
        "task": "agreements.tasks.reattestation_daily",
        "schedule": crontab(hour=7, minute=10),
    },
    "outbox-dispatch": {
        "task": "requests_app.tasks.outbox_dispatch",
        "schedule": 30.0,
    },
    # allowlist.changed for entries dated ahead that take effect or end today.
    "allow-list-changes-today": {
        "task": "webhooks.tasks.allow_list_changes_today",
        "schedule": crontab(hour=0, minute=5),
    },
    "resume-webhook-deliveries": {
        "task": "webhooks.tasks.resume_webhook_deliveries",
        "schedule": 300.0,
    },
    "expire-idempotent-answers": {
        "task": "api.tasks.expire_idempotent_answers",
        "schedule": crontab(minute=45),
    },
    "expire-submissions": {
        "task": "requests_app.tasks.expire_submissions",
        "schedule": crontab(minute=15),
    },
    # Files a crash left between their write and the commit (agreements.services.files).
    "sweep-unreferenced-files": {
        "task": "agreements.tasks.sweep_unreferenced_files",
        "schedule": crontab(minute=30),
    },
    # Federated domains are checked again every week; a worse verdict is flagged to the team.
    "recheck-federated-domains": {
        "task": "requests_app.tasks.recheck_federated_domains",
        "schedule": crontab(day_of_week="mon", hour=6, minute=0),
    },
    # Daily: the remediation cases past their due date, listed for the Feedback team to decide
    # on; nothing is suspended automatically.
    "list-overdue-remediation-cases": {
        "task": "requests_app.tasks.list_overdue_remediation_cases",
        "schedule": crontab(hour=7, minute=30),
    },
}
# An outbox row younger than this is left to its own on-commit publish before the sweeper resends.
OUTBOX_GRACE_SECONDS = env.int("OUTBOX_GRACE_SECONDS", default=10)
# A job published this long ago and never done was lost in the broker (Redis restarted between
# BRPOP's pop and the worker reading it): the sweeper publishes it again. Longer than any job may
# legitimately take: the visibility timeout and an email's retries at their longest (eleven
# runs to the hard limit and the backoff between them, about 41 minutes together);
# tests/test_settings_timing.py checks it.
OUTBOX_REDISPATCH_SECONDS = env.int("OUTBOX_REDISPATCH_SECONDS", default=60 * 60)
# A stored file no row refers to is deleted once it is this old: far longer than any write
# waits for its commit (a task's time limit, a web request).
FILE_SWEEP_GRACE_MINUTES = env.int("FILE_SWEEP_GRACE_MINUTES", default=60)
# Staff retry windows (see the timing of recovery above): a job lost with its worker has come
# back and run within CELERY_VISIBILITY_TIMEOUT + CELERY_UNACKED_RESTORE_INTERVAL + its hard time
# limit (render 150 s: 12.7 minutes; a domain's checks 90 s: 11.7 minutes). After these windows
# it is taken as lost: an agreement still unrendered lets staff send a fresh one, a check run
# still pending no longer holds a review back.
AGREEMENT_RENDER_STALE_MINUTES = env.int("AGREEMENT_RENDER_STALE_MINUTES", default=15)
CHECK_RUN_LOST_MINUTES = env.int("CHECK_RUN_LOST_MINUTES", default=15)

# Domain checks (requests_app.checks): the DNS servers asked, as host[:port] entries
# ("[::1]:5353" for IPv6); empty means the system's /etc/resolv.conf. Each query times out,
# and each domain has a deadline, so a silent server gives time-out results, never a hang.
DNS_NAMESERVERS = env.list("DNS_NAMESERVERS", default=[])
DNS_QUERY_TIMEOUT = env.float("DNS_QUERY_TIMEOUT", default=2.0)
DNS_DOMAIN_DEADLINE = env.float("DNS_DOMAIN_DEADLINE", default=10.0)
SMTP_PROBE_PORT = env.int("SMTP_PROBE_PORT", default=25)  # the STARTTLS probe's port on each MX
# Celery's soft time limit on one domain's checks; a domain still running then gets a time-out
# result (the queries' own deadline, DNS_DOMAIN_DEADLINE, should come first).
CHECKS_SOFT_TIME_LIMIT = env.int("CHECKS_SOFT_TIME_LIMIT", default=60)
# The portal's seal on agreements signed in it (PEM files; empty: signing in the portal is off).
SEAL_KEY_FILE = env("SEAL_KEY_FILE", default="")
SEAL_CERT_FILE = env("SEAL_CERT_FILE", default="")
SEAL_CHAIN_FILES = env.list("SEAL_CHAIN_FILES", default=[])
SEAL_TRUST_ROOT_FILES = env.list("SEAL_TRUST_ROOT_FILES", default=[])
# Reminders (days after the FPA was sent, or after it was signed while evidence is missing), and
# the age at which an unsigned FPA expires and the request goes back for a fresh one.
FPA_REMINDER_DAYS = env.int("FPA_REMINDER_DAYS", default=7)
EVIDENCE_REMINDER_DAYS = env.int("EVIDENCE_REMINDER_DAYS", default=7)
FPA_EXPIRY_DAYS = env.int("FPA_EXPIRY_DAYS", default=30)
# Days an organisation has to fix a check that got worse on a federated domain (a remediation
# case's due date); past it the Feedback team decides whether to suspend.
REMEDIATION_DAYS = env.int("REMEDIATION_DAYS", default=30)
# The agreement's term, from the federation's effective date; the re-attestation opens this many
# days before it ends and reminds every REATTESTATION_REMINDER_DAYS until it is answered.
AGREEMENT_TERM_MONTHS = env.int("AGREEMENT_TERM_MONTHS", default=12)
REATTESTATION_NOTICE_DAYS = env.int("REATTESTATION_NOTICE_DAYS", default=30)
REATTESTATION_REMINDER_DAYS = env.int("REATTESTATION_REMINDER_DAYS", default=7)
# A review needs a completed check run no older than this.
REVIEW_CHECKS_MAX_AGE_HOURS = env.int("REVIEW_CHECKS_MAX_AGE_HOURS", default=72)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The API (/api/v1/): keys in the Authorization header only, a scope per operation, a rate per
# client, errors as problem+json (api.problems), cursor pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Federation request portal API",
    "DESCRIPTION": (
        "For the systems around the portal: the NHSmail portal, the service desk and tenant "
        "automation. Send `Authorization: Bearer <key>`; every POST needs an Idempotency-Key."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CheckStatusEnum": "api.request_serializers.CHECK_STATUSES",
        "AgreementStatusEnum": "api.request_serializers.AGREEMENT_STATUSES",
        "AllowListStatusEnum": "api.request_serializers.ALLOW_LIST_STATUSES",
        "EvidenceStatusEnum": "api.request_serializers.EVIDENCE_STATUSES",
        "SupportStatusEnum": "support.models.SupportStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_problem_responses",
    ],
}
# A POST's answer is replayed for its Idempotency-Key this long.
IDEMPOTENCY_KEEP_HOURS = env.int("IDEMPOTENCY_KEEP_HOURS", default=24)

# Webhooks (the webhooks app): signed POSTs of events to the URLs API clients register.
# https only, and never to loopback or private addresses (SSRF), in production (production.py);
# loopback http here, so tests and the local run can receive them.
WEBHOOKS_REQUIRE_HTTPS = env.bool("WEBHOOKS_REQUIRE_HTTPS", default=False)
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=True)
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.0)
# Receivers' certificates are checked against the system's CAs, or the bundle at this path.
WEBHOOK_TLS_VERIFY: bool | str = env("WEBHOOK_TLS_CA_BUNDLE", default="") or True
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)
# A failed attempt is tried again after WEBHOOK_RETRY_BACKOFF s, doubling, at most
# TASK_RETRY_BACKOFF_MAX apart, WEBHOOK_MAX_ATTEMPTS in all: 10, 20, 40, 80, 120, 120, 120 s
# (about 8 minutes) before the delivery is failed and staff may replay it.
WEBHOOK_RETRY_BACKOFF = env.int("WEBHOOK_RETRY_BACKOFF", default=10)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
# A pending delivery this long past its next attempt, held by no run, lost its job: the beat
# job resume-webhook-deliveries queues it again. Longer than a retry's countdown may drift
# (the broker's visibility timeout brings back a job whose worker died).
WEBHOOK_RESUME_AFTER_SECONDS = env.int("WEBHOOK_RESUME_AFTER_SECONDS", default=15 * 60)
