"""On PostgreSQL, trigram indexes for the admin's search (reference, organisation, domain).

Django's search is `UPPER(column::text) LIKE UPPER('%term%')`; a GIN trigram index on that
expression answers it without reading the table (bench/pages.py: 334 ms -> a few ms at 50,000
requests). Where the pg_trgm extension cannot be created (no privilege), search still works,
only slower, and the migration says so.
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

INDEXES = {
    "request_reference_trgm": ("requests_app_federationrequest", "reference"),
    "organisation_name_trgm": ("requests_app_organisation", "name"),
    "requesteddomain_name_trgm": ("requests_app_requesteddomain", "name"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        logger.warning("pg_trgm unavailable, admin search stays unindexed: %s", error)
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0003_request_state_index")]
    operations = [migrations.RunPython(create, drop)]
