"""Page latency and SQL query counts with a realistic number of federation requests.

Run from the project root:

    .venv/bin/python bench/pages.py [--requests 50000] [--runs 30] [--fresh]
        [--database-url postgres://postgres@127.0.0.1:5432/fp_bench] [--sql] [--explain]

Seeds the database (once; a later run with the same --requests reuses it) with bulk inserts
shaped like what the services write, then times in process, through django.test.Client, the
start page, a status page, the admin changelist (first page, a search by domain, a state
filter), two admin change pages, and one FPA render. Prints median and p95 latency and the
number of SQL queries per page. The database must be a benchmark's own: its name must contain
"bench", because seeding adds tens of thousands of made-up requests.
"""

import argparse
import contextlib
import hashlib
import itertools
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fp_bench"
CHUNK = 5_000  # requests per transaction while seeding
BATCH = 1_000  # rows per INSERT
HISTORY = timedelta(days=3 * 365)  # created_at is spread over this much of the past
SLOW_MS = 200.0
# FederationRequest's timestamps that its transitions set.
STEP_TIME_FIELDS = [
    "reviewed_at",
    "fpa_sent_at",
    "signed_at",
    "evidence_verified_at",
    "federated_at",
    "closed_at",
]

PLACES = ["Northshire", "Riverside", "Eastfield", "Westbrook", "Kingsbridge", "Calder", "Upton"]
KINDS = [
    "Community Care CIC",
    "Hospice",
    "Medical Practice",
    "Pharmacy",
    "Dental Care",
    "Borough Council",
    "Care Homes Ltd",
    "Optometrists",
    "Health Partnership",
    "Mental Health Charity",
    "University",
    "Ambulance Service",
]
FIRST_NAMES = ["Alex", "Sam", "Priya", "Tom", "Aisha", "Chris", "Megan", "Olu", "Jo", "Ravi"]
LAST_NAMES = ["Patel", "Smith", "Okafor", "Jones", "Khan", "Evans", "Nowak", "Brown", "Ali"]
REJECTION_REASONS = [
    "DMARC is at p=none; DCB1596 needs p=quarantine or stricter.",
    "The domain has no SPF record.",
    "The organisation already federates through its parent trust's tenant.",
    "No evidence of the DCB1596 standard was returned within 90 days.",
]
WITHDRAWAL_REASONS = ["", "We are moving to NHSmail instead.", "Raised twice by mistake."]


