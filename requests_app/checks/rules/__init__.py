"""Pure rules: one function per check id, over the records resolver.py fetched. No I/O here."""

from collections.abc import Callable

from ..records import DomainRecords
from ..results import CheckResult
from .dmarc import dmarc
from .mail import dkim, eligibility, mta_sts, mx, starttls, tls_rpt
from .microsoft import dnssec, microsoft365, teams_federation
from .spf import spf, spf_targets_of

CHECK_IDS = (
    "eligibility",
    "mx",
    "spf",
    "dmarc",
    "dkim",
    "mta_sts",
    "tls_rpt",
    "dnssec",
    "microsoft365",
    "teams_federation",
    "starttls",
)

RECORD_RULES: dict[str, Callable[[DomainRecords], CheckResult]] = {
    "mx": mx,
    "spf": spf,
    "dmarc": dmarc,
    "dkim": dkim,
    "mta_sts": mta_sts,
    "tls_rpt": tls_rpt,
    "dnssec": dnssec,
    "microsoft365": microsoft365,
    "teams_federation": teams_federation,
    "starttls": starttls,
}

__all__ = [
    "CHECK_IDS",
    "RECORD_RULES",
    "dkim",
    "dmarc",
    "dnssec",
    "eligibility",
    "microsoft365",
    "mta_sts",
    "mx",
    "spf",
    "spf_targets_of",
    "starttls",
    "teams_federation",
    "tls_rpt",
]
