"""The engine end to end: NSD's test zones, one row of the check table at a time."""

import asyncio
import ssl

import pytest

from requests_app.checks.engine import check_domains, check_domains_sync
from requests_app.checks.results import Status

NO_SMTP = frozenset({"starttls"})


def check(domain: str, nameserver: str, **options):
    options.setdefault("skip", NO_SMTP)
    (report,) = check_domains_sync([domain], nameservers=[nameserver], **options)
    return report, {result.id: result for result in report.checks}


@pytest.mark.parametrize(
    "domain, check_id, status",
    [
        ("nullmx.test", "mx", Status.FAIL),
        ("nomx.test", "mx", Status.FAIL),
        ("missing.test", "mx", Status.FAIL),
        ("spf-plusall.test", "spf", Status.FAIL),
        ("spf-query.test", "spf", Status.FAIL),
        ("spf-noall.test", "spf", Status.FAIL),
        ("spf-several.test", "spf", Status.FAIL),
        ("spf-toomany.test", "spf", Status.FAIL),
        ("spf-ten.test", "spf", Status.PASS),
        ("spf-redirect.test", "spf", Status.PASS),
        ("dmarc-quarantine.test", "dmarc", Status.WARN),
        ("dmarc-pct.test", "dmarc", Status.WARN),
        ("dmarc-norua.test", "dmarc", Status.WARN),
        ("dmarc-none.test", "dmarc", Status.FAIL),
        ("dmarc-missing.test", "dmarc", Status.FAIL),
        ("dmarc-several.test", "dmarc", Status.FAIL),
        ("mail.orgsp.test", "dmarc", Status.FAIL),
        ("sub.pass.test", "dmarc", Status.PASS),
        ("dkim-keys.test", "dkim", Status.PASS),
        ("nomx.test", "dkim", Status.WARN),
        ("nomx.test", "mta_sts", Status.INFO),
        ("nomx.test", "tls_rpt", Status.INFO),
        ("signed.test", "dnssec", Status.PASS),
        ("mail.signed.test", "dnssec", Status.PASS),
        ("mail.unsigned.test", "dnssec", Status.INFO),
        ("unsigned.test", "dnssec", Status.INFO),
        ("nomx.test", "teams_federation", Status.WARN),
        ("teams-other.test", "teams_federation", Status.WARN),
    ],
)
def test_each_row_of_the_table_on_nsd(nameserver, domain, check_id, status):
    _, results = check(domain, nameserver)
    assert results[check_id].status is status, results[check_id].summary


def test_dnssec_of_a_name_inside_a_signed_zone_names_the_zone(nameserver):
    _, results = check("mail.signed.test", nameserver)
    dnssec = results["dnssec"]
    assert dnssec.details["zone"] == "signed.test"
    assert dnssec.details["ds"] and dnssec.details["dnskey_count"] == 2
    assert dnssec.summary.startswith("mail.signed.test, in the zone signed.test, is signed")


def test_dnssec_of_a_name_inside_an_unsigned_zone_names_the_zone(nameserver):
    _, results = check("mail.unsigned.test", nameserver)
    dnssec = results["dnssec"]
    assert dnssec.details == {"zone": "unsigned.test", "ds": [], "dnskey_count": 0}
    assert "not signed" in dnssec.summary


def test_a_passing_domain(nameserver):
    report, results = check("pass.test", nameserver)
    assert report.verdict is Status.PASS
    assert {r.status for r in results.values()} == {Status.PASS, Status.INFO}
    assert results["spf"].details["lookups"] == 2


def test_spf_over_the_limit_counts_through_nsd(nameserver):
    _, results = check("spf-toomany.test", nameserver)
    assert results["spf"].details["lookups"] == 12


def test_microsoft_365_signs_on_nsd(nameserver):
    _, results = check("m365.test", nameserver)
    assert results["microsoft365"].details["signs"] == ["mx", "spf_include", "ms_txt"]
    assert results["spf"].status is Status.PASS  # the include was followed on loopback


def test_an_ineligible_domain_fails_without_a_query(closed_port):
    (report,) = check_domains_sync(["nhs.net"], nameservers=[f"127.0.0.1:{closed_port}"])
    assert report.verdict is Status.FAIL
    assert [r.id for r in report.checks] == ["eligibility"]


def test_skip_leaves_checks_out(nameserver):
    _, results = check("pass.test", nameserver, skip=frozenset({"starttls", "dkim", "dnssec"}))
    assert "dkim" not in results and "dnssec" not in results and "mx" in results


