"""Check domains against the initial review criteria from the command line."""

import json

from django.core.management.base import BaseCommand, CommandError

from requests_app.checks import rules
from requests_app.checks.engine import check_domains_sync
from requests_app.checks.resolver import NameserverError, parse_nameserver
from requests_app.checks.results import Status

SHOWN_FIX = {Status.WARN, Status.FAIL, Status.ERROR}


class Command(BaseCommand):
    help = (
        "Run the domain checks (MX, SPF, DMARC, DKIM, STARTTLS, ...) for each DOMAIN. "
        "With --json, print one JSON object per domain, one per line (JSON Lines). "
        "Exit status: 0 when every verdict is pass or warn, 1 when any is fail, "
        "2 for bad input or checks that could not be made (a resolver that could not be "
        "reached, or that answered SERVFAIL or REFUSED): never 0 for those."
    )

    def add_arguments(self, parser):
        parser.add_argument("domains", nargs="+", metavar="DOMAIN")
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="JSON Lines: one object a domain"
        )
        parser.add_argument(
            "--nameserver",
            action="append",
            metavar="HOST[:PORT]",
            help="ask this DNS server (an IP address; [IPv6]:PORT); repeatable. "
            "Default: the DNS_NAMESERVERS setting, else the system's resolv.conf",
        )
        parser.add_argument(
            "--skip",
            action="append",
            default=[],
            metavar="CHECK_ID",
            help=f"leave out a check; repeatable. One of: {', '.join(rules.CHECK_IDS)}",
        )

    def handle(self, *args, domains, as_json, nameserver, skip, **options):
        unknown = sorted(set(skip) - set(rules.CHECK_IDS))
        if unknown:
            raise CommandError(f"--skip: no check called {', '.join(unknown)}", returncode=2)
        for entry in nameserver or []:
            try:
                parse_nameserver(entry)
            except NameserverError as error:
                raise CommandError(f"--nameserver: {error}", returncode=2) from error
        reports = check_domains_sync(domains, nameservers=nameserver, skip=frozenset(skip))
        for report in reports:
            if as_json:
                self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
            else:
                self._write_human(report)
        verdicts = {report.verdict for report in reports}
        if Status.ERROR in verdicts:
            self.stderr.write(
                "Some checks could not be made: the DNS resolver could not be reached, or "
                "its answers were errors (time-outs, SERVFAIL, REFUSED)."
            )
            raise SystemExit(2)
        if Status.FAIL in verdicts:
            raise SystemExit(1)

    def _write_human(self, report):
        self.stdout.write(f"{report.domain}: {report.verdict.upper()}")
        for check in report.checks:
            self.stdout.write(f"  {check.status:<5}  {check.id:<16} {check.summary}")
            if check.status in SHOWN_FIX and check.fix:
                self.stdout.write(f"         {'':<16} Fix: {check.fix}")
