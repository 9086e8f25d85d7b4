"""Celery tasks for contacts' sign-in: ids and addresses in, call a service."""

from celery import shared_task

from requests_app.email_task import EMAIL_TASK_OPTIONS, EmailTask

from .services import sign_in


@shared_task(base=EmailTask, **EMAIL_TASK_OPTIONS)
def send_sign_in_link(email: str, browser_hash: str) -> bool:
    return sign_in.sign_in_link_send(email=email, browser_hash=browser_hash)
