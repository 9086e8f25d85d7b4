"""Which checks got worse between two runs of the domain checks (pure: stored results in).

Used by the weekly re-check of federated domains: a DMARC record weakened from p=reject to
p=none, or a lost STARTTLS, must reach the Feedback team.
"""

from typing import Any

from .results import Status

# pass and info are both fine; error (a query that timed out) tells nothing either way, so a
# check in error is neither worse nor better than before.
RANK: dict[str, int] = {Status.PASS: 0, Status.INFO: 0, Status.WARN: 1, Status.FAIL: 2}


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
            if old in RANK and new in RANK and RANK[new] > RANK[old]:
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
