"""Audit events appended per second with the hash chain, and verify_audit's time, on PostgreSQL.

Run from the project root:

    .venv/bin/python bench/audit_chain.py [--events 2000] [--threads 1 4] [--verify-rows 100000]
        [--database-url postgres://postgres@127.0.0.1:5432/fp_audit_bench]

Drops and creates the benchmark's own database (its name must contain "bench"), migrates it,
then appends --events audit events through audit(), each in its own transaction as a service
writes one, from 1 and then 4 threads at once (every append takes the chain's advisory lock, so
threads queue there). Then fills the log up to --verify-rows events with chained bulk inserts
and times manage.py verify_audit over all of them.
"""

import argparse
import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fp_audit_bench"
BULK = 5_000  # events per chained bulk insert while filling the log for verify_audit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--events", type=int, default=2000, help="events appended per run")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--verify-rows", type=int, default=100_000)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from pages import prepare_database

    database = prepare_database(args.database_url, fresh=True)
    if not database.startswith("PostgreSQL"):
        sys.exit("The chain's lock is PostgreSQL's: give a postgres:// URL.")
    scratch = tempfile.TemporaryDirectory(prefix="fp-audit-bench-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "federation_portal.settings.test"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["TEST_SCRATCH_DIR"] = scratch.name

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections, transaction

    from requests_app.audit import audit
    from requests_app.models import AuditEvent

    call_command("migrate", verbosity=0, interactive=False)
    print(f"database: {database}")

    def append(count: int) -> None:
        try:
            for number in range(count):
                with transaction.atomic():
                    audit(None, None, "bench.appended", message=f"Event {number}.")
        finally:
            connections.close_all()

    print(f"{'threads':>7} {'events':>7} {'seconds':>8} {'events/s':>9}")
    for threads in args.threads:
        per_thread = args.events // threads
        workers = [threading.Thread(target=append, args=(per_thread,)) for _ in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        appended = per_thread * threads
        print(f"{threads:>7} {appended:>7} {elapsed:>8.2f} {appended / elapsed:>9.0f}")

    missing = args.verify_rows - AuditEvent.objects.count()
    started = time.perf_counter()
    while missing > 0:
        batch = min(missing, BULK)
        AuditEvent.objects.bulk_create(
            AuditEvent(actor_label="system", action="bench.filled", message=f"Event {n}.")
            for n in range(batch)
        )
        missing -= batch
    print(f"filled to {AuditEvent.objects.count()} events in {time.perf_counter() - started:.1f} s")
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE requests_app_auditevent")

    out = io.StringIO()
    started = time.perf_counter()
    call_command("verify_audit", stdout=out)
    elapsed = time.perf_counter() - started
    verified = int(out.getvalue().split()[0])
    print(
        f"verify_audit: {verified} events in {elapsed:.2f} s ({verified / elapsed:,.0f} events/s)"
    )
    scratch.cleanup()


if __name__ == "__main__":
    main()
