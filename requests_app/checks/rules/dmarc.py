"""DMARC (RFC 7489) and DCB1596: p=quarantine at least, p=reject to pass."""

from ..records import DomainRecords
from ..results import CheckResult, Status
from .common import tagged, unanswered


def dmarc_tags(record: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in record.split(";"):
        key, _, value = part.partition("=")
        if key.strip():
            tags[key.strip().lower()] = value.strip()
    return tags


def dmarc(records: DomainRecords) -> CheckResult:
    domain = records.domain
    fix_publish = (
        f"Publish one TXT record at _dmarc.{domain}: "
        f"v=DMARC1; p=reject; rua=mailto:dmarc-reports@{domain}"
    )
    if records.dmarc.failed:
        return unanswered("dmarc", "DMARC", records.dmarc)
    found, source, inherited = tagged(records.dmarc.records, "v=DMARC1"), domain, False
    org = records.organisational_dmarc
    if not found and org is not None:
        # RFC 7489 6.6.3: without a record of its own, a subdomain takes its organisational
        # domain's, with sp= as its policy when given.
        if org.failed:
            return unanswered("dmarc", "DMARC", org)
        found, source, inherited = (
            tagged(org.records, "v=DMARC1"),
            records.organisational_domain,
            True,
        )
    if not found:
        return CheckResult(
            "dmarc",
            Status.FAIL,
            f"{domain} has no DMARC record, so receivers are not told to refuse forged mail.",
            details={"records": []},
            fix=fix_publish,
        )
    details = {"records": found, "found_at": f"_dmarc.{source}", "inherited": inherited}
    if len(found) > 1:
        # RFC 7489 6.6.3: several records, and none applies.
        return CheckResult(
            "dmarc",
            Status.FAIL,
            f"_dmarc.{source} has {len(found)} DMARC records; receivers ignore them all.",
            details,
            "Keep a single TXT record starting v=DMARC1.",
        )
    tags = dmarc_tags(found[0])
    policy = tags.get("p", "").lower()
    if inherited and "sp" in tags:
        policy = tags["sp"].lower()
    details.update(tags=tags, policy=policy)
    return _judge_policy(records, source=source, inherited=inherited, tags=tags, details=details)


def _judge_policy(
    records: DomainRecords,
    *,
    source: str,
    inherited: bool,
    tags: dict[str, str],
    details: dict[str, object],
) -> CheckResult:
    """The verdict on the one DMARC record that applies (its own, or inherited from source)."""
    domain, policy = records.domain, str(details["policy"])
    if inherited and policy == "none" and tags.get("sp", "").lower() == "none":
        return CheckResult(
            "dmarc",
            Status.FAIL,
            f"{domain} is covered by {source}'s DMARC record, whose sp=none leaves "
            "subdomains unprotected.",
            details,
            f"Set sp=quarantine or sp=reject at _dmarc.{source}, or publish "
            f"v=DMARC1; p=reject at _dmarc.{domain}.",
        )
    if policy not in ("quarantine", "reject"):
        # DCB1596: DMARC at p=quarantine or stricter.
        return CheckResult(
            "dmarc",
            Status.FAIL,
            f"{domain}'s DMARC policy is “{policy or 'missing'}”: forged mail is still delivered. "
            "The NHS standard (DCB1596) needs quarantine or reject.",
            details,
            "Move to p=quarantine now, then to p=reject once reports show your mail passes.",
        )
    return _judge_strength(records, policy=policy, tags=tags, details=details)


def _judge_strength(
    records: DomainRecords, *, policy: str, tags: dict[str, str], details: dict[str, object]
) -> CheckResult:
    """A policy that meets DCB1596: a warning for what still weakens it, else a pass."""
    domain = records.domain
    warnings: list[str] = []
    fixes: list[str] = []
    if policy == "quarantine":
        warnings.append("the policy is quarantine, the DCB1596 minimum, not yet reject")
        fixes.append("Move to p=reject once your reports show all your mail passes.")
    try:
        pct = int(tags.get("pct", "100"))
    except ValueError:
        pct = 100  # RFC 7489 6.3: an invalid pct is ignored
    if pct < 100:
        warnings.append(f"it applies to only {pct}% of failing mail (pct={pct})")
        fixes.append("Remove pct= (or set pct=100).")
    if not tags.get("rua"):
        warnings.append("no one receives the aggregate reports (no rua=)")
        fixes.append(f"Add rua=mailto:dmarc-reports@{records.organisational_domain}.")
    if warnings:
        return CheckResult(
            "dmarc",
            Status.WARN,
            f"{domain} has DMARC, but " + "; ".join(warnings) + ".",
            details,
            " ".join(fixes),
        )
    return CheckResult(
        "dmarc",
        Status.PASS,
        f"{domain}'s DMARC policy is reject: receivers refuse mail forged in its name.",
        details,
    )
