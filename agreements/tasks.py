"""Celery tasks for the agreement: render (pdf queue) and email."""

import logging

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from portal_kit.errors import ActionRefused
from requests_app.email_task import (
    EMAIL_TASK_OPTIONS,
    RETRY_OPTIONS,
    TRANSIENT_DATABASE_ERRORS,
    EmailTask,
)

from . import emails
from .models import Agreement, Reattestation
from .services import agreements, files, reattestation, reminders


class RenderTask(Task):
    """A render that still fails once its retries are spent is stored as the agreement's
    failure, so staff see it and can send a fresh one."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        agreements.agreement_record_failure(
            agreement_id=kwargs["agreement_id"], reason=f"Rendering failed: {exc}"
        )


class AgreementEmailTask(EmailTask):
    def request_id_of(self, kwargs: dict) -> int:
        return Agreement.objects.values_list("request_id", flat=True).get(pk=kwargs["agreement_id"])


logger = logging.getLogger(__name__)


@shared_task(
    base=RenderTask,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=150,
    # Storage (OSError) and the database; the render itself is redone only if no PDF is stored.
    autoretry_for=(OSError, *TRANSIENT_DATABASE_ERRORS),
    **RETRY_OPTIONS,
    max_retries=5,
)
def agreement_render(agreement_id: int) -> None:
    # Task arguments arrive as keywords (the outbox publishes kwargs), as on_failure expects.
    try:
        agreements.agreement_render(agreement_id=agreement_id)
    except SoftTimeLimitExceeded:
        agreements.agreement_record_failure(
            agreement_id=agreement_id, reason="Rendering took longer than 120 seconds."
        )
    except ActionRefused as refusal:  # e.g. the request was rejected while it rendered
        agreements.agreement_record_failure(agreement_id=agreement_id, reason=str(refusal))


@shared_task(base=AgreementEmailTask, **EMAIL_TASK_OPTIONS)
def agreement_email(agreement_id: int) -> bool:
    return emails.send_agreement_email(agreement_id=agreement_id)


@shared_task(base=AgreementEmailTask, **EMAIL_TASK_OPTIONS)
def amendment_email(agreement_id: int, reminder: int = 0) -> bool:
    return emails.send_amendment_email(agreement_id=agreement_id, reminder=reminder)


@shared_task(
    acks_late=True,
    soft_time_limit=300,
    time_limit=settings.TASK_LONGEST_TIME_LIMIT,
    autoretry_for=TRANSIENT_DATABASE_ERRORS,  # each reminder is keyed: a retry repeats none
    **RETRY_OPTIONS,
    max_retries=5,
)
def agreement_reminders() -> dict:
    """Beat, daily: reminders of unsigned agreements and missing evidence; expiry."""
    return reminders.agreement_reminders()


@shared_task(base=EmailTask, **EMAIL_TASK_OPTIONS)
def agreement_request_email(request_id: int, kind: str, key: str) -> bool:
    return emails.send_agreement_request_email(request_id=request_id, kind=kind, key=key)


@shared_task(base=EmailTask, **EMAIL_TASK_OPTIONS)
def signatory_invitation_email(request_id: int, contact_id: int) -> bool:
    return emails.send_signatory_invitation(request_id=request_id, contact_id=contact_id)


class ReattestationEmailTask(EmailTask):
    def request_id_of(self, kwargs: dict) -> int:
        return Reattestation.objects.values_list("request_id", flat=True).get(
            pk=kwargs["reattestation_id"]
        )


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def reattestation_daily() -> dict:
    """Beat, daily: open re-attestations as terms near their end, mark the overdue, remind."""
    return reattestation.reattestation_daily()


@shared_task(base=ReattestationEmailTask, **EMAIL_TASK_OPTIONS)
def reattestation_email(reattestation_id: int, kind: str, key: str) -> bool:
    return emails.send_reattestation_email(reattestation_id=reattestation_id, kind=kind, key=key)


@shared_task(acks_late=True, soft_time_limit=300, time_limit=settings.TASK_LONGEST_TIME_LIMIT)
def sweep_unreferenced_files() -> int:
    """Beat, hourly: files a crash left between their write and its commit. Not retried: the
    next hour's run does the same."""
    return len(files.sweep_unreferenced_files())
