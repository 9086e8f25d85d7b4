"""What every task shares (retries of transient failures within the broker's visibility timeout),
and the base of every email task, in every app: recorded for staff once it gives up."""

import smtplib

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from . import emails

# A database that restarts, fails over or drops a connection: the next try gets a fresh
# connection (Celery's Django fixup closes unusable ones between tasks). Django wraps psycopg's
# errors in these two.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)

# Every task's retries: backoff 10, 20, 40 ... s, never more than TASK_RETRY_BACKOFF_MAX apart, so
# a waiting retry (held unacknowledged by a worker until its eta) is never redelivered as a
# duplicate by the broker's visibility timeout (settings: the timing of recovery).
RETRY_OPTIONS = {
    "retry_backoff": 10,
    "retry_backoff_max": settings.TASK_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
}

# Every email task: acknowledged after it runs, a minute to send, retried when the mail server,
# the network or the database fails; and while another run of it holds the email (see EmailTask).
EMAIL_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 60,
    "time_limit": 90,
    "autoretry_for": (
        smtplib.SMTPException,
        OSError,
        SoftTimeLimitExceeded,
        *TRANSIENT_DATABASE_ERRORS,
    ),
    **RETRY_OPTIONS,
    # Retries spread over up to 10+20+40+80+6x120 s (about 15 minutes, less with jitter) before
    # staff see email.failed.
    "max_retries": 10,
}


class EmailTask(Task):
    """An email that still fails once its retries are spent is recorded for staff to see."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except emails.EmailInProgress as busy:
            # Not a failure: another run holds the email (a redelivered job while the first
            # runs, or a dead run's claim not yet lapsed). Look again when the claim lapses,
            # without spending the retries kept for failures.
            raise self.retry(
                exc=busy,
                countdown=min(busy.retry_in, settings.TASK_RETRY_BACKOFF_MAX),
                max_retries=self.request.retries + 1,
            ) from busy

    def request_id_of(self, kwargs: dict) -> int | None:
        return kwargs.get("request_id")

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        emails.record_email_failure(
            request_id=self.request_id_of(kwargs),
            task_name=self.name,
            reason=f"{type(exc).__name__}: {exc}",
        )