def bench_arguments(description: str) -> argparse.ArgumentParser:
    """The arguments every benchmark on the seeded database takes; add its own, then parse."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--requests", type=int, default=50_000, help="rows to seed (50000)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL or sqlite:/// URL (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per case (30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first (3)")
    parser.add_argument("--seed", type=int, default=1596, help="random seed for the data")
    parser.add_argument("--sql", action="store_true", help="print each case's SQL")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE each case's slowest query"
    )
    return parser


def seeded_django(
    args, *, scratch_prefix: str, statistics_step=None
) -> tempfile.TemporaryDirectory:
    """Django on the benchmark database, migrated and seeded with args.requests requests
    (a database seeded before is reused), its planner statistics fresh (statistics_step, or
    ANALYZE). Returns the scratch folder the test settings keep uploads and mail in; clean it
    up at the end."""
    database = prepare_database(args.database_url, fresh=args.fresh)
    scratch = tempfile.TemporaryDirectory(prefix=scratch_prefix)
    os.environ["DJANGO_SETTINGS_MODULE"] = "federation_portal.settings.test"
    os.environ["DATABASE_URL"] = args.database_url
    # The test settings keep uploads and mail here; the benchmarks write neither.
    os.environ["TEST_SCRATCH_DIR"] = scratch.name
    sys.path.insert(0, str(ROOT))

    import logging

    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"database: {database}; migrated in {time.perf_counter() - started:.1f} s")

    seed(args.requests, random.Random(args.seed), staff_users())
    (statistics_step or analyse)()
    print_row_counts()
    return scratch


def main() -> None:
    args = bench_arguments(__doc__.splitlines()[0]).parse_args()
    scratch = seeded_django(args, scratch_prefix="fp-pages-bench-")

    targets = pick_targets()
    figures = measure_pages(
        targets, runs=args.runs, warmup=args.warmup, show_sql=args.sql, explain=args.explain
    )
    pdf_figure = measure_pdf(targets.pdf_agreement)
    print_table(figures, pdf_figure, runs=args.runs)
    scratch.cleanup()


# -- the database ------------------------------------------------------------------------------


def prepare_database(url: str, *, fresh: bool) -> str:
    """Create the benchmark database if missing (drop it first with fresh); describe it."""
    import environ

    config = environ.Env.db_url_config(url)
    name = str(config["NAME"])
    if "bench" not in Path(name).name:
        sys.exit(
            f"Refusing to seed “{name}”: use a database whose name contains “bench” "
            "(the benchmark adds tens of thousands of made-up requests)."
        )
    if config["ENGINE"].endswith("sqlite3"):
        path = Path(name)
        if fresh and path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"SQLite {path}"
    if not config["ENGINE"].endswith("postgresql"):
        sys.exit(f"Unsupported database URL {url}: use postgres:// or sqlite:///.")

    import psycopg
    from psycopg import sql

    with psycopg.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
    ) as connection:
        if fresh:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = connection.execute("SHOW server_version").fetchone()[0]
    return f"PostgreSQL {version}, {name} on {config['HOST']}:{config['PORT']}"


def analyse() -> None:
    """Fresh planner statistics, as autovacuum would have gathered on a live system."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def print_row_counts() -> None:
    from agreements.models import Agreement, EvidenceItem
    from requests_app.models import (
        AllowListEntry,
        AuditEvent,
        Contact,
        FederationRequest,
        Organisation,
        RequestedDomain,
    )

    models = [
        Organisation,
        FederationRequest,
        RequestedDomain,
        Contact,
        AuditEvent,
        Agreement,
        EvidenceItem,
        AllowListEntry,
    ]
    print("rows: " + ", ".join(f"{m._meta.db_table} {m.objects.count():,}" for m in models))


# -- seeding -----------------------------------------------------------------------------------


def seed(total: int, rng: random.Random, staff: dict) -> None:
    """Bulk-insert requests until the table holds total; the rows look like the services' own."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from agreements.models import EvidenceCriterion
    from requests_app.models import FederationRequest

    existing = FederationRequest.objects.count()
    if existing >= total:
        print(f"seeding skipped: the database already holds {existing:,} requests")
        return
    seeder = Seeder(
        rng=rng,
        now=timezone.now(),
        staff=staff,
        criteria=list(EvidenceCriterion.objects.order_by("position")),
    )
    # Ids are chosen here so that the reference FR-%06d goes in with the row, as the service's
    # second save would leave it; the sequence is moved past them afterwards.
    next_id = (FederationRequest.objects.aggregate(Max("id"))["id__max"] or 0) + 1
    started = time.perf_counter()
    for chunk_start in range(existing, total, CHUNK):
        chunk = range(chunk_start, min(chunk_start + CHUNK, total))
        with transaction.atomic():
            seeder.insert_chunk(
                ids=range(next_id, next_id + len(chunk)),
                created=[seeder.now - HISTORY + HISTORY * (i + 0.5) / total for i in chunk],
            )
        next_id += len(chunk)
        print(f"  {chunk.stop:,} / {total:,} requests, {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [FederationRequest]):
            cursor.execute(statement)
    elapsed = time.perf_counter() - started
    print(f"seeded {total - existing:,} requests in {elapsed:.1f} s ({seeder.rows:,} rows)")


def staff_users() -> dict:
    """The benchmark's staff: a Feedback team member signs in; others appear in the history."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user_model = get_user_model()
    groups = {name: Group.objects.get(name=name) for name in ("Feedback team", "Service desk")}
    users = {"feedback": [], "service_desk": []}
    for username, group, key in [
        ("bench-feedback", "Feedback team", "feedback"),
        ("bench-feedback-2", "Feedback team", "feedback"),
        ("bench-feedback-3", "Feedback team", "feedback"),
        ("bench-servicedesk", "Service desk", "service_desk"),
    ]:
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@nhs.net", "is_staff": True}
        )
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(groups[group])
        users[key].append(user)
    return users


