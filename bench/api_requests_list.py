"""GET /api/v1/requests/ with 50,000 requests: latency per page and SQL queries per page.

Run from the project root:

    .venv/bin/python bench/api_requests_list.py [--requests 50000] [--runs 30] [--pages 100]
        [--fresh] [--sql] [--explain] [--database-url postgres://postgres@127.0.0.1:5432/fp_bench]

Seeds the database as bench/pages.py does (the same rows; a database pages.py or overview.py
seeded is reused), registers an API client through api.services, then times in process, through
rest_framework.test.APIClient with its key: the first page (50 and 200 rows), a walk of --pages
pages following the next cursors (each page timed: how a deep page compares with the first),
and the filters (state, organisation, domain, updated_since). Prints median and p95 latency and
the SQL queries of each.
"""

import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pages  # noqa: E402 (bench/pages.py: the seeding and the query timing are the same)
from overview import vacuum_analyse  # noqa: E402


def main() -> None:
    parser = pages.bench_arguments(__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="pages in the cursor walk (100)")
    args = parser.parse_args()
    scratch = pages.seeded_django(
        args, scratch_prefix="fp-api-bench-", statistics_step=vacuum_analyse
    )

    caller = api_caller()
    figures = measure_cases(caller, args)
    walk = measure_walk(caller, pages_to_walk=args.pages)
    print_table(figures, walk, runs=args.runs)
    scratch.cleanup()


def api_caller():
    """An APIClient with the key of a client registered for the benchmark (no rate limit in
    the way: a rate limit of a million calls a minute)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from api.models import ApiClient
    from api.services import api_client_create, api_client_revoke

    admin, _ = get_user_model().objects.get_or_create(
        username="bench-apiadmin", defaults={"email": "bench-apiadmin@nhs.net", "is_staff": True}
    )
    admin.groups.add(Group.objects.get(name="API administrators"))
    for old in ApiClient.objects.filter(name__startswith="Bench ", revoked_at__isnull=True):
        api_client_revoke(client_id=old.pk, actor=admin)
    _, key = api_client_create(
        name=f"Bench {time.time_ns()}",
        scopes=["requests:read"],
        actor=admin,
        rate_limit_per_minute=1_000_000,
    )
    # The client's default host, testserver, is not in ALLOWED_HOSTS (as in bench/pages.py).
    caller = APIClient(HTTP_HOST="127.0.0.1")
    caller.credentials(HTTP_AUTHORIZATION=f"Bearer {key.plaintext}")
    return caller


def get_json(caller, path: str, params: dict | None = None) -> dict:
    answer = caller.get(path, params or {})
    if answer.status_code != 200:
        raise SystemExit(f"GET {path} {params} answered {answer.status_code}: {answer.content!r}")
    return answer.json()


def measure_cases(caller, args) -> list:
    from django.utils import timezone

    from requests_app.models import FederationRequest, Organisation, RequestedDomain

    organisation = Organisation.objects.exclude(ods_code="").order_by("pk").first()
    domain = RequestedDomain.objects.order_by("-pk").values_list("name", flat=True).first()
    since = (timezone.now() - timedelta(days=7)).isoformat()
    year_ago = (timezone.now() - timedelta(days=365)).isoformat()
    middle = FederationRequest.objects.order_by("-created_at").values_list("state", flat=True)[
        FederationRequest.objects.count() // 2
    ]
    cases = [
        ("first page, 50 rows", {}),
        ("first page, 200 rows", {"page_size": 200}),
        (f"state={middle}", {"state": middle}),
        ("organisation=<ODS code>", {"organisation": organisation.ods_code}),
        ("domain=<a domain>", {"domain": domain}),
        ("updated_since=7 days ago", {"updated_since": since}),
        ("updated_since=a year ago", {"updated_since": year_ago}),
        ("state + updated_since=a year ago", {"state": middle, "updated_since": year_ago}),
    ]
    figures = []
    for name, params in cases:
        figures.append(measure_case(caller, name, params, args))
    return figures


def measure_case(caller, name, params, args) -> pages.Figure:
    from django.db import connection

    path = "/api/v1/requests/"
    for _ in range(args.warmup):
        get_json(caller, path, params)
    timings, cpu = [], []
    for _ in range(args.runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        body = get_json(caller, path, params)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    with pages.timed_queries(connection) as (captured, durations_ms):
        get_json(caller, path, params)
    queries = list(zip(durations_ms, captured.captured_queries, strict=False))
    if args.sql:
        print(f"\n-- {name}")
        for duration, query in queries:
            print(f"{duration:8.2f} ms  {query['sql']}")
    if args.explain and queries and connection.vendor == "postgresql":
        duration, slowest = max(queries, key=lambda pair: pair[0])
        print(f"\n-- {name}: slowest query, {duration:.2f} ms: {slowest['sql']}")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
            print("\n".join(row[0] for row in cursor.fetchall()))
    return pages.Figure(
        page=f"{name} ({len(body['results'])} rows)",
        path=path,
        median_ms=statistics.median(timings),
        p95_ms=pages.percentile(timings, 95),
        cpu_ms=statistics.median(cpu),
        queries=len(captured.captured_queries),
        sql_ms=sum(durations_ms),
    )


def measure_walk(caller, *, pages_to_walk: int) -> dict:
    """Follow next from the first page for pages_to_walk pages of 50: each page's time and
    queries (the queries counted on every page: they must not grow with depth)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, query_counts, rows = [], set(), 0
    url = "/api/v1/requests/"
    for _ in range(pages_to_walk):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            body = get_json(caller, url)
            timings.append((time.perf_counter() - started) * 1000)
        query_counts.add(len(captured.captured_queries))
        rows += len(body["results"])
        if not body["next"]:
            break
        url = body["next"]
    deep = timings[len(timings) // 2 :]
    return {
        "pages": len(timings),
        "rows": rows,
        "median_ms": statistics.median(timings),
        "p95_ms": pages.percentile(timings, 95),
        "deep_median_ms": statistics.median(deep),
        "last_ms": timings[-1],
        "queries": sorted(query_counts),
    }


def print_table(figures: list, walk: dict, *, runs: int) -> None:
    print(f"\nGET /api/v1/requests/, {runs} timed calls each (in process, no network):")
    print(
        f"{'case':<42} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>8} {'queries':>8} {'sql ms':>8}"
    )
    for f in figures:
        print(
            f"{f.page:<42} {f.median_ms:>10.1f} {f.p95_ms:>8.1f} {f.cpu_ms:>8.1f} "
            f"{f.queries:>8} {f.sql_ms:>8.1f}"
        )
    print(
        f"\ncursor walk: {walk['pages']} pages of 50 ({walk['rows']:,} rows) following next: "
        f"median {walk['median_ms']:.1f} ms, p95 {walk['p95_ms']:.1f} ms; the deeper half "
        f"median {walk['deep_median_ms']:.1f} ms, the last page {walk['last_ms']:.1f} ms; "
        f"queries per page {walk['queries']}"
    )


if __name__ == "__main__":
    main()
