"""One attempt at a time, by the service, to a real receiver on loopback: 2xx delivers, anything
else is recorded and scheduled with backoff, a delivered row is never sent again, and a claimed
row is not sent by a second run."""

import json

import pytest
from django.utils import timezone

from api.services import api_client_revoke, api_client_update
from requests_app.models import OutboxMessage
from tests.factories import FederationRequestFactory
from webhooks import signing
from webhooks.events import DELIVER_TASK, queue_webhook_event
from webhooks.models import WebhookDelivery
from webhooks.services import (
    DeliveryBusy,
    backoff_seconds,
    webhook_deliver,
    webhook_deliveries_resume,
    webhook_endpoint_update,
)

from .receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(make_endpoint):
    def make(url):
        endpoint, secret = make_endpoint(["request.state_changed"], url=url)
        req = FederationRequestFactory()
        [delivery] = queue_webhook_event(
            "request.state_changed",
            {"reference": req.reference, "state": "submitted"},
            occurred_at=timezone.now(),
        )
        return delivery, secret

    return make


def test_a_2xx_delivers_it_signed_and_a_second_run_sends_nothing(queue):
    with Receiver([204]) as receiver:
        delivery, secret = queue(receiver.url)

        first = webhook_deliver(delivery_id=delivery.pk)
        again = webhook_deliver(delivery_id=delivery.pk)

        [post] = receiver.posts()
    assert first.status == again.status == "delivered"
    assert first.retry_in is None
    delivery.refresh_from_db()
    assert delivery.delivered_at and delivery.attempts == 1
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code == 204 and attempt.error == ""
    assert json.loads(post.body) == delivery.payload
    assert post.headers["Webhook-Id"] == str(delivery.event_id)
    timestamp = int(post.headers["Webhook-Timestamp"])
    assert post.headers["Webhook-Signature"] == signing.signature(secret, timestamp, post.body)


@pytest.mark.parametrize("status", [500, 503, 429, 404, 302, 307])
def test_anything_but_2xx_is_recorded_and_tried_again_after_the_backoff(queue, status):
    with Receiver([status], location="http://127.0.0.1:1/elsewhere") as receiver:
        delivery, _ = queue(receiver.url)

        outcome = webhook_deliver(delivery_id=delivery.pk)

        assert len(receiver.posts()) == 1  # a redirect is not followed
    assert outcome.status == "pending"
    assert outcome.retry_in == backoff_seconds(1)
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.claim_token == ""
    assert delivery.next_attempt_at > timezone.now()
    assert delivery.attempt_log.get().status_code == status


def test_a_receiver_that_is_not_there_is_an_attempt_with_the_error(queue, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    delivery, _ = queue("http://127.0.0.1:1/closed")

    webhook_deliver(delivery_id=delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    last = webhook_deliver(delivery_id=delivery.pk)

    assert last.status == "failed" and last.retry_in is None
    attempts = list(delivery.attempt_log.all())
    assert len(attempts) == 2
    assert all(a.status_code is None and "ConnectionError" in a.error for a in attempts)
    assert webhook_deliver(delivery_id=delivery.pk).status == "failed"  # never sent again
    assert delivery.attempt_log.count() == 2


def test_a_run_finding_the_delivery_claimed_or_not_due_waits_and_sends_nothing(queue):
    with Receiver([500]) as receiver:
        delivery, _ = queue(receiver.url)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            claim_token="another-run", claimed_at=timezone.now()
        )
        with pytest.raises(DeliveryBusy) as busy:
            webhook_deliver(delivery_id=delivery.pk)
        assert 0 < busy.value.retry_in <= 61

        WebhookDelivery.objects.filter(pk=delivery.pk).update(claim_token="")
        webhook_deliver(delivery_id=delivery.pk)  # fails: next attempt in backoff_seconds(1)
        with pytest.raises(DeliveryBusy):  # a duplicate job, early
            webhook_deliver(delivery_id=delivery.pk)

        assert len(receiver.posts()) == 1


def test_an_internal_address_is_not_sent_to_in_production(queue, settings):
    with Receiver([200]) as receiver:
        delivery, _ = queue(receiver.url)
        settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

        webhook_deliver(delivery_id=delivery.pk)

        assert receiver.posts() == []
    assert "private or local network" in delivery.attempt_log.get().error


def test_the_backoff_doubles_and_stays_under_the_broker_cap(settings):
    settings.WEBHOOK_RETRY_BACKOFF = 10
    waits = [backoff_seconds(n) for n in range(1, settings.WEBHOOK_MAX_ATTEMPTS)]
    assert waits[:4] == [10, 20, 40, 80]
    assert max(waits) == settings.TASK_RETRY_BACKOFF_MAX


def test_nothing_is_sent_once_the_client_is_revoked_unscoped_or_the_endpoint_switched_off(
    queue, webhook_admin
):
    with Receiver([200]) as receiver:
        revoked, _ = queue(receiver.url)
        api_client_revoke(client_id=revoked.endpoint.client_id, actor=webhook_admin)
        unscoped, _ = queue(receiver.url)
        api_client_update(
            client_id=unscoped.endpoint.client_id,
            scopes=["support:read"],  # no longer reads requests: their events stop
            rate_limit_per_minute=120,
            actor=webhook_admin,
        )
        switched_off, _ = queue(receiver.url)
        webhook_endpoint_update(
            endpoint_id=switched_off.endpoint_id,
            events=["request.state_changed"],
            active=False,
            actor=webhook_admin,
        )

        assert webhook_deliver(delivery_id=revoked.pk).status == "failed"
        assert webhook_deliver(delivery_id=unscoped.pk).status == "failed"
        assert webhook_deliver(delivery_id=switched_off.pk).status == "failed"

        assert receiver.posts() == []


def test_a_delivery_whose_job_was_lost_is_queued_again_once_overdue(queue):
    """A retry published while Redis was away is gone; the beat job finds the row pending and
    overdue, held by no run, and queues it again through the outbox."""
    with Receiver([500]) as receiver:
        delivery, _ = queue(receiver.url)
        webhook_deliver(delivery_id=delivery.pk)  # failed once: next attempt scheduled
    delivery.refresh_from_db()
    queued = OutboxMessage.objects.filter(task_name=DELIVER_TASK)
    before = queued.count()

    assert webhook_deliveries_resume(overdue_seconds=60) == 0  # not overdue yet
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timezone.timedelta(seconds=61)
    )
    assert webhook_deliveries_resume(overdue_seconds=60) == 1

    assert queued.count() == before + 1
    assert queued.order_by("-pk").first().kwargs == {"delivery_id": delivery.pk}
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="delivered")
    assert webhook_deliveries_resume(overdue_seconds=60) == 0  # only pending rows
