"""Eligibility, MX, DKIM, MTA-STS, TLS-RPT and STARTTLS: can mail reach the domain safely."""

from requests_app.domains import DomainError, normalise_domain

from ..records import DomainRecords, Lookup
from ..results import CheckResult, Status
from .common import tagged, unanswered

MODERN_TLS = frozenset({"TLSv1.2", "TLSv1.3"})  # DCB1596: TLS 1.2 or later in transit


def eligibility(raw: str) -> CheckResult:
    """The request form's domain rules (requests_app.domains), reused as they are."""
    try:
        name = normalise_domain(raw)
    except DomainError as error:
        return CheckResult(
            "eligibility",
            Status.FAIL,
            str(error),
            details={"input": raw},
            fix="Request federation for a domain your organisation owns, entered in full.",
        )
    return CheckResult(
        "eligibility",
        Status.PASS,
        f"{name} is a domain that can be federated.",
        details={"input": raw, "domain": name},
    )


def mx(records: DomainRecords) -> CheckResult:
    lookup = records.mx
    domain = records.domain
    fix_add = f"Publish an MX record for {domain} pointing at your mail service."
    if lookup.error == "nxdomain":
        return CheckResult(
            "mx",
            Status.FAIL,
            f"{domain} does not exist in DNS.",
            details={"error": "nxdomain"},
            fix="Check the spelling, or register the domain and publish its DNS records.",
        )
    if lookup.failed:
        return unanswered("mx", "the mail servers (MX)", lookup)
    hosts = [{"preference": r.preference, "host": r.host} for r in lookup.records]
    usable = [r for r in lookup.records if r.host]
    if not lookup.records:
        return CheckResult(
            "mx",
            Status.FAIL,
            f"{domain} has no MX record, so it says nothing about where its mail goes.",
            details={"mx": []},
            fix=fix_add,
        )
    if not usable:
        # RFC 7505: the null MX ("0 .") says the domain accepts no mail at all.
        return CheckResult(
            "mx",
            Status.FAIL,
            f"{domain} publishes a null MX: it declares that it receives no email.",
            details={"mx": hosts, "null_mx": True},
            fix=f"Replace the null MX (0 .) with an MX record for {domain}'s mail service.",
        )
    names = ", ".join(r.host for r in sorted(usable, key=lambda r: r.preference))
    return CheckResult(
        "mx", Status.PASS, f"{domain} receives mail at {names}.", details={"mx": hosts}
    )


def dkim(records: DomainRecords) -> CheckResult:
    domain = records.domain
    selectors = {
        name: lookup.records[0] for name, lookup in records.dkim_selectors.items() if lookup.records
    }
    # An empty non-terminal answers NOERROR with no records: _domainkey exists when keys do.
    exists = records.domainkey.name_exists
    details = {"domainkey_exists": exists, "selectors": selectors}
    if exists or selectors:
        seen = (
            f"Microsoft 365 selectors ({', '.join(selectors)})"
            if selectors
            else f"keys under _domainkey.{domain}"
        )
        return CheckResult("dkim", Status.PASS, f"{domain} publishes DKIM: {seen}.", details)
    lookups = [records.domainkey, *records.dkim_selectors.values()]
    if all(lookup.failed for lookup in lookups):
        return unanswered("dkim", "DKIM", *lookups)
    return CheckResult(
        "dkim",
        Status.WARN,
        f"No DKIM keys were found for {domain}. Keys under other selector names cannot be "
        "seen from outside, so this is not conclusive.",
        details,
        "In Microsoft 365 Defender, enable DKIM signing for the domain and publish the "
        f"selector1 and selector2 CNAME records under _domainkey.{domain}.",
    )


def _presence(
    records: DomainRecords, *, check_id: str, lookup: Lookup[str], tag: str, what: str, fix: str
) -> CheckResult:
    """A recommended record: published (pass) or not (information, with how to publish it)."""
    if lookup.failed:
        return unanswered(check_id, what, lookup)
    found = tagged(lookup.records, tag)
    if found:
        return CheckResult(
            check_id,
            Status.PASS,
            f"{records.domain} publishes {what}.",
            details={"record": found[0], "name": lookup.name},
        )
    return CheckResult(
        check_id,
        Status.INFO,
        f"{records.domain} does not publish {what} (recommended, not required).",
        details={"record": None, "name": lookup.name},
        fix=fix,
    )


def mta_sts(records: DomainRecords) -> CheckResult:
    # RFC 8461: the TXT record announces a policy that makes senders insist on TLS.
    return _presence(
        records,
        check_id="mta_sts",
        lookup=records.mta_sts,
        tag="v=STSv1",
        what="MTA-STS",
        fix=f"Publish v=STSv1; id=<date> at _mta-sts.{records.domain} and the policy file at "
        f"https://mta-sts.{records.domain}/.well-known/mta-sts.txt.",
    )


def tls_rpt(records: DomainRecords) -> CheckResult:
    # RFC 8460: where senders report TLS failures.
    return _presence(
        records,
        check_id="tls_rpt",
        lookup=records.tls_rpt,
        tag="v=TLSRPTv1",
        what="TLS reporting (TLS-RPT)",
        fix=f"Publish v=TLSRPTv1; rua=mailto:tls-reports@{records.domain} at "
        f"_smtp._tls.{records.domain}.",
    )


def starttls(records: DomainRecords) -> CheckResult:
    probes = records.smtp or []
    if records.mx.failed:
        return unanswered("starttls", "STARTTLS (the MX lookup failed)", records.mx)
    if not probes:
        return CheckResult(
            "starttls", Status.INFO, f"{records.domain} has no mail server to test.", {}
        )
    details = {"servers": [vars(probe) for probe in probes]}
    # DCB1596: mail in transit encrypted with TLS 1.2 or later.
    no_starttls = [p.host for p in probes if p.reachable and not p.starttls_offered and not p.error]
    weak = [p.host for p in probes if p.starttls_offered and p.tls_version not in MODERN_TLS]
    unreached = [p.host for p in probes if not p.reachable or (p.error and not p.starttls_offered)]
    if no_starttls or weak:
        parts: list[str] = []
        if no_starttls:
            parts.append(f"{', '.join(no_starttls)} does not offer STARTTLS")
        if weak:
            versions = ", ".join(
                f"{p.host} ({p.tls_version or p.error})" for p in probes if p.host in weak
            )
            parts.append(f"no TLS 1.2 or 1.3 was agreed with {versions}")
        return CheckResult(
            "starttls",
            Status.FAIL,
            "Mail to this domain can travel unencrypted or with outdated encryption: "
            + "; ".join(parts)
            + ".",
            details,
            "Enable STARTTLS with TLS 1.2 or 1.3 on every MX host and turn off TLS 1.0 and 1.1.",
        )
    if unreached:
        return CheckResult(
            "starttls",
            Status.WARN,
            f"Could not test {', '.join(unreached)}: no SMTP conversation was possible.",
            details,
            "Make sure every MX host accepts connections on port 25 from the internet.",
        )
    versions = ", ".join(f"{p.host} {p.tls_version}" for p in probes)
    return CheckResult(
        "starttls",
        Status.PASS,
        f"Every mail server offers STARTTLS with TLS 1.2 or later ({versions}).",
        details,
    )
