"""The Feedback team's overview (the admin's first page) with 50,000 requests: latency and SQL
queries.

Run from the project root:

    .venv/bin/python bench/overview.py [--requests 50000] [--runs 30] [--fresh] [--sql]
        [--explain] [--no-jit] [--database-url postgres://postgres@127.0.0.1:5432/fp_bench]

Seeds the database as bench/pages.py does (the same rows; a database pages.py seeded is reused),
then times in process, through django.test.Client and signed in as a Feedback team member, the
overview with its default period (the last 90 days), with a year's period, and two of its CSV
downloads (every request waiting on the team; the days in each state). Prints median and p95
latency, median CPU time and the number of SQL queries of each.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pages  # noqa: E402 (bench/pages.py: the seeding and the measuring are the same)


def main() -> None:
    parser = pages.bench_arguments(__doc__.splitlines()[0])
    parser.add_argument(
        "--no-jit",
        action="store_true",
        help="SET jit = off for the whole connection (the overview's own reads already run "
        "without it), to compare",
    )
    args = parser.parse_args()
    scratch = pages.seeded_django(
        args, scratch_prefix="fp-overview-bench-", statistics_step=vacuum_analyse
    )
    if args.no_jit:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        print("JIT compilation off for this connection")
    figures = measure(runs=args.runs, warmup=args.warmup, show_sql=args.sql, explain=args.explain)
    print_table(figures, runs=args.runs)
    scratch.cleanup()


def vacuum_analyse() -> None:
    """Visibility map and planner statistics as autovacuum keeps them on a live system (index-
    only scans of the audit log need the first; bulk-inserted rows have neither)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pages.analyse()
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def measure(*, runs: int, warmup: int, show_sql: bool, explain: bool) -> list:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from requests_app.models import FederationRequest
    from workbench.overview import waiting_on_team

    staff = Client(HTTP_HOST="127.0.0.1")
    member = get_user_model().objects.get(username="bench-feedback")
    staff.force_login(member)
    device, _ = TOTPDevice.objects.get_or_create(
        user=member, name="authenticator", defaults={"confirmed": True}
    )
    session = staff.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    today = timezone.localdate()
    year = f"start={(today - timedelta(days=364)).isoformat()}&end={today.isoformat()}"
    index = reverse("admin:index")
    waiting = waiting_on_team(limit=1).total
    print(
        f"{FederationRequest.objects.count():,} requests, {waiting:,} waiting on the team "
        f"(the page lists 50; its CSV all)"
    )
    targets = [
        ("overview, last 90 days", index, "Waiting on the team"),
        ("overview, last 365 days", f"{index}?{year}", "Waiting on the team"),
        (
            "CSV: waiting on the team (all)",
            reverse("admin:overview_csv", args=["waiting"]),
            "Request,Organisation",
        ),
        (
            "CSV: days in each state, 365 days",
            reverse("admin:overview_csv", args=["time-in-state"]) + f"?{year}",
            "State,Stays ended",
        ),
    ]
    figures = []
    for page, path, expected in targets:
        figure = pages.measure_page(
            staff,
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


def print_table(figures: list, *, runs: int) -> None:
    width = max(len(f.page) for f in figures)
    header = (
        f"{'page':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'CPU ms':>7}  {'queries':>7}  "
        f"{'SQL ms':>7}"
    )
    print(
        f"\nWall-clock latency over {runs} requests after warm-up (in process, through "
        "django.test.Client);\nCPU ms: median CPU time of this process (Python and templates); "
        "queries and SQL ms: one more request."
    )
    print(header)
    print("-" * len(header))
    for f in figures:
        print(
            f"{f.page:<{width}}  {f.median_ms:>9.1f}  {f.p95_ms:>7.1f}  {f.cpu_ms:>7.1f}  "
            f"{f.queries:>7}  {f.sql_ms:>7.1f}"
        )


if __name__ == "__main__":
    main()