def test_nameservers_come_from_settings(nameserver):
    (report,) = check_domains_sync(["pass.test"], skip=NO_SMTP)
    assert report.verdict is Status.PASS


def test_an_unreachable_resolver_makes_the_verdict_error(closed_port):
    (report,) = check_domains_sync(
        ["pass.test"], nameservers=[f"127.0.0.1:{closed_port}"], skip=NO_SMTP
    )
    assert report.verdict is Status.ERROR
    assert {r.status for r in report.checks if r.id != "eligibility"} <= {
        Status.ERROR,
        Status.INFO,
    }
    assert "unreachable" in report.checks[1].summary


@pytest.mark.parametrize("rcode", ["SERVFAIL", "REFUSED"])
def test_a_resolver_answering_every_query_with_an_error_is_never_a_pass(rcode, rcode_dns_server):
    # Issue 11: with every query answered SERVFAIL (or REFUSED) both domains' verdict was pass.
    import dns.rcode

    port = rcode_dns_server(dns.rcode.from_text(rcode))
    reports = check_domains_sync(
        ["pass.test", "nomx.test"], nameservers=[f"127.0.0.1:{port}"], skip=NO_SMTP
    )

    for report in reports:
        assert report.verdict is Status.ERROR, report.domain
        results = {r.id: r for r in report.checks}
        assert results["mx"].status is Status.ERROR
        assert "server_failure" in results["mx"].summary
        assert Status.PASS not in {r.status for r in report.checks if r.id != "eligibility"}


def test_nsd_refusing_a_zone_it_does_not_serve_is_never_a_pass(nameserver):
    # NSD answers REFUSED for names outside its zones: the checks could not be made.
    report, results = check("not-served.org.uk", nameserver)

    assert report.verdict is Status.ERROR
    assert results["mx"].status is Status.ERROR
    assert "server_failure" in results["mx"].summary


def test_a_silent_resolver_gives_time_out_results_within_the_deadline(settings, silent_dns_port):
    settings.DNS_QUERY_TIMEOUT = 0.5
    settings.DNS_DOMAIN_DEADLINE = 1.5
    # The wait_for is a guard against a hang, not a timing assertion.
    reports = asyncio.run(
        asyncio.wait_for(
            check_domains(
                ["pass.test", "nomx.test"],
                nameservers=[f"127.0.0.1:{silent_dns_port}"],
                skip=NO_SMTP,
            ),
            15,
        )
    )
    for report in reports:
        mx = next(r for r in report.checks if r.id == "mx")
        assert mx.status is Status.ERROR
        assert "timeout" in mx.summary
        assert report.verdict is Status.ERROR


def test_many_domains_keep_their_order(nameserver):
    domains = ["pass.test", "nomx.test", "nhs.net", "signed.test"] * 5
    reports = check_domains_sync(domains, nameservers=[nameserver], skip=NO_SMTP)
    assert [r.domain for r in reports] == domains


# STARTTLS through the engine: mailhost.test's MX is 127.0.0.1, on each test's own port.


def starttls(nameserver, port):
    _, results = check("mailhost.test", nameserver, skip=frozenset(), smtp_port=port)
    return results["starttls"]


def test_starttls_passes_with_tls_1_3(nameserver, smtp_server):
    result = starttls(nameserver, smtp_server())
    assert result.status is Status.PASS
    assert result.details["servers"][0]["tls_version"] == "TLSv1.3"


def test_starttls_passes_with_tls_1_2(nameserver, smtp_server):
    port = smtp_server(tls_range=(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2))
    assert starttls(nameserver, port).status is Status.PASS


def test_starttls_fails_without_starttls(nameserver, smtp_server):
    result = starttls(nameserver, smtp_server(starttls=False))
    assert result.status is Status.FAIL
    assert "does not offer STARTTLS" in result.summary


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_starttls_fails_tls_below_1_2(nameserver, smtp_server, version):
    result = starttls(nameserver, smtp_server(tls_range=(ssl.TLSVersion.TLSv1, version)))
    assert result.status is Status.FAIL
    assert "no TLS 1.2 or 1.3" in result.summary


def test_starttls_warns_when_the_mx_cannot_be_reached(nameserver, closed_port):
    result = starttls(nameserver, closed_port)
    assert result.status is Status.WARN
    assert "mx.mailhost.test" in result.summary
