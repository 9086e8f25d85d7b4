"""The audit log's hash chain, a TRUNCATE guard, and refusals that replica mode cannot skip.

- chain_hash, computed here for the events already present, in key order (audit_chain.py).
- On PostgreSQL, TRUNCATE of the audit table is refused by a statement trigger: migration 0002's
  row trigger never sees a TRUNCATE.
- Both triggers become ENABLE ALWAYS: an ordinary trigger is skipped by a session with
  `session_replication_role = replica`, which is how a superuser rewrote the log (issue 11).
  Only the table's owner can still switch them off (ALTER TABLE ... DISABLE TRIGGER); the app
  connects as a role that owns nothing (manage.py grant_app_role), and the chain shows what the
  owner changed.

Run it with the app stopped: an event the old code appends meanwhile has no hash and breaks
the chain where it stands.
"""

from django.db import migrations, models

from requests_app.audit_chain import CHAINED_FIELDS, GENESIS, link_hash

TABLE = "requests_app_auditevent"
APPEND_ONLY = "requests_app_auditevent_append_only"  # migration 0002's row trigger and function
NO_TRUNCATE = "requests_app_auditevent_no_truncate"
BATCH = 2_000

GUARD = f"""
CREATE TRIGGER {NO_TRUNCATE}
    BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {APPEND_ONLY}();
ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {NO_TRUNCATE};
ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {APPEND_ONLY};
"""
UNGUARD = f"""
DROP TRIGGER IF EXISTS {NO_TRUNCATE} ON {TABLE};
ALTER TABLE {TABLE} ENABLE TRIGGER {APPEND_ONLY};
"""


def chain_existing_events(apps, schema_editor):
    audit_event = apps.get_model("requests_app", "AuditEvent")
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        # Nothing appends while the chain is computed; migration 0002's trigger refuses the
        # UPDATE that stores the hashes, so it is off for this transaction only.
        schema_editor.execute(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
        schema_editor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {APPEND_ONLY}")
    events = audit_event.objects.using(schema_editor.connection.alias)
    previous = GENESIS
    changed = []
    rows = events.order_by("pk").values_list("pk", *CHAINED_FIELDS).iterator(chunk_size=BATCH)
    for pk, *fields in rows:
        previous = link_hash(previous, dict(zip(CHAINED_FIELDS, fields, strict=True)))
        changed.append(audit_event(pk=pk, chain_hash=previous))
        if len(changed) == BATCH:
            events.bulk_update(changed, ["chain_hash"])
            changed = []
    events.bulk_update(changed, ["chain_hash"])
    if postgresql:
        schema_editor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {APPEND_ONLY}")


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD)


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0013_check_status_could_not_be_checked")]
    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop),
        migrations.RunPython(guard, unguard),
    ]
