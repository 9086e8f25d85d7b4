"""Which checks got worse between two runs of the domain checks (pure: stored results in).

Used by the weekly re-check of federated domains: a DMARC record weakened from p=reject to
p=none, or a lost STARTTLS, must reach the Feedback team and open a remediation case.
"""

from typing import Any

from .results import Status

# pass and info are both fine. A check that could not be made (its queries timed out, or were
# answered SERVFAIL or REFUSED) is not a pass (issue 11), so pass -> error is a worsening, as bad
# as a failure; what it was before is judged from the last run that could make it
# (services.check_runs._last_known), so pass, error, fail is a worsening too.
RANK: dict[str, int] = {
    Status.PASS: 0,
    Status.INFO: 0,
    Status.WARN: 1,
    Status.ERROR: 2,
    Status.FAIL: 2,
}


StoredResults = dict[str, list[dict[str, Any]]]  # domain -> CheckResult.as_dict() of each check


def worsened_checks(before: StoredResults, after: StoredResults) -> list[dict[str, Any]]:
    """The checks whose status got worse, per domain in both runs (domain -> results as stored).

    Each entry: domain, check id, status before and after, and the new summary.
    """
    found: list[dict[str, Any]] = []
    for domain in sorted(before.keys() & after.keys()):
        earlier = {result["id"]: result["status"] for result in before[domain]}
        for result in after[domain]:
            old, new = earlier.get(result["id"]), result["status"]
            if is_worse(old, new):
                found.append(
                    {
                        "domain": domain,
                        "check": result["id"],
                        "before": old,
                        "after": new,
                        "summary": result.get("summary", ""),
                    }
                )
    return found


def is_worse(before: str | None, after: str | None) -> bool:
    """Whether status after is worse than before; a status unknown on either side is not."""
    if before is None or after is None or before not in RANK or after not in RANK:
        return False
    return RANK[after] > RANK[before]


def is_back(before: str, now: str | None) -> bool:
    """Whether a check that got worse is back to where it was (a remediation item fixed): a
    check that could not be made, or was not made, is never back."""
    if now is None or now not in RANK or now == Status.ERROR:
        return False
    return RANK[now] <= RANK.get(before, 0)
