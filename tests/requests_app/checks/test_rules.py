"""Every row and status of the check table (issue 3), on records built by hand."""

import pytest

from requests_app.checks import rules
from requests_app.checks.records import MX, SRV, DomainRecords, Lookup, QueryError, SmtpProbe
from requests_app.checks.results import Status

DOMAIN = "example.org.uk"


def found(name, rdtype, *records):
    return Lookup(name, rdtype, tuple(records))


def absent(name, rdtype, error=QueryError.NO_ANSWER):
    return Lookup(name, rdtype, error=error)


def good_records(**changes) -> DomainRecords:
    """A domain that passes every check; each test changes one thing."""
    values = {
        "domain": DOMAIN,
        "organisational_domain": DOMAIN,
        "mx": found(DOMAIN, "MX", MX(10, "mx1.example.org.uk"), MX(20, "mx2.example.org.uk")),
        "txt": found(DOMAIN, "TXT", "v=spf1 include:_spf.example.org.uk -all", "other=1"),
        "dmarc": found(
            f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=reject; rua=mailto:d@example.org.uk"
        ),
        "organisational_dmarc": None,
        "domainkey": absent(f"_domainkey.{DOMAIN}", "TXT"),
        "dkim_selectors": {
            "selector1": found("selector1._domainkey", "CNAME", "selector1-x.onmicrosoft.com"),
            "selector2": absent("selector2._domainkey", "CNAME", QueryError.NXDOMAIN),
        },
        "mta_sts": found(f"_mta-sts.{DOMAIN}", "TXT", "v=STSv1; id=1"),
        "tls_rpt": found(f"_smtp._tls.{DOMAIN}", "TXT", "v=TLSRPTv1; rua=mailto:t@x"),
        "zone": found(DOMAIN, "SOA", "ns1.example.org.uk. hostmaster.example.org.uk. 1 2 3 4 5"),
        "zone_apex": DOMAIN,
        "ds": found(DOMAIN, "DS", "12345 13 2 ABCDEF"),
        "dnskey": found(DOMAIN, "DNSKEY", "257 3 13 AAAA", "256 3 13 BBBB"),
        "sip_federation": found(
            "_sipfederationtls._tcp", "SRV", SRV(100, 1, 5061, "sipfed.online.lync.com")
        ),
        "spf_targets": {
            "_spf.example.org.uk": found("_spf", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
        },
        "smtp": [
            SmtpProbe("mx1.example.org.uk", "192.0.2.1", True, True, "TLSv1.3"),
            SmtpProbe("mx2.example.org.uk", "192.0.2.2", True, True, "TLSv1.2"),
        ],
    }
    values.update(changes)
    return DomainRecords(**values)


def test_a_good_domain_passes_every_judged_check():
    records = good_records()
    statuses = {check_id: rule(records).status for check_id, rule in rules.RECORD_RULES.items()}
    assert statuses == {
        "mx": Status.PASS,
        "spf": Status.PASS,
        "dmarc": Status.PASS,
        "dkim": Status.PASS,
        "mta_sts": Status.PASS,
        "tls_rpt": Status.PASS,
        "dnssec": Status.PASS,
        "microsoft365": Status.INFO,
        "teams_federation": Status.PASS,
        "starttls": Status.PASS,
    }


# eligibility


def test_eligibility_passes_a_valid_domain_and_gives_its_a_label():
    result = rules.eligibility(" Exämple.org.uk ")
    assert result.status is Status.PASS
    assert result.details["domain"] == "xn--exmple-cua.org.uk"


@pytest.mark.parametrize(
    "raw, words",
    [
        ("not a domain", "space"),
        ("co.uk", "public suffix"),
        ("nhs.net", "NHSmail"),
        ("team.nhs.net", "NHSmail"),
        ("*.example.org.uk", "wildcard"),
    ],
)
def test_eligibility_fails_what_the_request_form_refuses(raw, words):
    result = rules.eligibility(raw)
    assert result.status is Status.FAIL
    assert words in result.summary
    assert result.fix


# mx


def test_mx_fails_a_domain_that_does_not_exist():
    result = rules.mx(good_records(mx=absent(DOMAIN, "MX", QueryError.NXDOMAIN)))
    assert result.status is Status.FAIL
    assert "does not exist" in result.summary


def test_mx_fails_without_mx():
    result = rules.mx(good_records(mx=absent(DOMAIN, "MX")))
    assert result.status is Status.FAIL
    assert "no MX" in result.summary


def test_mx_fails_the_null_mx():
    result = rules.mx(good_records(mx=found(DOMAIN, "MX", MX(0, ""))))
    assert result.status is Status.FAIL
    assert result.details["null_mx"] is True


def test_mx_is_an_error_when_the_query_timed_out():
    result = rules.mx(good_records(mx=absent(DOMAIN, "MX", QueryError.TIMEOUT)))
    assert result.status is Status.ERROR
    assert "timeout" in result.summary


def test_mx_lists_the_hosts_by_preference():
    records = good_records(mx=found(DOMAIN, "MX", MX(20, "b.example"), MX(5, "a.example")))
    assert rules.mx(records).summary.endswith("a.example, b.example.")


# spf


def spf_records(*txt, targets=None):
    return good_records(txt=found(DOMAIN, "TXT", *txt), spf_targets=targets or {})


@pytest.mark.parametrize("ending", ["-all", "~all"])
def test_spf_passes_one_record_ending_fail_or_softfail(ending):
    result = rules.spf(spf_records(f"v=spf1 ip4:192.0.2.0/24 {ending}"))
    assert result.status is Status.PASS
    assert result.details["all"] == ending[0]


def test_spf_fails_without_a_record():
    result = rules.spf(spf_records("MS=ms1234"))
    assert result.status is Status.FAIL
    assert "include:spf.protection.outlook.com" in result.fix


def test_spf_fails_several_records():
    result = rules.spf(spf_records("v=spf1 -all", "v=spf1 ~all"))
    assert result.status is Status.FAIL
    assert "2 SPF records" in result.summary


@pytest.mark.parametrize("ending", ["+all", "all", "?all"])
def test_spf_fails_an_ending_that_lets_anyone_send(ending):
    result = rules.spf(spf_records(f"v=spf1 mx {ending}"))
    assert result.status is Status.FAIL
    assert "-all" in result.fix


def test_spf_fails_without_all_or_redirect():
    result = rules.spf(spf_records("v=spf1 ip4:192.0.2.1"))
    assert result.status is Status.FAIL
    assert "neither" in result.summary


def test_spf_follows_a_redirect_for_its_ending():
    targets = {"_spf.example": found("_spf.example", "TXT", "v=spf1 ip4:192.0.2.1 ?all")}
    result = rules.spf(spf_records("v=spf1 redirect=_spf.example", targets=targets))
    assert result.status is Status.FAIL
    assert result.details["all"] == "?"


def _includes(count: int, prefix: str) -> str:
    return " ".join(f"include:{prefix}{n}.example" for n in range(count))


def test_spf_passes_ten_lookups_and_fails_eleven_counted_through_includes():
    # RFC 7208 4.6.4: each include counts, and so does every a/mx inside the included record.
    targets = {f"i{n}.example": found(f"i{n}", "TXT", "v=spf1 a -all") for n in range(6)}
    ten = rules.spf(spf_records(f"v=spf1 {_includes(5, 'i')} -all", targets=targets))
    eleven = rules.spf(spf_records(f"v=spf1 {_includes(5, 'i')} mx -all", targets=targets))
    assert (ten.status, ten.details["lookups"]) == (Status.PASS, 10)
    assert (eleven.status, eleven.details["lookups"]) == (Status.FAIL, 11)
    assert "more than the limit of 10" in eleven.summary


def test_spf_counts_an_include_loop_only_up_to_the_limit():
    targets = {"loop.example": found("loop", "TXT", "v=spf1 include:loop.example -all")}
    result = rules.spf(spf_records("v=spf1 include:loop.example -all", targets=targets))
    assert result.status is Status.FAIL
    assert result.details["lookups"] == 11


def test_spf_notes_an_include_without_a_record():
    targets = {"gone.example": absent("gone.example", "TXT", QueryError.NXDOMAIN)}
    result = rules.spf(spf_records("v=spf1 include:gone.example -all", targets=targets))
    assert result.details["problems"] == ["gone.example has no single SPF record (nxdomain)"]


def test_spf_is_an_error_when_the_txt_query_failed():
    records = good_records(txt=absent(DOMAIN, "TXT", QueryError.UNREACHABLE))
    assert rules.spf(records).status is Status.ERROR


def test_spf_targets_of_reads_includes_and_redirect_but_not_macros():
    records = ["v=spf1 include:A.example. exists:%{i}.x redirect=b.example", "other"]
    assert rules.spf_targets_of(records) == ["a.example", "b.example"]


# dmarc


def dmarc_records(*txt, organisational=None, domain=DOMAIN):
    return good_records(
        domain=domain,
        organisational_domain=DOMAIN,
        dmarc=found(f"_dmarc.{domain}", "TXT", *txt) if txt else absent("_dmarc", "TXT"),
        organisational_dmarc=organisational,
    )


def test_dmarc_passes_reject_with_reports():
    assert rules.dmarc(dmarc_records("v=DMARC1; p=reject; rua=mailto:d@x")).status is Status.PASS


@pytest.mark.parametrize(
    "record, words",
    [
        ("v=DMARC1; p=quarantine; rua=mailto:d@x", "quarantine"),
        ("v=DMARC1; p=reject; pct=25; rua=mailto:d@x", "only 25%"),
        ("v=DMARC1; p=reject", "no rua"),
    ],
)
def test_dmarc_warns(record, words):
    result = rules.dmarc(dmarc_records(record))
    assert result.status is Status.WARN
    assert words in result.summary
    assert result.fix


@pytest.mark.parametrize("record", ["v=DMARC1; p=none; rua=mailto:d@x", "v=DMARC1; rua=mailto:d@x"])
def test_dmarc_fails_a_policy_weaker_than_quarantine(record):
    result = rules.dmarc(dmarc_records(record))
    assert result.status is Status.FAIL
    assert "DCB1596" in result.summary


def test_dmarc_fails_when_missing_everywhere():
    result = rules.dmarc(dmarc_records("v=spf1 -all"))
    assert result.status is Status.FAIL
    assert "no DMARC record" in result.summary


def test_dmarc_fails_several_records():
    result = rules.dmarc(dmarc_records("v=DMARC1; p=reject", "v=DMARC1; p=none"))
    assert result.status is Status.FAIL
    assert "2 DMARC records" in result.summary


def test_dmarc_subdomain_inherits_the_organisational_record():
    org = found(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=reject; rua=mailto:d@x")
    result = rules.dmarc(dmarc_records(organisational=org, domain=f"mail.{DOMAIN}"))
    assert result.status is Status.PASS
    assert result.details["found_at"] == f"_dmarc.{DOMAIN}"


def test_dmarc_fails_sp_none_covering_a_subdomain():
    org = found(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=reject; sp=none; rua=mailto:d@x")
    result = rules.dmarc(dmarc_records(organisational=org, domain=f"mail.{DOMAIN}"))
    assert result.status is Status.FAIL
    assert "sp=none" in result.summary


def test_dmarc_sp_none_does_not_apply_to_the_organisational_domain_itself():
    result = rules.dmarc(dmarc_records("v=DMARC1; p=reject; sp=none; rua=mailto:d@x"))
    assert result.status is Status.PASS


def test_dmarc_is_an_error_when_the_organisational_lookup_failed():
    org = absent(f"_dmarc.{DOMAIN}", "TXT", QueryError.TIMEOUT)
    result = rules.dmarc(dmarc_records(organisational=org, domain=f"mail.{DOMAIN}"))
    assert result.status is Status.ERROR


# dkim


def test_dkim_passes_when_domainkey_exists():
    result = rules.dkim(
        good_records(
            dkim_selectors={
                "selector1": absent("s1", "CNAME", QueryError.NXDOMAIN),
                "selector2": absent("s2", "CNAME", QueryError.NXDOMAIN),
            }
        )
    )
    assert result.status is Status.PASS
    assert result.details["domainkey_exists"] is True


def test_dkim_passes_on_the_microsoft_365_selectors():
    records = good_records(domainkey=absent("_domainkey", "TXT", QueryError.NXDOMAIN))
    result = rules.dkim(records)
    assert result.status is Status.PASS
    assert "selector1" in result.summary


def test_dkim_warns_when_nothing_is_conclusive():
    records = good_records(
        domainkey=absent("_domainkey", "TXT", QueryError.NXDOMAIN),
        dkim_selectors={"selector1": absent("s1", "CNAME"), "selector2": absent("s2", "CNAME")},
    )
    result = rules.dkim(records)
    assert result.status is Status.WARN
    assert "selector1 and selector2" in result.fix


# mta_sts, tls_rpt, dnssec


def test_mta_sts_absent_is_information():
    result = rules.mta_sts(good_records(mta_sts=absent("_mta-sts", "TXT", QueryError.NXDOMAIN)))
    assert result.status is Status.INFO
    assert "mta-sts.txt" in result.fix


def test_tls_rpt_absent_is_information():
    result = rules.tls_rpt(good_records(tls_rpt=found("_smtp._tls", "TXT", "v=spf1 -all")))
    assert result.status is Status.INFO


def test_dnssec_unsigned_is_information():
    result = rules.dnssec(good_records(ds=absent(DOMAIN, "DS"), dnskey=absent(DOMAIN, "DNSKEY")))
    assert result.status is Status.INFO
    assert "not signed" in result.summary


def test_dnssec_keys_without_ds_are_not_signed():
    result = rules.dnssec(good_records(ds=absent(DOMAIN, "DS")))
    assert result.status is Status.INFO
    assert "no DS" in result.summary


def signed_zone_subdomain(**changes) -> DomainRecords:
    """mail.example.org.uk: no zone of its own, a name inside the signed zone example.org.uk."""
    name = f"mail.{DOMAIN}"
    values = {
        "domain": name,
        "zone": absent(name, "SOA"),  # the SOA owner in the authority section is the apex
        "zone_apex": DOMAIN,
        "ds": found(DOMAIN, "DS", "12345 13 2 ABCDEF"),
        "dnskey": found(DOMAIN, "DNSKEY", "257 3 13 AAAA", "256 3 13 BBBB"),
    }
    return good_records(**{**values, **changes})


def test_dnssec_a_name_inside_a_signed_zone_is_signed():
    result = rules.dnssec(signed_zone_subdomain())
    assert result.status is Status.PASS
    assert result.summary == (
        f"mail.{DOMAIN}, in the zone {DOMAIN}, is signed with DNSSEC (DS and DNSKEY)."
    )
    assert result.details == {"zone": DOMAIN, "ds": ["12345 13 2 ABCDEF"], "dnskey_count": 2}


def test_dnssec_a_name_inside_an_unsigned_zone_is_not_signed():
    records = signed_zone_subdomain(ds=absent(DOMAIN, "DS"), dnskey=absent(DOMAIN, "DNSKEY"))
    result = rules.dnssec(records)
    assert result.status is Status.INFO
    assert result.summary.startswith(f"mail.{DOMAIN}, in the zone {DOMAIN}, is not signed")
    assert result.details["zone"] == DOMAIN
    assert DOMAIN in result.fix


def test_dnssec_is_an_error_when_the_zone_could_not_be_found():
    records = good_records(zone=absent(DOMAIN, "SOA", QueryError.TIMEOUT), ds=None, dnskey=None)
    result = rules.dnssec(records)
    assert result.status is Status.ERROR
    assert f"{DOMAIN} SOA: timeout" in result.summary


# microsoft365


def test_microsoft365_names_each_sign_seen():
    records = good_records(
        mx=found(DOMAIN, "MX", MX(0, "example-org-uk.mail.protection.outlook.com")),
        txt=found(DOMAIN, "TXT", "MS=ms12345678", "v=spf1 include:spf.protection.outlook.com -all"),
    )
    result = rules.microsoft365(records)
    assert result.status is Status.INFO
    assert result.details["signs"] == ["mx", "spf_include", "ms_txt"]


def test_microsoft365_sees_the_new_mx_microsoft_hosts():
    records = good_records(mx=found(DOMAIN, "MX", MX(0, "example-org-uk.o-v1.mx.microsoft")))
    assert rules.microsoft365(records).details["signs"] == ["mx"]


def test_microsoft365_without_signs():
    result = rules.microsoft365(good_records())
    assert (result.status, result.details["signs"]) == (Status.INFO, [])


# teams_federation


def test_teams_federation_warns_when_missing():
    records = good_records(sip_federation=absent("_sip", "SRV", QueryError.NXDOMAIN))
    result = rules.teams_federation(records)
    assert result.status is Status.WARN
    assert "sipfed.online.lync.com" in result.fix


def test_teams_federation_warns_on_another_target():
    records = good_records(sip_federation=found("_sip", "SRV", SRV(1, 1, 5061, "sip.example")))
    result = rules.teams_federation(records)
    assert result.status is Status.WARN
    assert "sip.example" in result.summary


# starttls


def probes(*entries):
    return good_records(smtp=list(entries))


def test_starttls_fails_an_mx_without_starttls():
    result = rules.starttls(
        probes(
            SmtpProbe("mx1", "192.0.2.1", True, True, "TLSv1.3"),
            SmtpProbe("mx2", "192.0.2.2", True, False),
        )
    )
    assert result.status is Status.FAIL
    assert "mx2 does not offer STARTTLS" in result.summary


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1.1"])
def test_starttls_fails_tls_below_1_2(version):
    result = rules.starttls(probes(SmtpProbe("mx1", "192.0.2.1", True, True, version)))
    assert result.status is Status.FAIL
    assert version in result.summary


def test_starttls_fails_a_handshake_that_failed():
    probe = SmtpProbe("mx1", "192.0.2.1", True, True, error="TLS handshake failed: x")
    assert rules.starttls(probes(probe)).status is Status.FAIL


def test_starttls_warns_when_an_mx_could_not_be_reached():
    result = rules.starttls(
        probes(
            SmtpProbe("mx1", "192.0.2.1", True, True, "TLSv1.2"),
            SmtpProbe("mx2", "192.0.2.2", False, error="Connection refused"),
        )
    )
    assert result.status is Status.WARN
    assert "mx2" in result.summary


def test_starttls_has_nothing_to_test_without_mx():
    records = good_records(mx=found(DOMAIN, "MX", MX(0, "")), smtp=[])
    assert rules.starttls(records).status is Status.INFO
