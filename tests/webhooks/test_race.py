"""Two runs of the same delivery at once (a redelivered job beside the first): one POSTs, the
other is told to look again later. PostgreSQL only: select_for_update does nothing on SQLite."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import FederationRequestFactory
from webhooks.events import queue_webhook_event
from webhooks.models import WebhookDelivery
from webhooks.services import DeliveryBusy, webhook_deliver

from .receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def queued(make_endpoint, url):
    make_endpoint(["request.state_changed"], url=url)
    req = FederationRequestFactory()
    [delivery] = queue_webhook_event(
        "request.state_changed",
        {"reference": req.reference, "state": "submitted"},
        occurred_at=timezone.now(),
    )
    return delivery


def test_two_runs_at_once_send_it_once(make_endpoint):
    with Receiver([200], delay=0.5) as receiver:
        delivery = queued(make_endpoint, receiver.url)
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def run():
            try:
                start.wait()
                outcomes.append(webhook_deliver(delivery_id=delivery.pk).status)
            except DeliveryBusy:
                outcomes.append("busy")
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert len(receiver.posts()) == 1
    assert sorted(outcomes) == ["busy", "delivered"]
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.attempt_log.count() == 1


def test_a_row_locked_by_another_run_is_skipped_not_waited_for(make_endpoint):
    with Receiver([200]) as receiver:
        delivery = queued(make_endpoint, receiver.url)
        locked, release = threading.Event(), threading.Event()

        def hold_the_lock():
            try:
                with transaction.atomic():
                    WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
                    locked.set()
                    release.wait(timeout=30)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        try:
            assert locked.wait(timeout=30)
            with pytest.raises(DeliveryBusy):
                webhook_deliver(delivery_id=delivery.pk)
        finally:
            release.set()
            holder.join()

        assert receiver.posts() == []
        assert webhook_deliver(delivery_id=delivery.pk).status == "delivered"
        assert len(receiver.posts()) == 1
