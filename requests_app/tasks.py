"""Celery tasks: ids in, call a service. Retries and limits live here."""

import logging
import smtplib

from celery import shared_task

from . import emails, outbox

logger = logging.getLogger(__name__)

# Backoff stays well under the broker's visibility timeout (3600 s), so a waiting retry is not
# redelivered as a duplicate.
EMAIL_RETRY = {
    "autoretry_for": (smtplib.SMTPException, OSError),
    "retry_backoff": 10,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(
    acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=90, **EMAIL_RETRY
)
def send_request_email(request_id: int, kind: str, key: str) -> bool:
    return emails.send_request_email(request_id=request_id, kind=kind, key=key)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def outbox_dispatch() -> int:
    """Beat: publish outbox rows a broker outage kept back."""
    return outbox.dispatch_pending()
