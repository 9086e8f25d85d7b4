"""The webhook job: an id in, one attempt by the service, the retry here."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from requests_app.email_task import TRANSIENT_DATABASE_ERRORS

from .events import allow_list_day_event
from .services import DeliveryBusy, webhook_deliver, webhook_deliveries_resume

# As requests_app.email_task's options: acknowledged after it runs, a bounded run, the
# database's transient failures retried with backoff under the visibility timeout. A receiver's
# refusal is not an exception: the service records it and says when to try again, and the
# delivery row (not Celery's count) bounds the attempts at WEBHOOK_MAX_ATTEMPTS. max_retries and
# the backoff below describe that schedule to tests/test_settings_timing.py.
WEBHOOK_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    # connect + read timeouts (3 + 10 s by default) and two short transactions.
    "soft_time_limit": 30,
    "time_limit": 45,
    "autoretry_for": (SoftTimeLimitExceeded, *TRANSIENT_DATABASE_ERRORS),
    "retry_backoff": settings.WEBHOOK_RETRY_BACKOFF,
    "retry_backoff_max": settings.TASK_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": settings.WEBHOOK_MAX_ATTEMPTS - 1,
}


@shared_task(bind=True, **WEBHOOK_TASK_OPTIONS)
def deliver_webhook(self, delivery_id: int) -> str:
    """One attempt at a webhook delivery; retried while the receiver has not said 2xx."""
    try:
        outcome = webhook_deliver(delivery_id=delivery_id)
    except DeliveryBusy as busy:
        # Not a failure: another run holds it, or it is not due. Spend no retry on it.
        raise self.retry(
            exc=busy,
            countdown=min(busy.retry_in, settings.TASK_RETRY_BACKOFF_MAX),
            max_retries=self.request.retries + 1,
        ) from busy
    if outcome.retry_in is not None:
        # The row counts the attempts; Celery's count is not the bound here.
        raise self.retry(countdown=outcome.retry_in, max_retries=self.request.retries + 1)
    return outcome.status


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def resume_webhook_deliveries() -> int:
    """Beat: pending deliveries whose job was lost are queued again."""
    return webhook_deliveries_resume(overdue_seconds=settings.WEBHOOK_RESUME_AFTER_SECONDS)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def allow_list_changes_today() -> int:
    """Beat, daily just after midnight: allowlist.changed for entries dated to take effect or
    end today (the change set differs from today without anything being decided today)."""
    with transaction.atomic():
        return len(allow_list_day_event(day=timezone.localdate()))
