"""Redis restarts under a steady stream of jobs: the same worker keeps working, no job is lost.

The worker and Redis are this test's own (a redis-server on a free loopback port), so Redis can
be restarted without disturbing anyone else's tests.
"""

import inspect
import re
import socket
import subprocess
import tempfile
import threading

import pytest
from django.conf import settings
from django.db import connection, transaction
from kombu import Connection

from requests_app.email_task import EMAIL_TASK_OPTIONS
from requests_app.models import SentEmail
from requests_app.outbox import enqueue_after_commit
from tests.conftest import publishing_to, start_worker, stop_worker, wait_for
from tests.factories import FederationRequestFactory
from tests.test_broker_outage import _free_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RESTARTS = 12
JOBS_PER_ROUND = 6


def start_redis(port: int, directory: str) -> subprocess.Popen:
    """Redis as deployed (docker-compose: appendonly), every write on disk before it answers,
    so a restart keeps the queues: what is lost across a restart is the worker's doing."""
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            directory,
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
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


# The test worker's visibility timeout (settings: CELERY_VISIBILITY_TIMEOUT, 600 s as deployed),
# shortened so the jobs a worker held unacknowledged when Redis went come back within the test;
# still far above an email's run time here (milliseconds), so none is handed out twice while
# it runs.
TEST_VISIBILITY_TIMEOUT = 30
# A job Redis lost in a restart (popped by BRPOP, the reply never read) is published again by the
# outbox sweeper after OUTBOX_REDISPATCH_SECONDS (an hour as deployed), shortened likewise:
# still above what a job here may legitimately take (the visibility timeout, then milliseconds).
TEST_REDISPATCH_SECONDS = 60


def recovery_bound() -> float:
    """How long the system itself allows for a job queued around a Redis restart to run.

    The worker's consumer reconnects on kombu's schedule (tries never further apart than
    interval_max), each try bounded by the broker connection timeout; the outbox sweeper
    republishes a job whose publish failed within its beat period; a job the worker held
    unacknowledged when Redis went is handed out again after the visibility timeout, at the
    next restore scan, and one Redis lost is published again by the sweeper; then the email
    task runs within its hard time limit.
    """
    interval_max = inspect.signature(Connection._ensure_connection).parameters["interval_max"]
    sweep = settings.CELERY_BEAT_SCHEDULE["outbox-dispatch"]["schedule"]
    return (
        interval_max.default
        + settings.CELERY_BROKER_CONNECTION_TIMEOUT
        + sweep
        + settings.OUTBOX_GRACE_SECONDS
        + max(
            TEST_VISIBILITY_TIMEOUT + settings.CELERY_UNACKED_RESTORE_INTERVAL,
            TEST_REDISPATCH_SECONDS + sweep,
        )
        + EMAIL_TASK_OPTIONS["time_limit"]
    )


def test_one_worker_survives_redis_restarts_under_a_stream_of_jobs(settings):
    port = _free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    directory = tempfile.mkdtemp(prefix="fp-redis-")
    redis_process = start_redis(port, directory)
    worker, log_path = start_worker(
        broker_url=broker_url,
        database_name=settings.DATABASES["default"]["NAME"],
        extra_env={
            "CELERY_VISIBILITY_TIMEOUT": str(TEST_VISIBILITY_TIMEOUT),
            "OUTBOX_REDISPATCH_SECONDS": str(TEST_REDISPATCH_SECONDS),
        },
        as_deployed=True,
    )
    publishing = publishing_to(broker_url)
    publishing.__enter__()
    req = FederationRequestFactory(checked=False)
    keys: list[str] = []
    stop = threading.Event()

    def queue_jobs(count: int) -> None:
        for _ in range(count):
            key = f"stream-{len(keys)}"
            keys.append(key)
            with transaction.atomic():  # published after commit, or swept once Redis is back
                enqueue_after_commit(
                    "requests_app.tasks.send_request_email",
                    request_id=req.pk,
                    kind="submitted",
                    key=key,
                )

    def sent() -> int:
        return SentEmail.objects.filter(key__startswith=f"request:{req.pk}:stream-").count()

    def steady_stream() -> None:
        # A job every 0.2 s from another thread, so some are always in flight when Redis goes.
        try:
            while not stop.wait(0.2):
                queue_jobs(1)
        finally:
            connection.close()

    streamer = threading.Thread(target=steady_stream)
    bound = recovery_bound()
    streamer.start()
    try:
        for restart in range(1, RESTARTS + 1):
            queue_jobs(JOBS_PER_ROUND)
            redis_process.terminate()  # a restart, as docker restarts it
            redis_process.wait(timeout=10)
            redis_process = start_redis(port, directory)
            # Every job queued so far runs: the worker reconnected and none was lost.
            target = len(keys)
            wait_for(
                lambda target=target: sent() >= target,
                timeout=bound,
                what=f"the {target} jobs queued before restart {restart}",
            )
            assert worker.poll() is None, f"the worker exited after restart {restart}"
        stop.set()
        streamer.join()
        wait_for(
            lambda: sent() == len(keys),
            timeout=bound,
            what="the last jobs",
        )
        assert worker.poll() is None
        log = log_path.read_text()
        assert "Unrecoverable error" not in log
        # One worker process throughout: the main process never restarted (one banner, one pid).
        assert len(re.findall(r"celery@\S+ v\d", log)) == 1
        # Each job ran once: one SentEmail per key, one email file entry per job.
        assert sent() == len(keys) >= RESTARTS * JOBS_PER_ROUND
    finally:
        stop.set()
        streamer.join()
        publishing.__exit__(None, None, None)
        stop_worker(worker)
        redis_process.terminate()
