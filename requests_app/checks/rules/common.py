"""What every rule shares: the result of a query that got no answer, tagged TXT records."""

import re
from collections.abc import Iterable

from ..records import Lookup, Record
from ..results import CheckResult, Status


def unanswered(check_id: str, what: str, *lookups: Lookup[Record]) -> CheckResult:
    """A query that could not be answered: the check is not judged, and says why."""
    failed = [lookup for lookup in lookups if lookup.failed]
    reasons = ", ".join(f"{lookup.name} {lookup.rdtype}: {lookup.error}" for lookup in failed)
    return CheckResult(
        check_id,
        Status.ERROR,
        f"Could not check {what}: the DNS query did not get an answer ({reasons}).",
        details={"lookups": [lookup.as_dict() for lookup in failed]},
        fix="Try again later. If this persists, check that the domain's name servers answer.",
    )


def tagged(records: Iterable[str], prefix: str) -> list[str]:
    """TXT records starting with a version tag such as v=spf1, ignoring case."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\s|;|$)", re.IGNORECASE)
    return [record.strip() for record in records if pattern.match(record.strip())]
