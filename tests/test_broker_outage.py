"""A job queued while Redis is down is not lost: it runs once Redis is back."""

import socket
import subprocess
import time

import pytest
from django.urls import reverse

from requests_app.models import OutboxMessage
from tests.conftest import publishing_to, start_worker, stop_worker, wait_for
from tests.test_worker import FORM, mail_to

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answers():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait_for(answers, timeout=10, what="redis-server")
    return process


SUBJECT = "Confirm your email address"
TO = "rowan.outage@harbourside.example.org.uk"  # mail of other tests shares the folder


def test_a_submission_made_while_redis_is_down_is_saved_and_emailed_once_it_is_back(
    client, settings
):
    """The broker outage: the request is kept, its email goes out when Redis returns."""
    port = _free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    redis_process = _start_redis(port)
    worker, _log = start_worker(
        broker_url=broker_url, database_name=settings.DATABASES["default"]["NAME"]
    )
    publishing = publishing_to(broker_url)
    publishing.__enter__()
    try:
        redis_process.terminate()
        redis_process.wait(timeout=10)

        response = client.post(
            reverse("requests_app:request_form"), {**FORM, "requester_email": TO}
        )
        assert response.status_code == 302  # the requester sees no error
        outbox = OutboxMessage.objects.get(task_name="requests_app.tasks.send_confirmation_link")
        assert outbox.dispatched_at is None and outbox.attempts == 1
        time.sleep(2)
        assert not mail_to(TO, SUBJECT)

        redis_process = _start_redis(port)
        message = wait_for(
            lambda: mail_to(TO, SUBJECT),
            timeout=90,
            what="the email after Redis came back",
        )
        assert len(message) == 1
        outbox.refresh_from_db()
        assert outbox.dispatched_at is not None
    finally:
        publishing.__exit__(None, None, None)
        stop_worker(worker)
        redis_process.terminate()
