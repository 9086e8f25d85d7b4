"""Tests: PostgreSQL and Redis on loopback (started by scripts/test), files in a scratch folder."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CELERY_BEAT_SCHEDULE, CELERY_BROKER_TRANSPORT_OPTIONS, MIGRATE_DATABASE, env

SECRET_KEY = "test-only-not-secret"  # noqa: S105 (tests only; production reads the env)
DEBUG = False
DATABASES = {
    "default": env.db(
        "DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/federation_portal"
    ),
    **MIGRATE_DATABASE,
}
# One test database per pytest process, so runs side by side do not drop each other's.
DATABASES["default"]["TEST"] = {"NAME": f"test_federation_portal_{os.getpid()}"}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
# Each pytest process (and the workers it starts, which inherit the variable) has its own keys,
# so runs side by side never take each other's jobs.
TEST_BROKER_PREFIX = os.environ.setdefault("TEST_BROKER_PREFIX", f"fp-test-{os.getpid()}:")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "global_keyprefix": TEST_BROKER_PREFIX,
}
_SCRATCH = Path(os.environ.get("TEST_SCRATCH_DIR") or tempfile.mkdtemp(prefix="fp-test-"))
os.environ["TEST_SCRATCH_DIR"] = str(_SCRATCH)  # the worker subprocess shares the same folder
PRIVATE_MEDIA_ROOT = _SCRATCH / "private"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Mail goes to files, so a test can read what a worker process sent.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)  # a worker test may point one worker at a loopback SMTP server (EMAIL_HOST, EMAIL_PORT)
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_FILE_PATH = str(_SCRATCH / "mail")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OUTBOX_GRACE_SECONDS = 0
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "outbox-dispatch": {"task": "requests_app.tasks.outbox_dispatch", "schedule": 1.0},
}
# No test may ask the machine's resolver: a closed loopback port unless a test names a server.
DNS_NAMESERVERS = env.list("DNS_NAMESERVERS", default=["127.0.0.1:1"])
# The STARTTLS probe's port: closed on loopback, so a worker's check run never knocks on port 25.
SMTP_PROBE_PORT = env.int("SMTP_PROBE_PORT", default=1)

# Test only: a worker given this marker path kills itself right after its first file write
# (agreements.services.files), to test what a crash before the commit leaves.
CRASH_AFTER_FILE_WRITE_ONCE = env("CRASH_AFTER_FILE_WRITE_ONCE", default="")
