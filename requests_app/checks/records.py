"""What the resolver fetched, as plain data: the rules judge it, tests build it by hand.

No I/O here: resolver.py fills these in, rules/ reads them.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeAlias, TypeVar


class QueryError(StrEnum):
    NXDOMAIN = "nxdomain"  # the name does not exist
    NO_ANSWER = "no_answer"  # the name exists, without records of this type
    TIMEOUT = "timeout"  # no reply within the query's time (or the domain's deadline)
    UNREACHABLE = "unreachable"  # the resolver refused the connection or the network failed
    SERVER_FAILURE = "server_failure"  # the resolver replied SERVFAIL, REFUSED or garbage


# A resolver that replied at all (even NXDOMAIN or REFUSED) was reached.
NOT_REACHED = frozenset({QueryError.TIMEOUT, QueryError.UNREACHABLE})


@dataclass(frozen=True)
class MX:
    preference: int
    host: str  # without the trailing dot; "" for the null MX's "."


@dataclass(frozen=True)
class SRV:
    priority: int
    weight: int
    port: int
    target: str


# A record as the resolver keeps it: TXT, CNAME and every other type as text, MX and SRV parsed.
Record: TypeAlias = str | MX | SRV
RecordT_co = TypeVar("RecordT_co", bound=Record, covariant=True)


@dataclass(frozen=True)
class Lookup(Generic[RecordT_co]):
    """One query's outcome: the records (TXT as str, MX, SRV, or text) or why there are none."""

    name: str
    rdtype: str
    records: tuple[RecordT_co, ...] = ()
    error: QueryError | None = None
    reason: str = ""

    @property
    def answered(self) -> bool:
        return self.error is None

    @property
    def name_exists(self) -> bool:
        return self.error in (None, QueryError.NO_ANSWER)

    @property
    def failed(self) -> bool:
        """The query could not say whether records exist (time-out, unreachable, SERVFAIL)."""
        return self.error not in (None, QueryError.NXDOMAIN, QueryError.NO_ANSWER)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.rdtype,
            "records": [
                record if isinstance(record, str) else vars(record) for record in self.records
            ],
            "error": str(self.error) if self.error else None,
        }


@dataclass(frozen=True)
class SmtpProbe:
    """What one MX host said on the SMTP port; tls_version like "TLSv1.3" when negotiated."""

    host: str
    address: str = ""
    reachable: bool = False
    starttls_offered: bool = False
    tls_version: str = ""
    error: str = ""


@dataclass
class DomainRecords:
    """Everything the rules need about one domain, fetched once."""

    domain: str
    organisational_domain: str
    mx: Lookup[MX]
    txt: Lookup[str]
    dmarc: Lookup[str]
    # None when the domain is its own organisational domain.
    organisational_dmarc: Lookup[str] | None
    domainkey: Lookup[str]
    dkim_selectors: dict[str, Lookup[str]]
    mta_sts: Lookup[str]
    tls_rpt: Lookup[str]
    # DNSSEC is judged at the zone holding the domain (its apex may be a parent of the domain):
    # zone is the SOA query that found it, ds and dnskey are asked at zone_apex (None when the
    # zone was not found).
    zone: Lookup[str]
    zone_apex: str
    ds: Lookup[str] | None
    dnskey: Lookup[str] | None
    sip_federation: Lookup[SRV]
    spf_targets: dict[str, Lookup[str]] = field(default_factory=dict)  # include/redirect -> TXT
    smtp: list[SmtpProbe] | None = None  # None when the probe was skipped

    def lookups(self) -> list[Lookup[Record]]:
        """Every DNS query made, for deciding whether the resolver was reached at all."""
        found: list[Lookup[Record]] = [
            self.mx,
            self.txt,
            self.dmarc,
            self.domainkey,
            self.mta_sts,
            self.tls_rpt,
            self.zone,
            self.sip_federation,
            *self.dkim_selectors.values(),
            *self.spf_targets.values(),
        ]
        optional = (self.organisational_dmarc, self.ds, self.dnskey)
        return found + [lookup for lookup in optional if lookup is not None]

    @property
    def resolver_reached(self) -> bool:
        return any(lookup.error not in NOT_REACHED for lookup in self.lookups())