def base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if not number:
            return text


def fake_sha256(*parts) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


class Seeder:
    """Builds one chunk of requests with their domains, contacts, agreement, evidence and audit
    trail, shaped as request_submit and the transition services write them."""

    PATH = ["submitted", "reviewed", "fpa_sent", "signed", "evidence_verified", "federated"]
    STATES = [*PATH, "rejected", "withdrawn"]
    # How likely each final state is (weights in STATES' order) by the request's age in days:
    # recent requests are mostly still open, old ones mostly federated or closed.
    WEIGHTS_BY_AGE = [
        (14, [45, 20, 15, 5, 3, 2, 5, 5]),
        (90, [8, 7, 15, 15, 8, 30, 10, 7]),
        (None, [1, 1, 3, 3, 1, 66, 15, 10]),
    ]
    # From which state a request was closed.
    CLOSED_FROM = {
        "rejected": {"submitted": 70, "reviewed": 10, "fpa_sent": 10, "signed": 10},
        "withdrawn": {"submitted": 40, "reviewed": 20, "fpa_sent": 30, "signed": 10},
    }

    def __init__(self, *, rng, now, staff, criteria):
        self.rng = rng
        self.now = now
        self.feedback = staff["feedback"]
        self.service_desk = staff["service_desk"]
        self.criteria = criteria
        self.rows = 0

    def insert_chunk(self, *, ids, created) -> None:
        from django.db.models import F
        from django.db.models.functions import Coalesce, Greatest

        from agreements.models import Agreement, EvidenceItem
        from requests_app.models import (
            AllowListEntry,
            AuditEvent,
            Contact,
            FederationRequest,
            Organisation,
            RequestedDomain,
        )

        self.requests, self.domains, self.contacts, self.events = [], [], [], []
        self.agreements, self.evidence, self.allow_list = [], [], []
        # About two requests per organisation. A later request finds its organisation again only
        # by ODS code (services.lifecycle._organisation_for), so only those with one come back.
        organisations, returning = [], []
        first_number = Organisation.objects.count()
        for request_id, created_at in zip(ids, created, strict=True):
            if returning and self.rng.random() < 0.35:
                organisation = self.rng.choice(returning)
            else:
                organisation = self.organisation(first_number + len(organisations), created_at)
                organisations.append(organisation)
                if organisation.ods_code:
                    returning.append(organisation)
            self.add_request(request_id, organisation, created_at)
        # The requests point at unsaved organisations; bulk_create picks up their new ids.
        Organisation.objects.bulk_create(organisations, batch_size=BATCH)
        for model, rows in [
            (FederationRequest, self.requests),
            (RequestedDomain, self.domains),
            (Contact, self.contacts),
            (Agreement, self.agreements),
            (EvidenceItem, self.evidence),
            (AllowListEntry, self.allow_list),
            (AuditEvent, self.events),
        ]:
            model.objects.bulk_create(rows, batch_size=BATCH)
            self.rows += len(rows)
        self.rows += len(organisations)
        # bulk_create stamps auto_now with the seeding time; put back the last change's time.
        last_change = Greatest(*(Coalesce(F(f), F("created_at")) for f in STEP_TIME_FIELDS))
        FederationRequest.objects.filter(pk__gte=ids.start, pk__lt=ids.stop).update(
            updated_at=last_change
        )

    def organisation(self, number: int, created_at):
        """A new organisation; three in ten have no ODS code (no NHSmail presence)."""
        from requests_app.models import Organisation

        place, kind = self.rng.choice(PLACES), self.rng.choice(KINDS)
        ods_code = "" if self.rng.random() < 0.3 else "B" + base36(number).rjust(5, "0")
        return Organisation(
            name=f"{place} {kind}",
            ods_code=ods_code,
            has_nhsmail_presence=bool(ods_code) and self.rng.random() < 0.5,
            created_at=created_at,
        )

    def final_state(self, age: timedelta) -> tuple[list[str], str | None]:
        """The states the request went through, and the closing state if it was closed."""
        rng = self.rng
        weights = next(w for days, w in self.WEIGHTS_BY_AGE if days is None or age.days < days)
        final = rng.choices(self.STATES, weights)[0]
        if final in self.CLOSED_FROM:
            closed_from = self.CLOSED_FROM[final]
            last = rng.choices(list(closed_from), list(closed_from.values()))[0]
            return self.PATH[: self.PATH.index(last) + 1], final
        return self.PATH[: self.PATH.index(final) + 1], None

    def add_request(self, request_id: int, organisation, created_at) -> None:
        from agreements.models import Agreement
        from requests_app.audit import REQUESTER_LABEL, SYSTEM_LABEL
        from requests_app.models import (
            AllowListEntry,
            AuditEvent,
            Channel,
            Contact,
            ContactRole,
            FederationRequest,
            RequestedDomain,
        )

        rng = self.rng
        path, closing = self.final_state(self.now - created_at)
        # Step times: hours to days apart, squeezed to fit between created_at and now.
        gaps = [timedelta(hours=rng.uniform(2, 240)) for _ in range(len(path) + 1)]
        room = self.now - created_at - timedelta(minutes=5)
        squeeze = min(1.0, room / sum(gaps, timedelta()))
        times = list(itertools.accumulate([created_at, *(gap * squeeze for gap in gaps)]))
        at = dict(zip([*path, "closed"], times, strict=False))

        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        slug = f"{organisation.name.split()[0].lower()}-{request_id}"
        service_desk = not organisation.has_nhsmail_presence and rng.random() < 0.25
        req = FederationRequest(
            id=request_id,
            reference=f"FR-{request_id:06d}",
            status_token=secrets.token_urlsafe(32),
            organisation=organisation,
            channel=Channel.SERVICE_DESK if service_desk else Channel.SELF_SERVICE,
            raised_by=self.service_desk[0] if service_desk else None,
            raised_on_behalf_reason="No NHSmail presence; asked by phone." if service_desk else "",
            requester_name=f"{first} {last}",
            requester_email=f"{first}.{last}@{slug}.org.uk".lower(),
            justification=rng.choice(
                ["Teams federation", "Chat and calls with GP practices and the local trust."]
            ),
            state=closing or path[-1],
            created_at=created_at,
        )
        self.requests.append(req)

        names = [f"{slug}.org.uk", f"staff.{slug}.org.uk", f"{slug}.co.uk"]
        if rng.random() < 0.02:
            names[0] = f"xn--bcher-kva.{slug}.org.uk"  # an IDN: shown as bücher.…
        names = sorted(names[: rng.choices([1, 2, 3], [70, 20, 10])[0]])
        is_live = closing is None
        self.domains += [RequestedDomain(request=req, name=n, is_live=is_live) for n in names]
        self.contacts += [
            Contact(
                request=req,
                role=ContactRole.SPOC,
                name=f"{first} {last}",
                job_title="IT Service Manager",
                email=f"spoc@{names[0]}",
                phone="01632 960" + f"{request_id % 1000:03d}",
            ),
            Contact(
                request=req,
                role=ContactRole.TECHNICAL,
                name="Tess Tech",
                job_title="Teams Administrator",
                email=f"teams.admin@{names[0]}",
            ),
        ]

        def event(
            action, when, actor=None, *, from_state="", to_state="", message="", label="", ip=None
        ):
            self.events.append(
                AuditEvent(
                    request=req,
                    actor=actor,
                    actor_label=label or (actor.get_username() if actor else SYSTEM_LABEL),
                    action=action,
                    from_state=from_state,
                    to_state=to_state,
                    message=message,
                    created_at=when,
                    ip_address=ip,
                )
            )

        staff_ip = f"10.20.{request_id % 250}.{rng.randint(1, 250)}"
        submitter = self.service_desk[0] if service_desk else None
        event(
            "request.submitted",
            created_at,
            submitter,
            to_state="submitted",
            message=f"Channel: {req.get_channel_display()}. Domains: {', '.join(names)}.",
            label="" if submitter else f"{req.requester_name} <{req.requester_email}>",
            ip=f"198.51.100.{rng.randint(1, 250)}",
        )
        reviewer = rng.choice(self.feedback)
        if "reviewed" in at:
            req.reviewed_at, req.reviewed_by = at["reviewed"], reviewer
            req.review_notes = "SPF, DKIM and DMARC (p=quarantine) in place; MX on Exchange Online."
            event(
                "request.reviewed",
                at["reviewed"],
                reviewer,
                from_state="submitted",
                to_state="reviewed",
                message=req.review_notes,
                ip=staff_ip,
            )
        agreement = None
        if "fpa_sent" in at:
            sent = at["fpa_sent"]
            agreement = Agreement(
                request=req,
                requested_at=sent - timedelta(minutes=2),
                requested_by=reviewer,
                pdf=f"agreements/issued/{uuid.UUID(int=rng.getrandbits(128)).hex}.pdf",
                pdf_sha256=fake_sha256(request_id, "fpa"),
                rendered_at=sent - timedelta(seconds=30),
                sent_at=sent,
            )
            self.agreements.append(agreement)
            event(
                "agreement.requested",
                agreement.requested_at,
                reviewer,
                message=f"Template {agreement.template_version}.",
                ip=staff_ip,
            )
            event(
                "agreement.rendered",
                agreement.rendered_at,
                message=f"SHA-256 {agreement.pdf_sha256}.",
            )
            req.fpa_sent_at = sent
            event(
                "request.agreement_sent",
                sent,
                reviewer,
                from_state="reviewed",
                to_state="fpa_sent",
                message=f"FPA {agreement.template_version}, SHA-256 {agreement.pdf_sha256}.",
            )
            self.add_evidence(req, path, at, event, staff_ip)
        elif path[-1] == "reviewed" and closing is None and rng.random() < 0.2:
            # Sent a moment ago: the worker is still rendering it.
            self.agreements.append(
                Agreement(
                    request=req,
                    requested_at=self.now - timedelta(minutes=1),
                    requested_by=reviewer,
                )
            )
        if "signed" in at:
            agreement.signed_copy = f"agreements/signed/{uuid.uuid4().hex}.pdf"
            agreement.signed_copy_sha256 = fake_sha256(request_id, "signed")
            agreement.signatory_name = f"Dr {rng.choice(FIRST_NAMES)} {last}"
            agreement.signatory_job_title = "Director of Digital"
            agreement.signatory_is_director = True
            agreement.signed_on = (at["signed"] - timedelta(days=1)).date()
            agreement.received_at = at["signed"]
            req.signed_at = at["signed"]
            event(
                "request.signed",
                at["signed"],
                reviewer,
                from_state="fpa_sent",
                to_state="signed",
                ip=staff_ip,
                message=f"Signed by {agreement.signatory_name}, "
                f"{agreement.signatory_job_title}, on {agreement.signed_on:%d %B %Y}. "
                f"Signed copy SHA-256 {agreement.signed_copy_sha256}.",
            )
        if "evidence_verified" in at:
            req.evidence_verified_at, req.evidence_verified_by = at["evidence_verified"], reviewer
            event(
                "request.evidence_verified",
                at["evidence_verified"],
                reviewer,
                from_state="signed",
                to_state="evidence_verified",
                ip=staff_ip,
            )
        if "federated" in at:
            req.federated_at = at["federated"]
            req.effective_date = (at["federated"] + timedelta(days=rng.randint(0, 7))).date()
            event(
                "request.federated",
                at["federated"],
                reviewer,
                from_state="evidence_verified",
                to_state="federated",
                ip=staff_ip,
                message=f"Effective from {req.effective_date:%d %B %Y}: {', '.join(names)}.",
            )
            self.allow_list += [
                AllowListEntry(
                    domain=name,
                    request=req,
                    effective_date=req.effective_date,
                    added_at=at["federated"],
                    added_by=reviewer,
                    source="portal",
                )
                for name in names
            ]
        if closing:
            req.closed_at = at["closed"]
            if closing == "rejected":
                req.closed_reason = rng.choice(REJECTION_REASONS)
                event(
                    "request.rejected",
                    req.closed_at,
                    reviewer,
                    from_state=path[-1],
                    to_state="rejected",
                    message=req.closed_reason,
                    ip=staff_ip,
                )
            else:
                req.closed_reason = rng.choice(WITHDRAWAL_REASONS)
                by_requester = rng.random() < 0.7
                event(
                    "request.withdrawn",
                    req.closed_at,
                    None if by_requester else reviewer,
                    from_state=path[-1],
                    to_state="withdrawn",
                    message=req.closed_reason,
                    label=REQUESTER_LABEL if by_requester else "",
                    ip=f"198.51.100.{rng.randint(1, 250)}" if by_requester else staff_ip,
                )

    def add_evidence(self, req, path, at, event, staff_ip) -> None:
        """DCB1596 evidence: some uploaded while the agreement is out, all verified later."""
        from agreements.models import EvidenceItem, EvidenceStatus

        rng = self.rng
        verified_all = "evidence_verified" in at
        if verified_all:
            criteria = [c for c in self.criteria if c.required or rng.random() < 0.5]
        elif "signed" in at:
            criteria = rng.sample(self.criteria, rng.randint(2, len(self.criteria)))
        elif rng.random() < 0.4:
            criteria = rng.sample(self.criteria, rng.randint(1, 3))
        else:
            return
        for position, criterion in enumerate(criteria):
            uploaded_at = at["fpa_sent"] + timedelta(hours=1 + position)
            uploader = rng.choice(self.feedback)
            item = EvidenceItem(
                request=req,
                criterion=criterion,
                file=f"evidence/{uuid.UUID(int=rng.getrandbits(128)).hex}.pdf",
                original_filename=f"{criterion.code}.pdf",
                sha256=fake_sha256(req.id, criterion.code),
                uploaded_at=uploaded_at,
                uploaded_by=uploader,
            )
            event(
                "evidence.uploaded",
                uploaded_at,
                uploader,
                ip=staff_ip,
                message=f"{criterion.title}: {item.original_filename} (SHA-256 {item.sha256}).",
            )
            if "signed" in at and (verified_all or rng.random() < 0.6):
                item.status = EvidenceStatus.VERIFIED
                item.verified_by = rng.choice(self.feedback)
                item.verified_at = at["signed"] + timedelta(minutes=10 + position)
                event(
                    "evidence.verified",
                    item.verified_at,
                    item.verified_by,
                    message=criterion.title,
                    ip=staff_ip,
                )
            elif "signed" in at and rng.random() < 0.3:
                item.status = EvidenceStatus.RETURNED
                item.returned_reason = "The DMARC report is older than 30 days."
                event(
                    "evidence.returned",
                    at["signed"] + timedelta(minutes=10),
                    uploader,
                    message=f"{criterion.title}: {item.returned_reason}",
                    ip=staff_ip,
                )
            self.evidence.append(item)


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Targets:
    middle: object  # the request in the middle of the table, by id
    federated: object  # a federated request with a full timeline and evidence
    domain: str  # a domain name to search the changelist for
    pdf_agreement: object


