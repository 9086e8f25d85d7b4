"""The only code that talks to DNS or SMTP: fetch a domain's records, probe its MX for STARTTLS.

Returns plain data (records.py); rules/ judges it. Every query has a timeout and every domain a
deadline, so a silent server gives time-out results, never a hang.
"""

import asyncio
import contextlib
import ipaddress
import ssl
import time
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rdata
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.SRV
import dns.resolver
from publicsuffixlist import PublicSuffixList

from .records import MX, SRV, DomainRecords, Lookup, QueryError, Record, SmtpProbe
from .rules.spf import spf_targets_of

DEFAULT_DNS_PORT = 53
# The name we greet MX hosts with. A fixed name: looking up our own FQDN would ask the system
# resolver, which tests must never reach.
EHLO_NAME = "federation-check.invalid"
DKIM_SELECTORS = ("selector1", "selector2")  # the two Microsoft 365 publishes for every domain


class NameserverError(ValueError):
    """A DNS_NAMESERVERS / --nameserver entry that is not host[:port] with an IP address."""


def parse_nameserver(entry: str) -> tuple[str, int]:
    """'192.0.2.1', '192.0.2.1:5353', '::1' or '[::1]:5353' -> (address, port)."""
    text = entry.strip()
    host, port = text, DEFAULT_DNS_PORT
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise NameserverError(f"“{entry}” is not [IPv6 address]:port")
        port_text = rest[1:] if rest else str(DEFAULT_DNS_PORT)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:  # no colon, or a bare IPv6 address
        port_text = str(DEFAULT_DNS_PORT)
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError as error:
        # dnspython needs addresses: resolving a nameserver's name would need another resolver.
        raise NameserverError(f"“{entry}” does not name an IP address") from error
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise NameserverError(f"“{entry}” has no valid port")
    port = int(port_text)
    return address, port


class DnsClient:
    """dnspython's async resolver, and whether its servers refuse us (asked once, on need)."""

    def __init__(self, resolver: dns.asyncresolver.Resolver, servers: list[tuple[str, int]]):
        self.resolver = resolver
        self.servers = servers
        self._refused: asyncio.Future[bool] | None = None

    async def servers_refuse(self, wait: float) -> bool:
        """True when every server refuses connections (nothing listens on its port)."""
        if self._refused is None:
            self._refused = asyncio.ensure_future(_all_refuse(self.servers, wait))
        return await asyncio.shield(self._refused)


async def _refused(address: str, port: int, wait: float) -> bool:
    # dnspython's unconnected UDP sockets never hear the ICMP "port unreachable", so a closed port
    # looks like a silent server. A TCP connect tells them apart (every DNS server takes TCP,
    # RFC 7766); asked only after a time-out, it cannot slow a server that answers.
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), wait)
    except (ConnectionRefusedError, OSError) as error:
        return not isinstance(error, TimeoutError)
    except TimeoutError:
        return False
    writer.close()
    return False


async def _all_refuse(servers: list[tuple[str, int]], wait: float) -> bool:
    results = await asyncio.gather(*(_refused(a, p, wait) for a, p in servers))
    return bool(results) and all(results)


def make_resolver(nameservers: list[str], *, query_timeout: float) -> DnsClient:
    """A client on the given host[:port] entries; the system's resolv.conf when empty."""
    resolver = dns.asyncresolver.Resolver(configure=False)
    if nameservers:
        servers = [parse_nameserver(entry) for entry in nameservers]
        resolver.nameservers = [dns.nameserver.Do53Nameserver(a, p) for a, p in servers]
    else:
        resolver.read_resolv_conf("/etc/resolv.conf")
        servers = [
            (ns, resolver.port)
            if isinstance(ns, str)
            else (ns.answer_nameserver(), ns.answer_port())
            for ns in resolver.nameservers
        ]
    resolver.timeout = query_timeout
    resolver.lifetime = query_timeout
    resolver.cache = None  # each run sees the zone as it is now
    return DnsClient(resolver, servers)


class DomainDeadline:
    """A domain's remaining time; each query gets the smaller of its timeout and what is left."""

    def __init__(self, seconds: float):
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())


