"""Give the app's database role what the app needs and nothing more (PostgreSQL; after migrate).

The deployment runs, as the schema's owner:

    manage.py migrate --database migrate
    manage.py grant_app_role --database migrate

The role named by DATABASE_URL (the app's connection) is created if missing, with that URL's
password. It may read and write the ordinary tables, but only read and append to the audit log
and only read the migration history; it owns nothing, so it can neither switch the audit log's
triggers off nor TRUNCATE it, and it cannot set session_replication_role. Idempotent: run it after
every migrate; default privileges cover the tables later migrations create, and this command
narrows them again for the audit log.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction
from psycopg import sql

from requests_app.models import AuditEvent

# Tables the app may only read and append to; every other table it may read and write.
APPEND_ONLY_TABLES = (AuditEvent._meta.db_table,)
# Tables the app may only read: Django's record of applied migrations.
READ_ONLY_TABLES = ("django_migrations",)
# Role attributes that would let the role past the grants and triggers, as pg_roles orders
# them in _ensure_role's query.
DANGEROUS_ATTRIBUTES = ("SUPERUSER", "BYPASSRLS", "CREATEROLE", "CREATEDB", "REPLICATION")


def default_database() -> str:
    return "migrate" if "migrate" in settings.DATABASES else "default"


class Command(BaseCommand):
    help = "Create or update the app's non-owner PostgreSQL role and its grants (after migrate)."

    def add_arguments(self, parser):
        parser.add_argument(
            "role",
            nargs="?",
            help="the app's role (default: the user of DATABASE_URL, with its password)",
        )
        parser.add_argument(
            "--database",
            default=default_database(),
            help="the owner's connection to run as (default: 'migrate' if configured)",
        )

    def handle(self, *args, role=None, database, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("grant_app_role is for PostgreSQL; SQLite has no roles.")
        app = settings.DATABASES["default"]
        password = None
        if not role:
            role, password = app.get("USER"), app.get("PASSWORD") or None
        if not role:
            raise CommandError("Name the role, or give DATABASE_URL a user.")
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_schema()")
            owner, schema = cursor.fetchone()
            if role == owner:
                raise CommandError(
                    f"The app's role “{role}” is the owner this command runs as: give the app a "
                    "role of its own in DATABASE_URL, and the owner's in DATABASE_MIGRATE_URL."
                )
            created = self._ensure_role(cursor, role, password, owner)
            self._grant(cursor, role, owner, schema)
        self.stdout.write(
            f"{'Created' if created else 'Updated'} role {role}: reads and writes the tables "
            f"in {schema}; only reads and appends to {', '.join(APPEND_ONLY_TABLES)}."
        )

    def _ensure_role(self, cursor, role: str, password: str | None, owner: str) -> bool:
        name = sql.Identifier(role)
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication "
            "FROM pg_roles WHERE rolname = %s",
            [role],
        )
        found = cursor.fetchone()
        if found is None:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
        else:
            granted = [
                attribute for attribute, on in zip(DANGEROUS_ATTRIBUTES, found, strict=True) if on
            ]
            if granted:
                raise CommandError(
                    f"Role “{role}” has {', '.join(granted)}, which gets past every grant and "
                    f"trigger: ALTER ROLE {role} NO{' NO'.join(granted)}, then run this again."
                )
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])
        if cursor.fetchone()[0]:
            raise CommandError(f"Role “{role}” is a member of the owner “{owner}”; revoke that.")
        if password:
            cursor.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(name, sql.Literal(password))
            )
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
            "WHERE rolname = %s)",
            [role],
        )
        if cursor.fetchone()[0]:
            raise CommandError(
                f"Role “{role}” owns tables in this database, and an owner can switch the audit "
                f"log's guards off: REASSIGN OWNED BY {role} TO {owner}, then run this again."
            )
        return found is None

    def _grant(self, cursor, role: str, owner: str, schema: str) -> None:
        name, schema_name = sql.Identifier(role), sql.Identifier(schema)
        cursor.execute("SELECT current_database()")
        statements = [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(cursor.fetchone()[0]), name
            ),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_name, name),
            # Creating objects would make the role an owner; PostgreSQL 15 already revokes
            # CREATE on public from PUBLIC, older versions do not (CVE-2018-1058).
            sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC, {}").format(schema_name, name),
            # Start from nothing, so a privilege granted by hand or by an older version goes.
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema_name, name),
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
                schema_name, name
            ),
            sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(schema_name, name),
            sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema_name, name),
            # Tables the owner's next migrations create are the app's to use at once.
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(sql.Identifier(owner), schema_name, name),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT USAGE ON SEQUENCES TO {}"
            ).format(sql.Identifier(owner), schema_name, name),
        ]
        for table in APPEND_ONLY_TABLES:
            statements.append(
                sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(
                    sql.Identifier(schema, table), name
                )
            )
        for table in READ_ONLY_TABLES:
            statements.append(
                sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(
                    sql.Identifier(schema, table), name
                )
            )
        for statement in statements:
            cursor.execute(statement)
