"""What a check says: a status, a sentence for people, details for machines, how to fix it."""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    WARN = "warn"
    FAIL = "fail"
    INFO = "info"
    ERROR = "error"


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: Status
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": str(self.status)}


@dataclass(frozen=True)
class DomainReport:
    domain: str
    checked_at: datetime
    verdict: Status
    checks: list[CheckResult]

    def as_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "checked_at": self.checked_at.isoformat(),
            "verdict": str(self.verdict),
            "checks": [check.as_dict() for check in self.checks],
        }


def verdict(results: list[CheckResult], *, resolver_reached: bool = True) -> Status:
    """fail, else error, else warn, else pass: what is known of the domain, worst first.

    error when the resolver could not be reached at all, and when any check could not be made
    (its queries timed out, or were answered SERVFAIL or REFUSED): a domain is never a pass on
    checks that were not made (issue 11: every query answered SERVFAIL once gave pass). A fail
    found beside them still says fail, the more useful thing to know; info sets nothing.
    """
    if not resolver_reached:
        return Status.ERROR
    statuses = {result.status for result in results}
    for status in (Status.FAIL, Status.ERROR, Status.WARN):
        if status in statuses:
            return status
    return Status.PASS
