"""Shared fixtures: staff users, a real Celery worker on Redis, the sent-mail folder."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import redis
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from agreements.dev_seal import make_seal_ca
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll predicate until it returns something truthy; fail the test after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def wait_for_check_runs(req, *, timeout: float = 60.0) -> None:
    """Wait until the worker has completed every check run of req."""
    wait_for(
        lambda: not req.check_runs.exclude(state="complete").exists(),
        timeout=timeout,
        what=f"the worker to complete the domain checks of {req.reference}",
    )


def sent_mail() -> list:
    """Every email the file backend wrote (this process's and the worker's), oldest first."""
    folder = Path(settings.EMAIL_FILE_PATH)
    messages = []
    for path in (
        sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime) if folder.exists() else []
    ):
        for chunk in path.read_bytes().split(b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(message_from_bytes(chunk, policy=default_policy))
    return messages


@pytest.fixture(scope="session")
def seal_paths(tmp_path_factory):
    """A seal certificate and its CA, made once per test session (agreements.dev_seal)."""
    return make_seal_ca(tmp_path_factory.mktemp("seal"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, with the audit log's TRUNCATE guard off (migration 0014).

    transaction=True tests are cleaned up by TRUNCATE of every table, which the guard refuses;
    the tests of the guard switch it on in their own transaction (tests/requests_app/
    test_audit_chain.py).
    """
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE requests_app_auditevent "
                "DISABLE TRIGGER requests_app_auditevent_no_truncate"
            )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with empty throttles (the cache is per process)."""
    cache.clear()


class StaffClient(Client):
    """A test client whose force_login also passes the second factor, as staff sign-in does."""

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="authenticator", defaults={"confirmed": True}
        )
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


@pytest.fixture
def client():
    return StaffClient()


@pytest.fixture
def admin_client(db, admin_user):
    client = StaffClient()
    client.force_login(admin_user)
    return client


@pytest.fixture
def feedback_user(db):
    return UserFactory(username="fiona.feedback", groups=["Feedback team"])


@pytest.fixture
def service_desk_user(db):
    return UserFactory(username="sid.servicedesk", groups=["Service desk"])


@pytest.fixture
def outsider_user(db):
    """A staff account in no group: may sign in to the admin, may do nothing."""
    return UserFactory(username="olly.outsider")


def clear_broker(broker_url: str) -> None:
    """Drop this test process's queued jobs (its own key prefix only)."""
    broker = redis.Redis.from_url(broker_url)
    keys = list(broker.scan_iter(f"{settings.TEST_BROKER_PREFIX}*"))
    if keys:
        broker.delete(*keys)


def start_worker(
    *,
    broker_url: str,
    database_name: str,
    extra_env: dict | None = None,
    as_deployed: bool = False,
):
    """A real Celery worker (with embedded beat for the outbox sweeper) as a subprocess.

    as_deployed: with gossip, mingle and heartbeat, as docker-compose runs it (slower to start,
    but the broker-restart paths are the deployment's).
    """
    scratch = Path(os.environ["TEST_SCRATCH_DIR"])
    log_path = scratch / f"worker-{time.monotonic_ns()}.log"
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "federation_portal.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{database_name}",
        "CELERY_BROKER_URL": broker_url,
        **(extra_env or {}),
    }
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "federation_portal",
            "worker",
            "--beat",
            "-s",
            str(scratch / f"beat-{time.monotonic_ns()}"),
            "-Q",
            "default,pdf,checks",
            # prefork, as in production: only it enforces the tasks' soft time limits.
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            *(
                []
                if as_deployed
                else ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            ),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for(lambda: "ready." in log_path.read_text(), timeout=60, what="the Celery worker")
    return process, log_path


@contextmanager
def publishing_to(broker_url: str):
    """This process publishes to broker_url (a test's own Redis) for the block.

    broker_write_url, not broker_url: Celery 5.6 reads the namespaced Django setting for
    broker_url again, so setting it on the live config does not stick.
    """
    # The app's producer pool (send_task reads it) is made on first use, from the URL of the
    # moment: make it now, on the session's broker, so the block does not leave it pointing at
    # a Redis that is gone after the test.
    current_app.amqp.producer_pool  # noqa: B018
    previous = current_app.conf.get("broker_write_url")
    current_app.conf.broker_write_url = broker_url
    try:
        yield
    finally:
        current_app.conf.broker_write_url = previous


def stop_worker(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def worker_extra_env() -> dict:
    """Environment for the module's worker; a module overrides it (the NSD address, say)."""
    return {}


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker, worker_extra_env):
    """A worker for the module, on the test database; tests using it need transaction=True.

    Module-scoped so that a module can run without it (the broker outage test, whose own
    worker must be the only one sweeping the outbox).
    """
    broker_url = settings.CELERY_BROKER_URL
    clear_broker(broker_url)
    process, log_path = start_worker(
        broker_url=broker_url,
        database_name=settings.DATABASES["default"]["NAME"],
        extra_env=worker_extra_env,
    )
    yield log_path
    stop_worker(process)
