"""Celery tasks for the agreement: render (pdf queue) and email."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from requests_app.errors import ActionRefused
from requests_app.tasks import EMAIL_RETRY

from . import emails, services

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=150,
    autoretry_for=(OSError,),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=5,
)
def agreement_render(agreement_id: int) -> None:
    try:
        services.agreement_render(agreement_id=agreement_id)
    except SoftTimeLimitExceeded:
        services.agreement_record_failure(
            agreement_id=agreement_id, reason="Rendering took longer than 120 seconds."
        )
    except ActionRefused as refusal:  # e.g. the request was rejected while it rendered
        services.agreement_record_failure(agreement_id=agreement_id, reason=str(refusal))


@shared_task(
    acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=90, **EMAIL_RETRY
)
def agreement_email(agreement_id: int) -> bool:
    return emails.send_agreement_email(agreement_id=agreement_id)
