"""What each check is called for people (the task list, emails): the ids are for machines."""

CHECK_NAMES = {
    "eligibility": "Eligibility",
    "mx": "MX records",
    "spf": "SPF",
    "dmarc": "DMARC",
    "dkim": "DKIM",
    "mta_sts": "MTA-STS",
    "tls_rpt": "TLS reporting (TLS-RPT)",
    "dnssec": "DNSSEC",
    "microsoft365": "Microsoft 365",
    "teams_federation": "Teams federation",
    "starttls": "STARTTLS",
}


def check_name(check_id: str) -> str:
    """The check's name for people, or its id for a check this list does not know."""
    return CHECK_NAMES.get(check_id, check_id)
