"""Celery tasks for support requests: ids in, call a service."""

from celery import shared_task

from requests_app.tasks import EMAIL_RETRY

from . import emails


@shared_task(
    acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=90, **EMAIL_RETRY
)
def send_support_email(support_id: int, kind: str, key: str) -> bool:
    return emails.send_support_email(support_id=support_id, kind=kind, key=key)
