"""The database goes away for a few seconds under a stream of submissions: every submission the
requester was told had succeeded gets exactly one email (the link to confirm their address),
and no saved submission answers 500.

The outage is this test database's own (its connections terminated and refused, the other
databases on the server untouched): what the web and the worker meet when PostgreSQL restarts.
"""

import socket
import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from requests_app.email_task import EMAIL_TASK_OPTIONS
from requests_app.models import PendingSubmission, SentEmail
from tests.conftest import sent_mail, wait_for
from tests.helpers import submit_lakeside_care
from tests.test_worker import FORM

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 5
BEFORE, AFTER = 20, 10  # submissions before and after the outage


# Requests already confirmed have their domain checks run, each occupying a pool process this
# long (a DNS server that never answers), so the worker is busy, as under load: the emails
# queued before the outage are still waiting, or running, when the database goes.
CHECK_SECONDS = 2
WORKER_CONCURRENCY = 2  # tests.conftest.start_worker


@pytest.fixture(scope="module")
def silent_dns_port():
    """A UDP socket on loopback that receives queries and answers none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        yield silent.getsockname()[1]


@pytest.fixture(scope="module")
def worker_extra_env(silent_dns_port):
    return {
        "DNS_NAMESERVERS": f"127.0.0.1:{silent_dns_port}",
        "DNS_QUERY_TIMEOUT": str(CHECK_SECONDS),
        "DNS_DOMAIN_DEADLINE": str(CHECK_SECONDS),
    }


def admin_connection() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True
    )


def database_outage(name: str, seconds: float) -> None:
    """Refuse new connections to the database and end every open one, then allow them again."""
    with admin_connection() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        time.sleep(seconds)
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def submission(number: int) -> dict:
    return {
        **FORM,
        "organisation_name": f"Outage Test Trust {number}",
        "domains": f"outage{number}.test",
        "requester_email": f"rowan{number}@outage{number}.test",
        "spoc_email": f"sam{number}@outage{number}.test",
        "technical_email": f"tess{number}@outage{number}.test",
    }


def test_submissions_across_a_database_outage_get_exactly_one_email_each(
    celery_worker_process, settings
):
    settings.REQUEST_FORM_POSTS_PER_HOUR = 1000
    client = Client(raise_request_exception=False)  # a 500 is a response, as a browser sees it
    name = settings.DATABASES["default"]["NAME"]
    outage = threading.Thread(target=database_outage, args=(name, OUTAGE_SECONDS))
    answers: dict[int, int] = {}
    number = 0

    def post() -> None:
        nonlocal number
        response = client.post(reverse("requests_app:request_form"), submission(number))
        # Success is the redirect to "check your email", or that page itself when the database
        # went between the submission's commit and the session's save.
        told = response.status_code == 302 or (
            response.status_code == 200 and b"Confirm your email address" in response.content
        )
        answers[number] = 302 if told else response.status_code
        number += 1

    # Checks that keep the worker busy, then back to back submissions: the worker still has
    # their emails queued or running when the database goes.
    for busy in range(BEFORE):
        submit_lakeside_care(
            organisation_name=f"Busy Trust {busy}", domains=[f"busy{busy}.outage.test"]
        )
    for _ in range(BEFORE):
        post()
    outage.start()
    while outage.is_alive():  # submissions meet the outage
        post()
        time.sleep(0.2)
    for _ in range(AFTER):
        post()

    told_success = {n for n, status in answers.items() if status == 302}
    saved = {
        int(answers_saved["organisation_name"].removeprefix("Outage Test Trust "))
        for answers_saved in PendingSubmission.objects.values_list("answers", flat=True)
    }
    assert len(told_success) >= BEFORE + AFTER  # the stream ran on both sides of the outage
    assert len(told_success) < len(answers)  # and some submissions met it
    # Whatever was saved was answered with success; whatever was answered with success was saved.
    assert saved == told_success

    # The system's bounds: the busy worker's backlog of checks; an email task that met the
    # outage retries with backoff (at most TASK_RETRY_BACKOFF_MAX apart); the outbox sweeper
    # republishes within its period.
    bound = (
        len(answers) * CHECK_SECONDS * 2 / WORKER_CONCURRENCY
        + OUTAGE_SECONDS
        + 2 * settings.TASK_RETRY_BACKOFF_MAX
        + settings.CELERY_BEAT_SCHEDULE["outbox-dispatch"]["schedule"]
        + EMAIL_TASK_OPTIONS["time_limit"]
    )
    requesters = {f"rowan{n}@outage{n}.test" for n in saved}

    def confirmations():
        return [
            m
            for m in sent_mail()
            if "Confirm your email address" in m["Subject"] and m["To"] in requesters
        ]

    wait_for(lambda: len(confirmations()) >= len(requesters), timeout=bound, what="the emails")
    time.sleep(settings.CELERY_BEAT_SCHEDULE["outbox-dispatch"]["schedule"] * 2)  # no extra ones
    per_request = {
        requester: sum(m["To"] == requester for m in confirmations()) for requester in requesters
    }
    print(
        f"\n{len(answers)} posts: {len(told_success)} saved and answered 302, "
        f"{sorted(set(answers.values()))} answers; emails per saved submission: "
        f"{sorted(per_request.values())}"
    )
    assert set(per_request.values()) == {1}
    assert SentEmail.objects.filter(sent_at__isnull=True).count() == 0
