"""Celery tasks for contacts' sign-in: ids and addresses in, call a service."""

from celery import shared_task

from requests_app.tasks import EMAIL_RETRY, EmailTask

from . import services


@shared_task(
    base=EmailTask,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
    **EMAIL_RETRY,
)
def send_sign_in_link(email: str, browser_hash: str) -> bool:
    return services.sign_in_link_send(email=email, browser_hash=browser_hash)