@dataclass
class Figure:
    page: str
    path: str
    median_ms: float
    p95_ms: float
    cpu_ms: float  # median CPU time of this process: Python and templates, not the database
    queries: int
    sql_ms: float


def pick_targets() -> Targets:
    from django.db.models import F
    from django.db.models.functions import Abs

    from agreements.models import Agreement
    from requests_app.models import FederationRequest, State

    count = FederationRequest.objects.count()
    middle = FederationRequest.objects.order_by("pk")[count // 2]
    # The federated request with evidence nearest below the middle: the longest pages.
    federated = (
        FederationRequest.objects.filter(state=State.FEDERATED, evidence_items__isnull=False)
        .exclude(pk=middle.pk)
        .order_by(Abs(F("pk") - middle.pk))
        .first()
    )
    if federated is None:
        raise SystemExit("No federated request with evidence: seed more requests.")
    domain = middle.domains.order_by("name").first().name
    pdf_agreement = Agreement.objects.select_related("request__organisation").get(request=federated)
    return Targets(middle=middle, federated=federated, domain=domain, pdf_agreement=pdf_agreement)


def measure_pages(
    targets: Targets, *, runs: int, warmup: int, show_sql: bool, explain: bool
) -> list[Figure]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    middle, federated = targets.middle, targets.federated
    changelist = reverse("admin:requests_app_federationrequest_changelist")
    # Client's default host, testserver, is not in ALLOWED_HOSTS; no test environment is set
    # up, so templates are not instrumented and timings are close to a real server's.
    public = Client(HTTP_HOST="127.0.0.1")
    staff = Client(HTTP_HOST="127.0.0.1")
    member = get_user_model().objects.get(username="bench-feedback")
    staff.force_login(member)
    # The admin also wants the second factor staff sign in with (django-otp): a verified device.
    device, _ = TOTPDevice.objects.get_or_create(
        user=member, name="authenticator", defaults={"confirmed": True}
    )
    session = staff.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    pages = [
        ("start page", public, reverse("requests_app:start"), "Before you start"),
        (
            f"status page ({middle.reference}, {middle.state})",
            public,
            reverse("requests_app:status", args=[middle.status_token]),
            middle.reference,
        ),
        (
            f"status page ({federated.reference}, federated)",
            public,
            reverse("requests_app:status", args=[federated.status_token]),
            federated.reference,
        ),
        ("admin changelist, first page", staff, changelist, "FR-"),
        (
            f"admin changelist, search {targets.domain}",
            staff,
            f"{changelist}?q={targets.domain}",
            middle.reference,
        ),
        (
            "admin changelist, state = submitted",
            staff,
            f"{changelist}?state__exact=submitted",
            "Submitted",
        ),
        (
            f"admin change page ({middle.reference}, {middle.state})",
            staff,
            reverse("admin:requests_app_federationrequest_change", args=[middle.pk]),
            middle.reference,
        ),
        (
            f"admin change page ({federated.reference}, federated)",
            staff,
            reverse("admin:requests_app_federationrequest_change", args=[federated.pk]),
            federated.reference,
        ),
    ]
    figures = []
    for page, client, path, expected in pages:
        figure = measure_page(
            client,
            page,
            path,
            expected,
            runs=runs,
            warmup=warmup,
            show_sql=show_sql,
            explain=explain,
        )
        print(
            f"  {page}: median {figure.median_ms:.1f} ms, p95 {figure.p95_ms:.1f} ms, "
            f"{figure.queries} queries"
        )
        figures.append(figure)
    return figures


def get_ok(client, path: str, expected: str):
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}, not 200")
    if expected not in response.content.decode():
        raise SystemExit(f"GET {path} does not show “{expected}”")
    return response


