"""Run every check for many domains concurrently: fetch (resolver), judge (rules), report."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from . import resolver, rules
from .results import CheckResult, DomainReport, Status, verdict

# Domains checked at once; each makes about twenty queries in parallel.
DOMAIN_CONCURRENCY = 50
SMTP_PROBE_TIMEOUT = 8.0  # seconds for one MX conversation, within the domain's deadline


async def _check_one(
    raw: str,
    dns: resolver.DnsClient,
    *,
    smtp_port: int,
    skip: frozenset[str],
    deadline_seconds: float,
) -> DomainReport:
    checked_at = datetime.now(UTC)
    eligible = rules.eligibility(raw)
    domain = eligible.details.get("domain", raw.strip())
    if eligible.status is Status.FAIL:
        # A name the portal refuses is not queried: a refusal is the answer.
        return DomainReport(domain, checked_at, Status.FAIL, [eligible])
    deadline = resolver.DomainDeadline(deadline_seconds)
    records = await resolver.fetch_records(dns, domain, deadline)
    if "starttls" not in skip:
        records.smtp = await resolver.probe_smtp(
            dns, records.mx, smtp_port, deadline, timeout=SMTP_PROBE_TIMEOUT
        )
    results: list[CheckResult] = [] if "eligibility" in skip else [eligible]
    results += [
        rule(records) for check_id, rule in rules.RECORD_RULES.items() if check_id not in skip
    ]
    reached = records.resolver_reached
    return DomainReport(domain, checked_at, verdict(results, resolver_reached=reached), results)


async def check_domains(
    domains: list[str],
    *,
    nameservers: list[str] | None = None,
    smtp_port: int | None = None,
    skip: frozenset[str] = frozenset(),
) -> list[DomainReport]:
    """A report per domain, in the order given. Raises resolver.NameserverError on a bad entry."""
    dns = resolver.make_resolver(
        settings.DNS_NAMESERVERS if nameservers is None else nameservers,
        query_timeout=settings.DNS_QUERY_TIMEOUT,
    )
    port = settings.SMTP_PROBE_PORT if smtp_port is None else smtp_port
    limit = asyncio.Semaphore(DOMAIN_CONCURRENCY)

    async def bounded(raw: str) -> DomainReport:
        async with limit:
            return await _check_one(
                raw,
                dns,
                smtp_port=port,
                skip=frozenset(skip),
                deadline_seconds=settings.DNS_DOMAIN_DEADLINE,
            )

    return list(await asyncio.gather(*(bounded(raw) for raw in domains)))


def check_domains_sync(domains: list[str], **options: Any) -> list[DomainReport]:
    """check_domains for code that is not async (management commands, Celery tasks)."""
    return asyncio.run(check_domains(domains, **options))
