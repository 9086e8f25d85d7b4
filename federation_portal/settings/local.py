"""Local default: SQLite, console email, Celery on kombu's filesystem transport. No services."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-development-only-not-secret")
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

_BROKER_DIR = BASE_DIR / "var" / "broker"
for _sub in ("out", "processed"):
    (_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_BROKER_DIR / "out"),
    "data_folder_out": str(_BROKER_DIR / "out"),
    "processed_folder": str(_BROKER_DIR / "processed"),
    "store_processed": False,
}
OUTBOX_DISPATCH_SECONDS = 5.0
CELERY_BEAT_SCHEDULE = {
    "outbox-dispatch": {"task": "requests_app.tasks.outbox_dispatch", "schedule": 5.0},
}