@contextlib.contextmanager
def timed_queries(connection):
    """CaptureQueriesContext, and each statement's time to the microsecond (Django keeps ms)."""
    from django.test.utils import CaptureQueriesContext

    durations_ms = []

    def time_one(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            durations_ms.append((time.perf_counter() - started) * 1000)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(time_one):
        yield captured, durations_ms


def measure_page(client, page, path, expected, *, runs, warmup, show_sql, explain) -> Figure:
    from django.db import connection

    for _ in range(warmup):
        get_ok(client, path, expected)
    timings, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        get_ok(client, path, expected)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    # Counted on a separate run: keeping every statement would add to the timed ones.
    with timed_queries(connection) as (captured, durations_ms):
        get_ok(client, path, expected)
    # Transaction control (the admin's atomic blocks, the session's save) is logged as a query
    # but not passed through execute wrappers: pair the timed ones, count them all.
    queries = list(zip(durations_ms, captured.captured_queries, strict=False))
    if show_sql or explain:
        print(f"\n-- {page}: GET {path}")
    if show_sql:
        for duration, query in queries:
            print(f"{duration:8.2f} ms  {query['sql']}")
        print()
    if explain and queries and connection.vendor == "postgresql":
        duration, slowest = max(queries, key=lambda pair: pair[0])
        print(f"slowest query, {duration:.2f} ms: {slowest['sql']}")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
            print("\n".join(row[0] for row in cursor.fetchall()))
        print()
    return Figure(
        page=page,
        path=path,
        median_ms=statistics.median(timings),
        p95_ms=percentile(timings, 95),
        cpu_ms=statistics.median(cpu),
        queries=len(captured.captured_queries),
        sql_ms=sum(durations_ms),
    )


def percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def measure_pdf(agreement, runs: int = 5) -> Figure:
    from django.db import connection

    from agreements.pdf import render_agreement_pdf

    render_agreement_pdf(agreement)  # warm-up: imports, fonts, template compile
    timings, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        with timed_queries(connection) as (captured, durations_ms):
            pdf = render_agreement_pdf(agreement)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    domains = agreement.request.domains.count()
    print(f"  FPA PDF for {agreement.request.reference} ({domains} domains): {len(pdf):,} bytes")
    return Figure(
        page=f"FPA PDF render ({agreement.request.reference}, median of {runs})",
        path="agreements.pdf.render_agreement_pdf",
        median_ms=statistics.median(timings),
        p95_ms=max(timings),
        cpu_ms=statistics.median(cpu),
        queries=len(captured.captured_queries),
        sql_ms=sum(durations_ms),
    )


def print_table(figures: list[Figure], pdf_figure: Figure, *, runs: int) -> None:
    width = max(len(f.page) for f in [*figures, pdf_figure])
    header = (
        f"{'page':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'CPU ms':>7}  {'queries':>7}  "
        f"{'SQL ms':>7}"
    )
    print(
        f"\nWall-clock latency over {runs} requests after warm-up (in process, through "
        "django.test.Client);\nCPU ms: median CPU time of this process (Python and templates); "
        "queries and SQL ms: one more request.\nThe PDF row's p95 column is its slowest render."
    )
    print(header)
    print("-" * len(header))
    for f in [*figures, pdf_figure]:
        flag = f"  > {SLOW_MS:.0f} ms" if f.median_ms > SLOW_MS and f is not pdf_figure else ""
        print(
            f"{f.page:<{width}}  {f.median_ms:9.1f}  {f.p95_ms:7.1f}  {f.cpu_ms:7.1f}  "
            f"{f.queries:7d}  {f.sql_ms:7.1f}{flag}"
        )


if __name__ == "__main__":
    main()
