"""Celery's own soft time limit, in a real worker, stops a domain's checks that hang.

The worker asks a DNS server that takes every query and never answers, with query time-outs
far longer than the task's soft limit: only the soft limit can end the task.
"""

import socket

import pytest

from requests_app import tasks
from requests_app.models import CheckRunState, DomainCheck
from tests.conftest import wait_for_check_runs
from tests.helpers import submit_lakeside_care

SOFT_LIMIT = 2


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
        "DNS_QUERY_TIMEOUT": "120",
        "DNS_DOMAIN_DEADLINE": "300",
        "CHECKS_SOFT_TIME_LIMIT": str(SOFT_LIMIT),
    }


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_hung_domain_is_stopped_by_the_soft_limit_and_stored_as_a_time_out(
    celery_worker_process, monkeypatch
):
    # Celery sends the publisher's limits in the message (from options it caches per task):
    # this process publishes, so it must agree with the worker's setting.
    task = tasks.run_domain_check
    limits = {"soft_time_limit": SOFT_LIMIT, "time_limit": SOFT_LIMIT + 30}
    monkeypatch.setattr(task, "_exec_options", {**task._get_exec_options(), **limits})
    req = submit_lakeside_care()

    wait_for_check_runs(req, timeout=60)

    run = req.check_runs.get()
    assert run.state == CheckRunState.COMPLETE
    check = DomainCheck.objects.get(run=run)
    assert check.verdict == "error"
    (result,) = check.results
    assert result["id"] == "timeout"
    assert f"did not finish within {SOFT_LIMIT} seconds" in result["summary"]
    assert result["details"] == {"time_limit_seconds": SOFT_LIMIT}
