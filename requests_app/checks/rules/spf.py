"""SPF (RFC 7208): one record, a strict ending, at most 10 DNS-querying terms."""

import re
from collections.abc import Iterable
from typing import TypedDict

from ..records import DomainRecords, Lookup
from ..results import CheckResult, Status
from .common import tagged, unanswered

M365_SPF_INCLUDE = "spf.protection.outlook.com"
M365_SPF_EXAMPLE = f"v=spf1 include:{M365_SPF_INCLUDE} -all"

SPF_LOOKUP_LIMIT = 10  # RFC 7208 4.6.4


# RFC 7208 4.6.4: the terms that make the receiver query DNS (redirect is a modifier that does).
SPF_DNS_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})


def _spf_term(term: str) -> tuple[str, str]:
    """('include', 'example.org'), ('all', '-'), ('redirect', 'x.org'), ('ip4', '...'), ..."""
    name, equals, value = term.partition("=")
    if equals and ":" not in name and "/" not in name:
        return name.lower(), value  # a modifier: redirect=, exp=
    qualifier, body = (term[0], term[1:]) if term[0] in "+-~?" else ("+", term)
    mechanism, separator, rest = (*re.split(r"([:/])", body, maxsplit=1), "", "")[:3]
    mechanism = mechanism.lower()
    if mechanism == "all":
        return "all", qualifier
    value = rest.split("/")[0] if separator == ":" else ""
    return mechanism, value


def spf_terms(record: str) -> list[tuple[str, str]]:
    return [_spf_term(term) for term in record.split()[1:] if term]


def single_spf_record(records: Iterable[str]) -> str | None:
    found = tagged(records, "v=spf1")
    return found[0] if len(found) == 1 else None


def spf_targets_of(records: Iterable[str]) -> list[str]:
    """The include and redirect targets of the single SPF record among TXT records."""
    record = single_spf_record(records)
    if record is None:
        return []
    return [
        value.lower().rstrip(".")
        for kind, value in spf_terms(record)
        if kind in ("include", "redirect") and value and "%" not in value  # no macros
    ]


class _SpfCount(TypedDict):
    lookups: int  # DNS-querying terms so far, through includes and redirects
    problems: list[str]


def _walk_spf(record: str, targets: dict[str, Lookup[str]], state: _SpfCount) -> str | None:
    """Count DNS-querying terms through includes and redirect; return the effective all."""
    terms = spf_terms(record)
    all_qualifier = next((value for kind, value in terms if kind == "all"), None)
    for kind, value in terms:
        # RFC 7208 6.1: redirect is ignored when the record has an all mechanism.
        counts = kind in SPF_DNS_MECHANISMS or (kind == "redirect" and all_qualifier is None)
        if not counts:
            continue
        state["lookups"] += 1
        if state["lookups"] > SPF_LOOKUP_LIMIT or kind not in ("include", "redirect"):
            continue
        target = value.lower().rstrip(".")
        lookup = targets.get(target)
        if lookup is None:
            state["problems"].append(f"{target} was not followed")
            continue
        sub = single_spf_record(lookup.records)
        if sub is None:
            # RFC 7208 5.2: an include without exactly one SPF record is a permanent error.
            state["problems"].append(f"{target} has no single SPF record ({lookup.error})")
            continue
        effective = _walk_spf(sub, targets, state)
        if kind == "redirect":
            all_qualifier = effective
    return all_qualifier


def spf(records: DomainRecords) -> CheckResult:
    domain = records.domain
    if records.txt.failed:
        return unanswered("spf", "SPF", records.txt)
    found = tagged(records.txt.records, "v=spf1")
    if not found:
        return CheckResult(
            "spf",
            Status.FAIL,
            f"{domain} has no SPF record, so anyone can send mail claiming to be from it.",
            details={"records": []},
            fix=f"Publish one TXT record at {domain}, for Microsoft 365: {M365_SPF_EXAMPLE}",
        )
    if len(found) > 1:
        # RFC 7208 3.2: several SPF records make every check a permanent error.
        return CheckResult(
            "spf",
            Status.FAIL,
            f"{domain} has {len(found)} SPF records; receivers treat that as having none.",
            details={"records": found},
            fix="Merge them into a single TXT record starting v=spf1.",
        )
    state: _SpfCount = {"lookups": 0, "problems": []}
    qualifier = _walk_spf(found[0], records.spf_targets, state)
    details = {
        "record": found[0],
        "all": qualifier,
        "lookups": state["lookups"],
        "lookup_limit": SPF_LOOKUP_LIMIT,
        "problems": state["problems"],
    }
    failure = _spf_failure(domain, qualifier=qualifier, lookups=state["lookups"])
    if failure:
        return CheckResult(
            "spf", Status.FAIL, f"{domain}'s SPF record {failure[0]}.", details, failure[1]
        )
    return CheckResult(
        "spf",
        Status.PASS,
        f"{domain} has one SPF record ending {qualifier}all, "
        f"with {state['lookups']} of {SPF_LOOKUP_LIMIT} DNS lookups.",
        details,
    )


def _spf_failure(domain: str, *, qualifier: str | None, lookups: int) -> tuple[str, str] | None:
    """What makes one SPF record fail (the sentence's end and the fix), or None."""
    if qualifier is None:
        return (
            "ends with neither an all mechanism nor a redirect, so it does not say what to do "
            "with other senders",
            "End the record with -all (or ~all while you test).",
        )
    if qualifier in ("+", "?"):
        return (
            f"ends with {qualifier}all, which lets any server send mail as {domain}",
            f"Replace {qualifier}all with -all (or ~all while you test).",
        )
    if lookups > SPF_LOOKUP_LIMIT:
        # RFC 7208 4.6.4: over 10 DNS-querying terms is a permanent error at the receiver.
        return (
            f"needs {lookups} DNS lookups, more than the limit of {SPF_LOOKUP_LIMIT}, "
            "so receivers reject it as broken",
            "Remove includes you no longer use, or replace some with ip4:/ip6: ranges.",
        )
    return None
