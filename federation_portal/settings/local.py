"""Local default: SQLite, email kept under var/mail/, Celery on an embedded SQLite broker. No
services. DEBUG is off unless asked for, so the portal's own 404 and 500 pages show."""

from .base import *  # noqa: F403
from .base import BASE_DIR, CELERY_BEAT_SCHEDULE, MIDDLEWARE, env

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="local-development-only-not-secret")
EMAIL_BACKEND = env("EMAIL_BACKEND", default="federation_portal.local_mail.LocalMailBackend")
LOCAL_MAIL_DIR = env("LOCAL_MAIL_DIR", default=str(BASE_DIR / "var" / "mail"))
# Static files straight from static/ (no collectstatic), as runserver does only with DEBUG on.
# After the CSP middleware, as in production, so static files carry the policy too.
_AFTER_CSP = MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1
MIDDLEWARE = [
    *MIDDLEWARE[:_AFTER_CSP],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[_AFTER_CSP:],
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# An embedded broker: kombu's SQLAlchemy transport on a SQLite file. (Its filesystem transport
# lets a worker read a message file before it is written, and the worker then dies.)
(BASE_DIR / "var").mkdir(exist_ok=True)
CELERY_BROKER_URL = env(
    "CELERY_BROKER_URL", default=f"sqla+sqlite:///{BASE_DIR / 'var' / 'broker.sqlite3'}"
)
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "outbox-dispatch": {"task": "requests_app.tasks.outbox_dispatch", "schedule": 5.0},
}
# Signing in the portal seals with a development certificate (manage.py make_dev_seal, run by
# scripts/run); verify trusts its throwaway CA.
_DEV_SEAL = BASE_DIR / "var" / "dev-seal"
SEAL_KEY_FILE = env("SEAL_KEY_FILE", default=str(_DEV_SEAL / "seal.key"))
SEAL_CERT_FILE = env("SEAL_CERT_FILE", default=str(_DEV_SEAL / "seal.pem"))
SEAL_CHAIN_FILES = env.list("SEAL_CHAIN_FILES", default=[str(_DEV_SEAL / "ca.pem")])
SEAL_TRUST_ROOT_FILES = env.list("SEAL_TRUST_ROOT_FILES", default=[str(_DEV_SEAL / "ca.pem")])
