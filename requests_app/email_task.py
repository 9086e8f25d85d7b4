"""The base of every email task, in every app: retried within the broker's visibility timeout,
and recorded for staff once it gives up."""

import smtplib

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from . import emails

# Every email task: acknowledged after it runs, a minute to send, retried with a backoff that
# stays well under the broker's visibility timeout (3600 s), so a waiting retry is not
# redelivered as a duplicate.
EMAIL_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 60,
    "time_limit": 90,
    "autoretry_for": (smtplib.SMTPException, OSError, SoftTimeLimitExceeded),
    "retry_backoff": 10,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


class EmailTask(Task):
    """An email that still fails once its retries are spent is recorded for staff to see."""

    def request_id_of(self, kwargs: dict) -> int | None:
        return kwargs.get("request_id")

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        emails.record_email_failure(
            request_id=self.request_id_of(kwargs),
            task_name=self.name,
            reason=f"{type(exc).__name__}: {exc}",
        )
