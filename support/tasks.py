"""Celery tasks for support requests: ids in, call a service."""

from celery import shared_task

from requests_app.email_task import EMAIL_TASK_OPTIONS, EmailTask

from . import emails
from .models import SupportRequest


class SupportEmailTask(EmailTask):
    def request_id_of(self, kwargs: dict) -> int | None:
        support = SupportRequest.objects.filter(pk=kwargs["support_id"]).first()
        return support.request_id if support else None


@shared_task(base=SupportEmailTask, **EMAIL_TASK_OPTIONS)
def send_support_email(support_id: int, kind: str, key: str, reply_id: int | None = None) -> bool:
    return emails.send_support_email(support_id=support_id, kind=kind, key=key, reply_id=reply_id)
