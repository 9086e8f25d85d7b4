"""The resolver against a real NSD and real SMTP servers on loopback."""

import asyncio
import ssl

import pytest

from requests_app.checks import resolver
from requests_app.checks.records import MX, DomainRecords, Lookup, QueryError, SmtpProbe
from requests_app.checks.resolver import NameserverError


def fetch(nameserver: str, domain: str, *, deadline: float = 10.0) -> DomainRecords:
    async def run():
        dns = resolver.make_resolver([nameserver], query_timeout=2.0)
        return await resolver.fetch_records(dns, domain, resolver.DomainDeadline(deadline))

    return asyncio.run(run())


def lookup(nameserver: str, name: str, rdtype: str, *, timeout: float = 2.0) -> Lookup:
    async def run():
        dns = resolver.make_resolver([nameserver], query_timeout=timeout)
        return await resolver.query(dns, name, rdtype, resolver.DomainDeadline(10))

    return asyncio.run(asyncio.wait_for(run(), 10))


@pytest.mark.parametrize(
    "entry, expected",
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[2001:db8::1]", ("2001:db8::1", 53)),
    ],
)
def test_parse_nameserver(entry, expected):
    assert resolver.parse_nameserver(entry) == expected


@pytest.mark.parametrize(
    "entry", ["dns.example", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:x", "[::1", "[::1]5"]
)
def test_parse_nameserver_refuses_what_is_not_an_address_and_port(entry):
    with pytest.raises(NameserverError):
        resolver.parse_nameserver(entry)


def test_records_of_a_passing_domain(nameserver):
    records = fetch(nameserver, "pass.test")
    assert records.mx.records == (MX(10, "mx.pass.test"),)
    assert "v=spf1 include:_spf.pass.test mx -all" in records.txt.records
    assert records.dmarc.records == ("v=DMARC1; p=reject; rua=mailto:dmarc@pass.test",)
    assert records.organisational_dmarc is None  # pass.test is its own organisational domain
    assert records.dkim_selectors["selector1"].records == (
        "selector1-pass-test._domainkey.pass.onmicrosoft.com",
    )
    assert records.mta_sts.records == ("v=STSv1; id=20240101T000000",)
    assert records.tls_rpt.records[0].startswith("v=TLSRPTv1")
    assert records.sip_federation.records[0].target == "sipfed.online.lync.com"
    assert records.spf_targets["_spf.pass.test"].records == ("v=spf1 ip4:192.0.2.0/24 -all",)
    assert records.ds.error is QueryError.NO_ANSWER
    assert records.zone_apex == "pass.test"  # its own organisational domain, though in test.
    assert records.resolver_reached


def test_null_mx_is_kept_as_an_empty_host(nameserver):
    assert fetch(nameserver, "nullmx.test").mx.records == (MX(0, ""),)


def test_error_kinds_are_kept_apart(nameserver, closed_port):
    assert lookup(nameserver, "missing.test", "MX").error is QueryError.NXDOMAIN
    assert lookup(nameserver, "nomx.test", "MX").error is QueryError.NO_ANSWER
    # NSD refuses names outside its zones: the server answered, but with an error.
    assert lookup(nameserver, "example.com", "MX").error is QueryError.SERVER_FAILURE
    assert lookup(f"127.0.0.1:{closed_port}", "pass.test", "MX").error is QueryError.UNREACHABLE


def test_a_silent_resolver_gives_a_timeout(silent_dns_port):
    result = lookup(f"127.0.0.1:{silent_dns_port}", "pass.test", "MX", timeout=0.5)
    assert result.error is QueryError.TIMEOUT


def test_domainkey_exists_as_an_empty_non_terminal(nameserver):
    assert fetch(nameserver, "dkim-keys.test").domainkey.name_exists
    assert not fetch(nameserver, "nomx.test").domainkey.name_exists


def test_a_subdomain_also_fetches_the_organisational_dmarc(nameserver):
    records = fetch(nameserver, "mail.orgsp.test")
    assert records.organisational_domain == "orgsp.test"
    assert records.dmarc.error is QueryError.NXDOMAIN
    assert records.organisational_dmarc.records[0].startswith("v=DMARC1; p=reject; sp=none")


def test_spf_includes_are_followed_recursively(nameserver):
    records = fetch(nameserver, "spf-toomany.test")
    assert sorted(records.spf_targets) == sorted(
        [f"a{n}.spf-toomany.test" for n in range(1, 5)]
        + [f"b{n}.spf-toomany.test" for n in range(1, 5)]
    )


def test_spf_following_stops_at_the_budget(nameserver):
    records = fetch(nameserver, "spf-toomany.test")
    assert len(records.spf_targets) <= resolver.SPF_FETCH_BUDGET
    looped = asyncio.run(
        resolver._spf_targets(
            resolver.make_resolver([nameserver], query_timeout=2.0),
            Lookup("x", "TXT", ("v=spf1 " + " ".join(f"include:i{n}.test" for n in range(20)),)),
            resolver.DomainDeadline(10),
        )
    )
    assert len(looped) == resolver.SPF_FETCH_BUDGET


def test_a_signed_zone_has_ds_at_the_parent_and_dnskey(nameserver):
    records = fetch(nameserver, "signed.test")
    assert records.ds.records and records.dnskey.records
    assert records.ds.records[0].split()[1] == "13"  # ECDSAP256SHA256


def test_a_zone_apex_is_its_own_zone(nameserver):
    records = fetch(nameserver, "signed.test")
    assert records.zone_apex == "signed.test"
    assert records.zone.records[0].startswith("ns.test. hostmaster.test.")


def test_a_name_inside_a_signed_zone_gets_ds_and_dnskey_of_its_zone(nameserver):
    records = fetch(nameserver, "mail.signed.test")
    assert records.zone_apex == "signed.test"
    assert records.ds.name == records.dnskey.name == "signed.test"
    assert records.ds.records and records.dnskey.records
    assert records.zone.error is QueryError.NO_ANSWER  # mail.signed.test has no SOA of its own


def test_a_name_that_does_not_exist_is_found_in_its_zone(nameserver):
    records = fetch(nameserver, "nowhere.mail.signed.test")
    assert records.zone.error is QueryError.NXDOMAIN
    assert records.zone_apex == "signed.test"


def test_a_cname_out_of_the_zone_is_judged_in_the_zone_holding_the_cname(nameserver):
    records = fetch(nameserver, "alias.signed.test")
    assert records.zone.name == "signed.test"  # asked again one level up
    assert records.zone_apex == "signed.test"
    assert records.dnskey.records


def test_a_name_inside_an_unsigned_zone_gets_its_zone(nameserver):
    records = fetch(nameserver, "mail.unsigned.test")
    assert records.zone_apex == "unsigned.test"
    assert records.ds.error is QueryError.NO_ANSWER
    assert records.dnskey.error is QueryError.NO_ANSWER


def test_the_zone_is_never_above_the_organisational_domain(nameserver):
    # mail.orgsp.test lives in the zone test., whose signature (were it signed) would say
    # nothing about orgsp.test's owner: it is judged at orgsp.test.
    records = fetch(nameserver, "mail.orgsp.test")
    assert records.zone_apex == "orgsp.test"
    assert records.dnskey.name == "orgsp.test"


def test_an_unreachable_resolver_is_not_reached(closed_port):
    records = fetch(f"127.0.0.1:{closed_port}", "pass.test")
    assert {lookup.error for lookup in records.lookups()} == {QueryError.UNREACHABLE}
    assert not records.resolver_reached


def test_a_domain_deadline_bounds_a_silent_resolver(silent_dns_port):
    async def run():
        dns = resolver.make_resolver([f"127.0.0.1:{silent_dns_port}"], query_timeout=5.0)
        deadline = resolver.DomainDeadline(0.5)
        return await asyncio.wait_for(resolver.fetch_records(dns, "pass.test", deadline), 10)

    records = asyncio.run(run())
    assert {lookup.error for lookup in records.lookups()} == {QueryError.TIMEOUT}
    assert not records.resolver_reached


# The STARTTLS probe


def probe(nameserver: str, port: int, host: str = "mx.mailhost.test") -> SmtpProbe:
    async def run():
        dns = resolver.make_resolver([nameserver], query_timeout=2.0)
        deadline = resolver.DomainDeadline(10)
        return await resolver.probe_mx(dns, host, port, deadline, timeout=2.0)

    return asyncio.run(asyncio.wait_for(run(), 15))


def test_probe_records_tls_1_3(nameserver, smtp_server):
    result = probe(nameserver, smtp_server())
    assert (result.starttls_offered, result.tls_version) == (True, "TLSv1.3")
    assert result.address == "127.0.0.1"


@pytest.mark.parametrize(
    "version, seen",
    [
        (ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
        (ssl.TLSVersion.TLSv1_1, "TLSv1.1"),
        (ssl.TLSVersion.TLSv1, "TLSv1"),
    ],
)
def test_probe_records_the_version_the_server_allows(nameserver, smtp_server, version, seen):
    port = smtp_server(tls_range=(ssl.TLSVersion.TLSv1, version))
    assert probe(nameserver, port).tls_version == seen


def test_probe_sees_no_starttls(nameserver, smtp_server):
    result = probe(nameserver, smtp_server(starttls=False))
    assert result.reachable and not result.starttls_offered


def test_probe_of_a_closed_port_is_unreachable(nameserver, closed_port):
    result = probe(nameserver, closed_port)
    assert not result.reachable
    assert result.error


def test_probe_of_a_server_that_never_greets_times_out(nameserver, silent_smtp_port):
    result = probe(nameserver, silent_smtp_port)
    assert not result.reachable
    assert "no reply" in result.error


def test_probe_of_a_host_without_address(nameserver, closed_port):
    result = probe(nameserver, closed_port, host="mx.noaddr.test")
    assert not result.reachable
    assert "no address" in result.error
