"""The issue's test: a state change through a service reaches a real receiver through a real
Celery worker, after two refusals, signed, delivered once, with three attempts on record."""

import hashlib
import hmac
import json

import pytest

from requests_app.models import OutboxMessage
from requests_app.services.lifecycle import request_review
from tests.conftest import wait_for
from tests.factories import FederationRequestFactory
from webhooks.events import DELIVER_TASK
from webhooks.models import WebhookDelivery
from webhooks.services import backoff_seconds
from webhooks.tasks import deliver_webhook

from .receiver import Receiver

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BACKOFF = 1  # seconds, doubling: the worker's retries come 1 s then 2 s after each refusal


@pytest.fixture(scope="module")
def worker_extra_env():
    return {"WEBHOOK_RETRY_BACKOFF": str(BACKOFF)}


def test_an_event_refused_twice_is_delivered_on_the_third_attempt_exactly_once(
    make_endpoint, feedback_user, celery_worker_process, settings
):
    settings.WEBHOOK_RETRY_BACKOFF = BACKOFF  # this process's view of the worker's schedule
    with Receiver([500, 500, 200]) as receiver:
        endpoint, secret = make_endpoint(["request.state_changed"], url=receiver.url)
        req = FederationRequestFactory()

        request_review(request_id=req.pk, actor=feedback_user, notes="Checks seen.")
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        job = OutboxMessage.objects.get(task_name=DELIVER_TASK)

        # The system's own bounds: the outbox sweep (1 s in tests) to publish it, then up to
        # three runs each within the task's hard time limit, and the two retry countdowns.
        bound = 5 + 3 * deliver_webhook.time_limit + backoff_seconds(1) + backoff_seconds(2)
        wait_for(
            lambda: OutboxMessage.objects.filter(pk=job.pk, completed_at__isnull=False).exists(),
            timeout=bound,
            what="the worker to finish delivering the webhook",
        )
        posts = receiver.posts()

    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.attempts == 3
    assert delivery.delivered_at is not None
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 500, 200]
    assert len(posts) == 3
    assert {post.headers["Webhook-Id"] for post in posts} == {str(delivery.event_id)}
    last = posts[-1]
    event = json.loads(last.body)
    assert event["type"] == "request.state_changed"
    assert event["data"]["reference"] == req.reference
    assert event["data"]["state"] == "reviewed"
    # Verified as a receiver would (README), not with the portal's own signing code.
    signed = last.headers["Webhook-Timestamp"].encode() + b"." + last.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(last.headers["Webhook-Signature"], f"v1={expected}")
    assert settings.WEBHOOK_MAX_ATTEMPTS > 3  # the third was not the last allowed: it succeeded
