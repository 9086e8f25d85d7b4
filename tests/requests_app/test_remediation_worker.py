"""Issue 12, Done when: a federated domain's DMARC weakened on NSD, the weekly re-check opens a
case and emails the SPOC; fixed on NSD, the next re-check closes it. A real worker asks a real
NSD whose zone the test rewrites between the weeks (nsd-control reload)."""

import os
import shutil
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import dns.exception
import dns.resolver
import pytest
from django.utils import timezone

from requests_app import tasks
from requests_app.models import CheckRunPurpose, ContactRole, RemediationCase, State
from tests.conftest import sent_mail, wait_for, wait_for_check_runs
from tests.factories import FederationRequestFactory
from tests.nsd import NSD, ZONES, free_port, tcp_accepts, write_config

NSD_CONTROL = shutil.which("nsd-control") or "/usr/sbin/nsd-control"
DOMAIN = "drift.test"


def zone_text(policy: str, serial: int) -> str:
    """test. as the checks' zone file has it, with drift.test set up as pass.test is (every
    DNS check passes) and its DMARC policy as given."""
    base = (ZONES / "test.zone").read_text()
    base = base.replace(
        "SOA   ns.test. hostmaster.test. 1 ", f"SOA   ns.test. hostmaster.test. {serial} "
    )
    return (
        base
        + f"""
drift                   MX    10 mx.pass.test.
drift                   TXT   "v=spf1 include:_spf.pass.test mx -all"
_dmarc.drift            TXT   "v=DMARC1; p={policy}; rua=mailto:dmarc@drift.test"
selector1._domainkey.drift CNAME selector1-drift-test._domainkey.drift.onmicrosoft.com.
selector2._domainkey.drift CNAME selector2-drift-test._domainkey.drift.onmicrosoft.com.
_mta-sts.drift          TXT   "v=STSv1; id=20240101T000000"
_smtp._tls.drift        TXT   "v=TLSRPTv1; rua=mailto:tls-reports@drift.test"
_sipfederationtls._tcp.drift SRV 100 1 5061 sipfed.online.lync.com.
"""
    )


class DriftingNsd:
    """NSD on loopback serving test. (with drift.test), its DMARC policy changed by serve()."""

    def __init__(self) -> None:
        # Under /tmp: NSD runs as nobody, and pytest's tmp_path parents are 0700.
        self.directory = Path(tempfile.mkdtemp(prefix="fp-nsd-drift-"))
        self.directory.chmod(0o777)
        self.serial = 1
        (self.directory / "test.zone").write_text(zone_text("reject", self.serial))
        outlook = "spf.protection.outlook.com.zone"
        shutil.copy(ZONES / outlook, self.directory / outlook)
        self.port = free_port()
        self.config = write_config(
            self.directory,
            {"test": "test.zone", "spf.protection.outlook.com": outlook},
            port=self.port,
            control_socket=self.directory / "nsd.ctl",
        )
        for path in self.directory.iterdir():
            path.chmod(0o666)
        self.process = subprocess.Popen(
            [NSD, "-d", "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        wait_for(lambda: tcp_accepts(self.port), timeout=15, what="NSD to listen")

    def dmarc(self) -> str:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = ["127.0.0.1"], self.port
        answer = resolver.resolve(f"_dmarc.{DOMAIN}", "TXT", tcp=True, lifetime=5)
        return b"".join(answer[0].strings).decode()

    def serve(self, policy: str) -> None:
        """Publish p=policy and wait until NSD answers with it."""
        self.serial += 1
        zone = self.directory / "test.zone"
        zone.write_text(zone_text(policy, self.serial))
        zone.chmod(0o666)
        # NSD reloads a zone whose file's time changed: two writes within a second must still
        # differ, so each is stamped a second later than the one before.
        stamp = time.time() + self.serial
        os.utime(zone, (stamp, stamp))
        subprocess.run(
            [NSD_CONTROL, "-c", str(self.config), "reload", "test"], check=True, capture_output=True
        )
        wait_for(lambda: self.serves(policy), timeout=15, what=f"NSD to serve p={policy}")

    def serves(self, policy: str) -> bool:
        # While NSD reloads, its old server may reset a connection: not serving it yet.
        try:
            return f"p={policy};" in self.dmarc()
        except dns.exception.DNSException:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="module")
def drifting_nsd():
    server = DriftingNsd()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def worker_extra_env(drifting_nsd):
    """The worker asks the drifting NSD; its STARTTLS probe meets a closed port (a warning,
    the same every week)."""
    return {"DNS_NAMESERVERS": f"127.0.0.1:{drifting_nsd.port}", "SMTP_PROBE_PORT": "1"}


def a_week_passes(req) -> None:
    """The beat skips a request checked within a day: last week's runs were a week ago."""
    req.check_runs.update(requested_at=timezone.now() - timedelta(days=7))


def weekly_recheck(req) -> None:
    a_week_passes(req)
    before = req.check_runs.count()
    tasks.recheck_federated_domains.delay()
    wait_for(
        lambda: req.check_runs.count() > before, timeout=60, what="the beat task to queue a run"
    )
    wait_for_check_runs(req)


def mail_to(address: str, subject_part: str) -> list:
    return [m for m in sent_mail() if address in m["To"] and subject_part in m["Subject"]]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_dmarc_weakened_on_nsd_opens_a_case_and_emails_the_spoc_fixed_closes_it(
    celery_worker_process, drifting_nsd
):
    req = FederationRequestFactory(state=State.FEDERATED, domains=[DOMAIN], checked=False)
    spoc = req.contacts.get(role=ContactRole.SPOC).email

    # Week 1: p=reject, as when the domain was federated.
    drifting_nsd.serve("reject")
    weekly_recheck(req)
    baseline = req.check_runs.get(purpose=CheckRunPurpose.RECHECK).domains_checked.get()
    statuses = {result["id"]: result["status"] for result in baseline.results}
    assert statuses["dmarc"] == "pass"
    assert not RemediationCase.objects.exists()

    # Week 2: the organisation weakened DMARC to p=none.
    drifting_nsd.serve("none")
    weekly_recheck(req)
    case = RemediationCase.objects.get(request=req)
    assert case.is_open
    assert [(i["check"], i["before"], i["status"]) for i in case.items] == [
        ("dmarc", "pass", "fail")
    ]
    opened = wait_for(
        lambda: mail_to(spoc, "Action needed by"), timeout=60, what="the case's email to the SPOC"
    )[0]
    body = opened.get_content()
    assert req.reference in opened["Subject"]
    assert f"- {DOMAIN}: DMARC" in body and "How to fix it:" in body
    assert f"{case.due_date.day} {case.due_date:%B %Y}" in body

    # Week 3: fixed on NSD; the re-check closes the case and says so.
    drifting_nsd.serve("reject")
    weekly_recheck(req)
    case.refresh_from_db()
    assert not case.is_open and case.how_closed == "fixed"
    wait_for(
        lambda: mail_to(spoc, "Fixed: nothing more to do"), timeout=60, what="the closing email"
    )
    req.refresh_from_db()
    assert req.state == State.FEDERATED  # nothing suspended along the way
