"""Jobs for the worker, written in the caller's transaction and published after it commits.

Celery's delay_on_commit alone loses the job when Redis is down at that moment; a row here is
kept until a publish succeeds, and the beat task outbox_dispatch retries what is left.
"""

import logging
import uuid
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)


TASK_ID_PREFIX = "outbox-"


def job_finished(task_id: str | None) -> None:
    """A job published from the outbox ran to its end (done, or given up): close its row."""
    if not task_id or not task_id.startswith(TASK_ID_PREFIX):
        return
    message_id = task_id.removeprefix(TASK_ID_PREFIX).split("-", 1)[0]
    OutboxMessage.objects.filter(pk=int(message_id), completed_at__isnull=True).update(
        completed_at=timezone.now()
    )


def enqueue_after_commit(task_name: str, **kwargs) -> OutboxMessage:
    """Queue task_name(**kwargs) to run once the current transaction commits."""
    message = OutboxMessage.objects.create(task_name=task_name, kwargs=kwargs)
    # robust: the change has committed, so a failure to publish (the database gone again, say)
    # is logged, never raised into the caller's response; the row waits for the sweeper.
    transaction.on_commit(lambda: publish(message.pk), robust=True)
    return message


def publish(message_id: int) -> bool:
    """Hand one outbox row to the broker; False (and the row kept) when the broker is away."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, dispatched_at__isnull=True)
            .first()
        )
        if message is None:  # already published, or another process is publishing it
            return False
        try:
            # A fresh connection each time: after a Redis restart a pooled one may be stale.
            with current_app.connection_for_write() as connection:
                current_app.send_task(
                    message.task_name,
                    kwargs=message.kwargs,
                    retry=False,
                    connection=connection,
                    # Kept by retries and redeliveries: the worker closes the row by it.
                    task_id=f"{TASK_ID_PREFIX}{message.pk}-{uuid.uuid4().hex}",
                )
        except Exception as error:  # any broker failure: keep the row for the sweeper
            message.attempts += 1
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            message.save(update_fields=["attempts", "last_error"])
            logger.warning("outbox %s not published yet: %s", message.pk, message.last_error)
            return False
        message.dispatched_at = timezone.now()
        message.save(update_fields=["dispatched_at"])
        return True


def dispatch_pending(limit: int = 500) -> int:
    """Publish rows whose on-commit publish failed, and again those published long ago and
    never done (lost in the broker); returns how many went out."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.OUTBOX_GRACE_SECONDS)
    lost_before = now - timedelta(seconds=settings.OUTBOX_REDISPATCH_SECONDS)
    lost = OutboxMessage.objects.filter(
        completed_at__isnull=True, dispatched_at__lte=lost_before
    ).values_list("pk", flat=True)[:limit]
    if lost:
        # Tasks are idempotent: a job merely slow runs twice and does its work once.
        OutboxMessage.objects.filter(pk__in=list(lost)).update(dispatched_at=None)
    pending = OutboxMessage.objects.filter(
        dispatched_at__isnull=True, created_at__lte=cutoff
    ).values_list("pk", flat=True)[:limit]
    published = 0
    for message_id in list(pending):
        if not publish(message_id):
            break  # the broker is still away; try again on the next sweep
        published += 1
    return published
