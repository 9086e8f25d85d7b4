"""Pure rules: one function per check id, over the records resolver.py fetched. No I/O here."""

from .dmarc import dmarc, dmarc_tags
from .mail import MODERN_TLS, dkim, eligibility, mta_sts, mx, starttls, tls_rpt
from .microsoft import M365_MX_SUFFIXES, TEAMS_SIP_TARGET, dnssec, microsoft365, teams_federation
from .spf import (
    M365_SPF_EXAMPLE,
    M365_SPF_INCLUDE,
    SPF_DNS_MECHANISMS,
    SPF_LOOKUP_LIMIT,
    spf,
    spf_targets_of,
    spf_terms,
)

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

RECORD_RULES = {
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
    "M365_MX_SUFFIXES",
    "M365_SPF_EXAMPLE",
    "M365_SPF_INCLUDE",
    "MODERN_TLS",
    "RECORD_RULES",
    "SPF_DNS_MECHANISMS",
    "SPF_LOOKUP_LIMIT",
    "TEAMS_SIP_TARGET",
    "dkim",
    "dmarc",
    "dmarc_tags",
    "dnssec",
    "eligibility",
    "microsoft365",
    "mta_sts",
    "mx",
    "spf",
    "spf_targets_of",
    "spf_terms",
    "starttls",
    "teams_federation",
    "tls_rpt",
]