def _text(rdata: dns.rdata.Rdata) -> Record:
    # Each class stands for its rdtype alone (SPF's is a sibling of TXT's, not a subclass).
    if isinstance(rdata, dns.rdtypes.ANY.TXT.TXT):
        # One TXT record may be split into strings of 255 bytes: RFC 7208 3.3 joins them as is.
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if isinstance(rdata, dns.rdtypes.ANY.MX.MX):
        # RFC 7505's null MX is "0 .": kept as an empty host name.
        host = "" if rdata.exchange == dns.name.root else rdata.exchange.to_text(True)
        return MX(rdata.preference, host)
    if isinstance(rdata, dns.rdtypes.IN.SRV.SRV):
        return SRV(rdata.priority, rdata.weight, rdata.port, rdata.target.to_text(True))
    if isinstance(rdata, dns.rdtypes.ANY.CNAME.CNAME):
        return rdata.target.to_text(omit_final_dot=True)
    return rdata.to_text()


def _classify(error: dns.resolver.NoNameservers) -> QueryError:
    """Tell a resolver that answered badly (SERVFAIL, REFUSED) from one we could not talk to."""
    errors = error.kwargs.get("errors") or []
    if errors and all(isinstance(entry[3], OSError | EOFError) for entry in errors):
        return QueryError.UNREACHABLE
    return QueryError.SERVER_FAILURE


# A Lookup's record type follows the rdtype asked (MX, SRV, else text), which only the caller
# knows: the two functions below return Lookup[Any] for it to name (Lookup[MX], Lookup[str]).


async def _ask(
    client: DnsClient, name: str, rdtype: str, deadline: DomainDeadline
) -> tuple[Lookup[Any], dns.message.Message | None]:
    """One query as a Lookup, with the response it came from when there was one."""
    lifetime = min(client.resolver.lifetime, deadline.remaining())
    if lifetime <= 0:
        reason = "the domain's deadline passed"
        return Lookup(name, rdtype, error=QueryError.TIMEOUT, reason=reason), None
    try:
        answer = await client.resolver.resolve(
            name.rstrip(".") + ".", rdtype, search=False, lifetime=lifetime
        )
    except dns.resolver.NXDOMAIN as error:
        responses = list(error.responses().values())
        return Lookup(name, rdtype, error=QueryError.NXDOMAIN), responses[-1] if responses else None
    except dns.resolver.NoAnswer as error:
        return Lookup(name, rdtype, error=QueryError.NO_ANSWER), error.response()
    except dns.exception.Timeout:
        if await client.servers_refuse(wait=min(1.0, max(0.1, deadline.remaining()))):
            reason = "connection refused"
            return Lookup(name, rdtype, error=QueryError.UNREACHABLE, reason=reason), None
        reason = f"no reply in {lifetime:.1f} s"
        return Lookup(name, rdtype, error=QueryError.TIMEOUT, reason=reason), None
    except dns.resolver.NoNameservers as error:
        return Lookup(name, rdtype, error=_classify(error), reason=str(error)), None
    except (OSError, dns.exception.DNSException) as error:
        return Lookup(name, rdtype, error=QueryError.UNREACHABLE, reason=str(error)), None
    return Lookup(name, rdtype, records=tuple(_text(rdata) for rdata in answer)), answer.response


async def query(client: DnsClient, name: str, rdtype: str, deadline: DomainDeadline) -> Lookup[Any]:
    """One query, its failure kept as data: NXDOMAIN, no answer, time-out, unreachable."""
    lookup, _ = await _ask(client, name, rdtype, deadline)
    return lookup


_public_suffixes = PublicSuffixList()  # ships inside the package: no network at run time


def organisational_domain(domain: str) -> str:
    """RFC 7489 3.2: the registrable domain (one label below the public suffix)."""
    return _public_suffixes.privatesuffix(domain) or domain


def _soa_owner(response: dns.message.Message, name: dns.name.Name) -> dns.name.Name | None:
    """The owner of the SOA that says where name's zone starts, if the response has one.

    In the answer section it is name's own SOA (name is a zone apex); in the authority section of
    a negative answer it heads the zone holding name (RFC 2308 3). After a CNAME or DNAME the SOA
    is that of the chain's end, which says nothing about name.
    """
    aliases = (dns.rdatatype.CNAME, dns.rdatatype.DNAME)
    if any(rrset.rdtype in aliases for rrset in response.answer):
        return None
    for rrset in (*response.answer, *response.authority):
        if rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(rrset.name):
            return rrset.name
    return None


