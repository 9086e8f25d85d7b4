"""On PostgreSQL, the database itself refuses to change or delete an audit event.

TRUNCATE (a test database's flush) is not affected. SQLite, the local default, relies on the
model's refusal alone.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION requests_app_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: %% refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER requests_app_auditevent_append_only
    BEFORE UPDATE OR DELETE ON requests_app_auditevent
    FOR EACH ROW EXECUTE FUNCTION requests_app_auditevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS requests_app_auditevent_append_only ON requests_app_auditevent;
DROP FUNCTION IF EXISTS requests_app_auditevent_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=())


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
