"""DNSSEC, and the signs of Microsoft 365 and Teams federation."""

from ..records import DomainRecords
from ..results import CheckResult, Status
from .common import unanswered
from .spf import M365_SPF_INCLUDE, single_spf_record, spf_terms

TEAMS_SIP_TARGET = "sipfed.online.lync.com"  # Microsoft's Teams federation SIP edge


M365_MX_SUFFIXES = (".mail.protection.outlook.com", ".mx.microsoft")


def microsoft365(records: DomainRecords) -> CheckResult:
    if records.mx.failed and records.txt.failed:
        return unanswered("microsoft365", "Microsoft 365 signs", records.mx, records.txt)
    signs: list[str] = []
    hosts = [r.host.lower() for r in records.mx.records if r.host]
    if any(host.endswith(M365_MX_SUFFIXES) for host in hosts):
        signs.append("mx")
    spf_record = single_spf_record(records.txt.records)
    if spf_record and any(
        kind == "include" and value.lower().rstrip(".") == M365_SPF_INCLUDE
        for kind, value in spf_terms(spf_record)
    ):
        signs.append("spf_include")
    # Microsoft 365's domain verification record, MS=ms followed by digits.
    if any(record.strip().startswith("MS=ms") for record in records.txt.records):
        signs.append("ms_txt")
    described = {
        "mx": "mail goes to Exchange Online",
        "spf_include": f"SPF includes {M365_SPF_INCLUDE}",
        "ms_txt": "a Microsoft 365 verification TXT record",
    }
    summary = (
        f"{records.domain} shows Microsoft 365 signs: "
        + "; ".join(described[s] for s in signs)
        + "."
        if signs
        else f"{records.domain} shows no sign of Microsoft 365."
    )
    return CheckResult("microsoft365", Status.INFO, summary, details={"signs": signs})


def teams_federation(records: DomainRecords) -> CheckResult:
    lookup = records.sip_federation
    if lookup.failed:
        return unanswered("teams_federation", "the Teams federation record", lookup)
    targets = [r.target.lower() for r in lookup.records]
    details = {"name": lookup.name, "targets": targets}
    if TEAMS_SIP_TARGET in targets:
        return CheckResult(
            "teams_federation",
            Status.PASS,
            f"{records.domain} publishes the Teams federation record ({TEAMS_SIP_TARGET}).",
            details,
        )
    seen = f" (it points at {', '.join(targets)})" if targets else ""
    return CheckResult(
        "teams_federation",
        Status.WARN,
        f"{records.domain} has no Teams federation SRV record pointing at "
        f"{TEAMS_SIP_TARGET}{seen}.",
        details,
        f"Publish SRV 100 1 443 {TEAMS_SIP_TARGET}. at _sipfederationtls._tcp.{records.domain}.",
    )


def dnssec(records: DomainRecords) -> CheckResult:
    """Judged at the zone holding the domain: DNSKEY at its apex, DS for the apex at the parent.

    A name inside a signed zone (mail.example.org in example.org) is covered by that zone's
    signature, with no DS or DNSKEY of its own.
    """
    domain, apex = records.domain, records.zone_apex
    ds, dnskey = records.ds, records.dnskey
    if records.zone.failed or ds is None or dnskey is None:
        return unanswered("dnssec", "DNSSEC", records.zone)
    if ds.failed or dnskey.failed:
        return unanswered("dnssec", "DNSSEC", ds, dnskey)
    details = {"zone": apex, "ds": list(ds.records), "dnskey_count": len(dnskey.records)}
    subject = domain if apex == domain else f"{domain}, in the zone {apex},"
    if ds.records and dnskey.records:
        return CheckResult(
            "dnssec", Status.PASS, f"{subject} is signed with DNSSEC (DS and DNSKEY).", details
        )
    if dnskey.records:
        summary = (
            f"{subject} has DNSSEC keys, but no DS record at its parent, so nothing trusts them."
            if apex == domain
            else f"{subject} has DNSSEC keys, but {apex} has no DS record at its parent, "
            "so nothing trusts them."
        )
        fix = f"Give your registrar the DS record for the key-signing key of {apex}."
    else:
        summary = f"{subject} is not signed with DNSSEC (recommended, not required)."
        fix = (
            f"Turn on DNSSEC for {apex} at your DNS provider, "
            "then publish the DS record at your registrar."
        )
    return CheckResult("dnssec", Status.INFO, summary, details, fix)
