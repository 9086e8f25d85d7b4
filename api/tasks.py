"""The API's beat jobs."""

from celery import shared_task
from django.conf import settings

from .services import idempotent_answers_expire


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def expire_idempotent_answers() -> int:
    """Beat, hourly: forget POST answers older than IDEMPOTENCY_KEEP_HOURS."""
    return idempotent_answers_expire(keep_hours=settings.IDEMPOTENCY_KEEP_HOURS)