async def find_zone(
    client: DnsClient, domain: str, organisational: str, deadline: DomainDeadline
) -> tuple[str, Lookup[str]]:
    """The apex of the zone holding domain, and the last SOA query asked to find it.

    SOA is asked at domain, then at each parent while no SOA in the answer says where its zone
    starts. Never above the organisational domain: a name its registry has not delegated (it does
    not exist) is not covered by the signature of the public suffix's zone.
    """
    top = dns.name.from_text(organisational)
    name = dns.name.from_text(domain)
    while True:
        lookup, response = await _ask(client, name.to_text(True), "SOA", deadline)
        if lookup.failed:
            return domain, lookup
        owner = _soa_owner(response, name) if response is not None else None
        if owner is not None or name == top or not name.is_subdomain(top):
            break
        name = name.parent()
    apex = owner if owner is not None and owner.is_subdomain(top) else top
    return apex.to_text(omit_final_dot=True), lookup


async def _dnssec_lookups(
    client: DnsClient, domain: str, organisational: str, deadline: DomainDeadline
) -> tuple[str, Lookup[str], Lookup[str] | None, Lookup[str] | None]:
    """(zone apex, SOA lookup, DS, DNSKEY): DNSKEY at the apex, DS there (from its parent)."""
    apex, zone = await find_zone(client, domain, organisational, deadline)
    if zone.failed:
        return apex, zone, None, None
    ds, dnskey = await asyncio.gather(
        query(client, apex, "DS", deadline),  # answered by the parent zone's servers
        query(client, apex, "DNSKEY", deadline),
    )
    return apex, zone, ds, dnskey


# RFC 7208 4.6.4: at most 10 DNS-querying terms. Fetching one target past the limit is enough to
# show it was exceeded; the rules do the counting.
SPF_FETCH_BUDGET = 11


async def _spf_targets(
    client: DnsClient, txt: Lookup[str], deadline: DomainDeadline
) -> dict[str, Lookup[str]]:
    """The TXT of every include/redirect target, followed level by level within the budget."""
    fetched: dict[str, Lookup[str]] = {}
    pending = spf_targets_of(txt.records)
    while pending and len(fetched) < SPF_FETCH_BUDGET:
        wanted = [name for name in dict.fromkeys(pending) if name not in fetched]
        wanted = wanted[: SPF_FETCH_BUDGET - len(fetched)]
        lookups = await asyncio.gather(*(query(client, n, "TXT", deadline) for n in wanted))
        fetched.update(zip(wanted, lookups, strict=True))
        pending = [t for lookup in lookups for t in spf_targets_of(lookup.records)]
    return fetched


async def fetch_records(client: DnsClient, domain: str, deadline: DomainDeadline) -> DomainRecords:
    """Every record the rules need, queried concurrently."""
    organisational = organisational_domain(domain)
    names = {
        "mx": (domain, "MX"),
        "txt": (domain, "TXT"),
        "dmarc": (f"_dmarc.{domain}", "TXT"),
        "domainkey": (f"_domainkey.{domain}", "TXT"),
        "mta_sts": (f"_mta-sts.{domain}", "TXT"),
        "tls_rpt": (f"_smtp._tls.{domain}", "TXT"),
        "sip_federation": (f"_sipfederationtls._tcp.{domain}", "SRV"),
        **{s: (f"{s}._domainkey.{domain}", "CNAME") for s in DKIM_SELECTORS},
    }
    if organisational != domain:
        names["organisational_dmarc"] = (f"_dmarc.{organisational}", "TXT")
    (apex, zone, ds, dnskey), *lookups = await asyncio.gather(
        _dnssec_lookups(client, domain, organisational, deadline),
        *(query(client, name, rdtype, deadline) for name, rdtype in names.values()),
    )
    found = dict(zip(names, lookups, strict=True))
    return DomainRecords(
        domain=domain,
        organisational_domain=organisational,
        mx=found["mx"],
        txt=found["txt"],
        dmarc=found["dmarc"],
        organisational_dmarc=found.get("organisational_dmarc"),
        domainkey=found["domainkey"],
        dkim_selectors={s: found[s] for s in DKIM_SELECTORS},
        mta_sts=found["mta_sts"],
        tls_rpt=found["tls_rpt"],
        zone=zone,
        zone_apex=apex,
        ds=ds,
        dnskey=dnskey,
        sip_federation=found["sip_federation"],
        spf_targets=await _spf_targets(client, found["txt"], deadline),
    )


