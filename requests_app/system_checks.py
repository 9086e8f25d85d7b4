"""manage.py check --deploy --database default --tag database: the app's role cannot rewrite the
audit log.

Run by the deployment after grant_app_role, so a DATABASE_URL that names the owner or a
superuser (the setup issue 11 found) is caught before the app serves a page.
"""

from django.core import checks
from django.db import DEFAULT_DB_ALIAS, connections

from .models import AuditEvent

POWERS = """
SELECT r.rolsuper OR r.rolbypassrls,
       pg_has_role(current_user, c.relowner, 'USAGE'),
       has_table_privilege(c.oid, 'UPDATE'),
       has_table_privilege(c.oid, 'DELETE'),
       has_table_privilege(c.oid, 'TRUNCATE')
FROM pg_roles r, pg_class c
WHERE r.rolname = current_user AND c.oid = %s::regclass
"""


@checks.register(checks.Tags.database, deploy=True)
def app_role_cannot_rewrite_the_audit_log(app_configs=None, databases=None, **kwargs):
    """An error unless the app's connection may only read and append to the audit log."""
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        role = cursor.fetchone()[0]
        cursor.execute(POWERS, [AuditEvent._meta.db_table])
        superuser, owner, *privileges = cursor.fetchone()
    powers = [
        name
        for name, held in zip(
            (
                "is a superuser",
                "owns the audit table",
                "may UPDATE it",
                "may DELETE from it",
                "may TRUNCATE it",
            ),
            (superuser, owner, *privileges),
            strict=True,
        )
        if held
    ]
    if not powers:
        return []
    return [
        checks.Error(
            f"The app connects to the database as “{role}”, which {', '.join(powers)}: it "
            "could change or wipe the audit log.",
            hint="Give DATABASE_URL a role made by manage.py grant_app_role, and the owner's "
            "connection to DATABASE_MIGRATE_URL.",
            id="requests_app.E001",
        )
    ]
