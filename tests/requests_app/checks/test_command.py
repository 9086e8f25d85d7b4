"""manage.py check_domain: output and exit status."""

import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import ROOT


def run(*args):
    """The command in its own process, as an operator runs it: (exit status, stdout, stderr)."""
    completed = subprocess.run(
        [sys.executable, "manage.py", "check_domain", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "federation_portal.settings.test",
        },
    )
    return completed.returncode, completed.stdout, completed.stderr


def test_a_passing_domain_exits_0_with_a_line_per_check(nameserver):
    status, out, _ = run("pass.test", "--nameserver", nameserver, "--skip", "starttls")
    assert status == 0
    assert out.splitlines()[0] == "pass.test: PASS"
    assert any(line.split()[:2] == ["pass", "dmarc"] for line in out.splitlines())
    assert "Fix:" not in out


def test_a_failing_domain_exits_1_and_shows_the_fix(nameserver):
    status, out, _ = run(
        "pass.test", "dmarc-none.test", "--nameserver", nameserver, "--skip", "starttls"
    )
    assert status == 1
    assert "dmarc-none.test: FAIL" in out
    assert "Fix: Move to p=quarantine now" in out


def test_json_prints_one_object_per_line_in_the_issue_shape(nameserver):
    status, out, _ = run(
        "pass.test",
        "dmarc-quarantine.test",
        "--json",
        "--nameserver",
        nameserver,
        "--skip",
        "starttls",
    )
    reports = [json.loads(line) for line in out.splitlines()]
    assert [r["domain"] for r in reports] == ["pass.test", "dmarc-quarantine.test"]
    assert set(reports[0]) == {"domain", "checked_at", "verdict", "checks"}
    assert {"id", "status", "summary", "details"} <= set(reports[0]["checks"][0])
    assert reports[1]["verdict"] == "fail"  # no MX, no SPF
    assert status == 1


def test_an_ineligible_domain_is_a_fail_not_bad_input(nameserver):
    status, out, _ = run("nhs.net", "--nameserver", nameserver)
    assert status == 1
    assert "NHSmail itself" in out


def test_an_unparsable_nameserver_is_bad_input():
    status, _, err = run("pass.test", "--nameserver", "dns.example")
    assert status == 2
    assert "does not name an IP address" in err


def test_an_unknown_check_is_bad_input(nameserver):
    with pytest.raises(CommandError) as raised:
        call_command("check_domain", "pass.test", "--nameserver", nameserver, "--skip", "spam")
    assert raised.value.returncode == 2


def test_an_unreachable_resolver_exits_2(closed_port):
    status, _, err = run(
        "pass.test", "--nameserver", f"127.0.0.1:{closed_port}", "--skip", "starttls"
    )
    assert status == 2
    assert "could not be reached" in err


def test_a_resolver_answering_servfail_exits_2_not_0(rcode_dns_server):
    import dns.rcode

    port = rcode_dns_server(dns.rcode.SERVFAIL)
    status, out, err = run("pass.test", "--nameserver", f"127.0.0.1:{port}", "--skip", "starttls")

    assert status == 2
    assert "pass.test: ERROR" in out
    assert "SERVFAIL" in err
