"""Which checks got worse between two runs: pure, over results as they are stored."""

import pytest

from requests_app.checks.compare import is_back, worsened_checks


def results(**statuses) -> list[dict]:
    return [{"id": k, "status": v, "summary": f"{k} is {v}"} for k, v in statuses.items()]


def test_dmarc_weakened_from_reject_to_none_is_reported_with_its_new_summary():
    before = {"a.example": results(dmarc="pass", spf="pass")}
    after = {"a.example": results(dmarc="fail", spf="pass")}

    assert worsened_checks(before, after) == [
        {
            "domain": "a.example",
            "check": "dmarc",
            "before": "pass",
            "after": "fail",
            "summary": "dmarc is fail",
        }
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("pass", "warn"),
        ("info", "warn"),
        ("warn", "fail"),
        ("pass", "fail"),
        # A check that could not be made is not a pass (issues 11 and 12): it opens a case.
        ("pass", "error"),
        ("warn", "error"),
    ],
)
def test_every_step_down_counts(old, new):
    assert len(worsened_checks({"d": results(x=old)}, {"d": results(x=new)})) == 1


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("fail", "pass"),  # better
        ("warn", "warn"),  # the same
        ("pass", "info"),  # both fine
        ("error", "fail"),  # as bad as each other; a caller looks past the error (_last_known)
        ("fail", "error"),
    ],
)
def test_what_is_not_worse(old, new):
    assert worsened_checks({"d": results(x=old)}, {"d": results(x=new)}) == []


def test_checks_and_domains_only_in_one_run_are_not_compared():
    before = {"a.example": results(spf="pass"), "gone.example": results(spf="pass")}
    after = {"a.example": results(spf="pass", starttls="fail"), "new.example": results(spf="fail")}
    assert worsened_checks(before, after) == []


def test_each_domain_is_judged_on_its_own_results():
    before = {"a.example": results(mx="pass"), "b.example": results(mx="fail")}
    after = {"a.example": results(mx="fail"), "b.example": results(mx="pass")}
    assert [item["domain"] for item in worsened_checks(before, after)] == ["a.example"]


@pytest.mark.parametrize(
    ("before", "now", "back"),
    [
        ("pass", "pass", True),
        ("pass", "info", True),
        ("warn", "warn", True),  # what was accepted before it got worse
        ("warn", "pass", True),
        ("pass", "warn", False),
        ("warn", "fail", False),
        ("pass", "error", False),  # could not be made: not known to be fixed
        ("warn", None, False),  # not made at all (the whole domain timed out)
    ],
)
def test_a_check_is_back_only_when_a_later_run_finds_it_where_it_was(before, now, back):
    assert is_back(before, now) is back
