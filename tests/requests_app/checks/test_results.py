"""A domain's verdict from its checks' statuses (pure)."""

import pytest

from requests_app.checks.results import CheckResult, Status, verdict


def results(*statuses: Status) -> list[CheckResult]:
    return [CheckResult(f"check{index}", status, "") for index, status in enumerate(statuses)]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((Status.PASS, Status.INFO), Status.PASS),
        ((Status.PASS, Status.WARN), Status.WARN),
        # A check that could not be made is never a pass, nor hidden behind a warning...
        ((Status.PASS, Status.ERROR), Status.ERROR),
        ((Status.ERROR, Status.ERROR, Status.INFO), Status.ERROR),
        ((Status.WARN, Status.ERROR), Status.ERROR),
        # ...but a failure found beside it is the verdict.
        ((Status.FAIL, Status.ERROR), Status.FAIL),
    ],
)
def test_the_verdict_is_the_worst_known(statuses, expected):
    assert verdict(results(*statuses)) is expected


def test_an_unreachable_resolver_is_an_error_whatever_the_checks_say():
    assert verdict(results(Status.PASS), resolver_reached=False) is Status.ERROR