# SMTP: the STARTTLS probe.


def _probe_tls_context() -> ssl.SSLContext:
    """A client context that accepts any certificate and any TLS version OpenSSL still speaks.

    The probe measures which protocol version the MX agrees, not who it is: certificate checks
    are off on purpose (MX certificates rarely match, and RFC 7672/MTA-STS judge them elsewhere),
    and old versions are allowed so that an MX stuck on TLS 1.0 is reported as such, not as a
    failed handshake.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # noqa: S503 - measuring the protocol, see above
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with contextlib.suppress(ssl.SSLError):  # TLS 1.0/1.1 need SHA-1 suites at level 0
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


async def _read_reply(reader: asyncio.StreamReader) -> tuple[int, list[str]]:
    """One SMTP reply (RFC 5321 4.2: continuation lines have '-' after the code)."""
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        text = line.decode("latin-1").rstrip("\r\n")
        lines.append(text[4:])
        if len(text) < 4 or text[3] != "-":
            return int(text[:3]) if text[:3].isdigit() else 0, lines


async def _smtp_starttls(host: str, address: str, port: int) -> SmtpProbe:
    reader, writer = await asyncio.open_connection(address, port)
    try:
        code, _ = await _read_reply(reader)
        if code != 220:
            return SmtpProbe(host, address, True, error=f"greeting {code}")
        writer.write(f"EHLO {EHLO_NAME}\r\n".encode())
        code, extensions = await _read_reply(reader)
        offered = code == 250 and any(e.upper().split()[:1] == ["STARTTLS"] for e in extensions)
        if not offered:
            return SmtpProbe(host, address, True, starttls_offered=False)
        writer.write(b"STARTTLS\r\n")
        code, _ = await _read_reply(reader)
        if code != 220:
            return SmtpProbe(host, address, True, True, error=f"STARTTLS answered {code}")
        try:
            await writer.start_tls(_probe_tls_context(), server_hostname=host or None)
        except (ssl.SSLError, OSError) as error:
            return SmtpProbe(host, address, True, True, error=f"TLS handshake failed: {error}")
        version = writer.get_extra_info("ssl_object").version() or ""
        writer.write(b"QUIT\r\n")
        return SmtpProbe(host, address, True, True, tls_version=version)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1)


async def probe_mx(
    client: DnsClient, host: str, port: int, deadline: DomainDeadline, *, timeout: float
) -> SmtpProbe:
    """EHLO and STARTTLS on the first address of host that accepts a connection."""
    a, aaaa = await asyncio.gather(
        query(client, host, "A", deadline), query(client, host, "AAAA", deadline)
    )
    addresses = [*a.records, *aaaa.records]
    if not addresses:
        return SmtpProbe(host, error=f"no address for {host} ({a.error}, {aaaa.error})")
    last = SmtpProbe(host)
    for address in addresses:
        budget = min(timeout, deadline.remaining())
        if budget <= 0:
            return SmtpProbe(host, address, error="the domain's deadline passed")
        try:
            async with asyncio.timeout(budget):
                return await _smtp_starttls(host, address, port)
        except TimeoutError:
            last = SmtpProbe(host, address, error=f"no reply in {budget:.1f} s")
        except (OSError, ConnectionError, ValueError) as error:
            last = SmtpProbe(host, address, error=str(error) or type(error).__name__)
    return last


async def probe_smtp(
    client: DnsClient, mx: Lookup[MX], port: int, deadline: DomainDeadline, *, timeout: float
) -> list[SmtpProbe]:
    """Probe every MX host (the null MX's "." excluded) concurrently."""
    hosts = list(dict.fromkeys(record.host for record in mx.records if record.host))
    return list(
        await asyncio.gather(*(probe_mx(client, h, port, deadline, timeout=timeout) for h in hosts))
    )
