"""Which checks got worse between two runs of the domain checks (pure: stored results in).

Used by the weekly re-check of federated domains: a DMARC record weakened from p=reject to
p=none, or a lost STARTTLS, must reach the Feedback team.
"""

from .results import Status

# pass and info are both fine; error (a query that timed out) tells nothing either way, so a
# check in error is neither worse nor better than before.
RANK = {Status.PASS: 0, Status.INFO: 0, Status.WARN: 1, Status.FAIL: 2}


def worsened_checks(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> list[dict]:
    """The checks whose status got worse, per domain in both runs (domain -> results as stored).

    Each entry: domain, check id, status before and after, and the new summary.
    """
    found = []
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
