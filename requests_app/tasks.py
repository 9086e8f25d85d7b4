"""Celery tasks: ids in, call a service. Retries and limits live here."""

import logging
import smtplib

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import emails, outbox

logger = logging.getLogger(__name__)

# Backoff stays well under the broker's visibility timeout (3600 s), so a waiting retry is not
# redelivered as a duplicate.
EMAIL_RETRY = {
    "autoretry_for": (smtplib.SMTPException, OSError, SoftTimeLimitExceeded),
    "retry_backoff": 10,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


class EmailTask(Task):
    """An email that still fails once its retries are spent is recorded for staff to see."""

    def request_id_of(self, kwargs: dict) -> int:
        return kwargs["request_id"]

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        emails.record_email_failure(
            request_id=self.request_id_of(kwargs),
            task_name=self.name,
            reason=f"{type(exc).__name__}: {exc}",
        )


@shared_task(
    base=EmailTask,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
    **EMAIL_RETRY,
)
def send_request_email(request_id: int, kind: str, key: str) -> bool:
    return emails.send_request_email(request_id=request_id, kind=kind, key=key)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def outbox_dispatch() -> int:
    """Beat: publish outbox rows a broker outage kept back."""
    return outbox.dispatch_pending()
