"""A whole worker killed (kill -9 of the main process and its pool) mid-job: the job comes back to
another worker once the broker's visibility timeout has passed, and its email goes out once."""

import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from django.db import transaction

from requests_app.email_task import EMAIL_TASK_OPTIONS
from requests_app.emails import EMAIL_CLAIM_SECONDS
from requests_app.models import SentEmail
from requests_app.outbox import enqueue_after_commit
from tests.conftest import publishing_to, sent_mail, start_worker, stop_worker, wait_for
from tests.factories import FederationRequestFactory
from tests.test_broker_outage import _free_port, _start_redis

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The test workers' visibility timeout (settings: CELERY_VISIBILITY_TIMEOUT, 600 s as deployed),
# shortened through the environment so the test need not wait ten minutes. The retry backoff
# cap is shortened with it, keeping settings' rule that a retry waiting for its eta is never
# redelivered as a duplicate: TEST_RETRY_BACKOFF_MAX < TEST_VISIBILITY_TIMEOUT.
TEST_VISIBILITY_TIMEOUT = 20
TEST_RETRY_BACKOFF_MAX = 10


class StalledMailServer:
    """A loopback port that accepts connections and never answers, so a worker sending an
    email through it is mid-job for as long as the test likes."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = threading.Event()
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.accepted.set()

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


def kill_whole_worker(process) -> None:
    """kill -9 of the main process and every pool child: nothing gets to say goodbye."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile
            continue
        if int(fields[1]) == process.pid:  # the parent pid
            children.append(int(stat.parent.name))
    assert children, "the worker has a pool"
    for pid in [process.pid, *children]:
        os.kill(pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_a_killed_workers_job_is_done_by_another_worker_after_the_visibility_timeout(settings):
    port = _free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    redis_process = _start_redis(port)
    mail_server = StalledMailServer()
    database = settings.DATABASES["default"]["NAME"]
    short_visibility = {
        "CELERY_VISIBILITY_TIMEOUT": str(TEST_VISIBILITY_TIMEOUT),
        "TASK_RETRY_BACKOFF_MAX": str(TEST_RETRY_BACKOFF_MAX),
    }
    first, _ = start_worker(
        broker_url=broker_url,
        database_name=database,
        extra_env={
            **short_visibility,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_PORT": str(mail_server.port),
        },
    )
    second = None
    req = FederationRequestFactory(checked=False)
    try:
        with publishing_to(broker_url), transaction.atomic():
            enqueue_after_commit(
                "requests_app.tasks.send_request_email",
                request_id=req.pk,
                kind="submitted",
                key="submitted",
            )
        # Mid-job: the first worker has claimed the email and is talking to the mail server.
        wait_for(mail_server.accepted.is_set, timeout=60, what="the first worker to start sending")
        kill_whole_worker(first)
        killed_at = time.monotonic()

        second, _ = start_worker(
            broker_url=broker_url, database_name=database, extra_env=short_visibility
        )
        # The system's own bounds: the message returns after the visibility timeout at the next
        # restore scan; the dead run's claim on the email lapses after EMAIL_CLAIM_SECONDS, and
        # the task retries (backoff at most TEST_RETRY_BACKOFF_MAX) until it has; then it runs.
        bound = (
            TEST_VISIBILITY_TIMEOUT
            + settings.CELERY_UNACKED_RESTORE_INTERVAL
            + EMAIL_CLAIM_SECONDS
            + TEST_RETRY_BACKOFF_MAX
            + EMAIL_TASK_OPTIONS["time_limit"]
        )
        messages = wait_for(
            lambda: [m for m in sent_mail() if req.reference in m["Subject"]],
            timeout=bound,
            what="the second worker to send the email",
        )
        recovered_after = time.monotonic() - killed_at
        print(f"\nkilled worker's job completed by another worker {recovered_after:.0f} s later")
        assert len(messages) == 1
        time.sleep(settings.CELERY_UNACKED_RESTORE_INTERVAL)  # one more scan: no second copy
        assert len([m for m in sent_mail() if req.reference in m["Subject"]]) == 1
        row = SentEmail.objects.get(key=f"request:{req.pk}:submitted")
        assert row.sent_at is not None
    finally:
        if first.poll() is None:
            stop_worker(first)
        if second is not None:
            stop_worker(second)
        mail_server.close()
        redis_process.terminate()
