"""The deployment's order on a fresh PostgreSQL database, as docker-compose runs it.

Migrate as the owner (DATABASE_MIGRATE_URL) before the app's role even exists, so nothing in a
migration or a post_migrate handler writes through the app's connection; grant_app_role makes
the role DATABASE_URL names; the app then works as that role, and cannot wipe the audit log.
"""

import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings
from psycopg import errors

from tests.conftest import ROOT

SUBMIT = """
from requests_app.services.contacts import ContactDetails
from requests_app.services.lifecycle import request_submit
request_submit(
    organisation_name="Ashworth Community Care", ods_code="AC1", has_nhsmail_presence=False,
    domains=["ashworth-care.org.uk"], justification="Teams", requester_name="Robin",
    requester_email="robin@ashworth-care.org.uk",
    spoc=ContactDetails("Sam Spoc", "IT Manager", "sam@ashworth-care.org.uk"),
    technical_contact=ContactDetails("Tess Tech", "Teams admin", "tess@ashworth-care.org.uk"),
)
"""


@pytest.fixture
def fresh_database():
    """(database, app role): a database of the test's own and a role name not yet made."""
    db = settings.DATABASES["default"]
    server = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"]}
    name, role = f"fp_deploy_{os.getpid()}", f"fp_deploy_app_{os.getpid()}"
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield server, name, role
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')  # its grants went with the database


def test_migrate_as_the_owner_then_serve_as_a_role_that_cannot_wipe_the_audit_log(
    fresh_database,
):
    server, name, role = fresh_database
    address = f"{server['host']}:{server['port']}/{name}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "federation_portal.settings.test",
        "DATABASE_URL": f"postgres://{role}:app-secret@{address}",
        "DATABASE_MIGRATE_URL": f"postgres://{server['user']}@{address}",
    }

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    manage("migrate", "--database", "migrate", "--no-input", "-v0")
    assert f"Created role {role}" in manage("grant_app_role")
    assert f"Updated role {role}" in manage("grant_app_role")  # every deploy runs it again
    manage("check", "--deploy", "--database", "default", "--tag", "database")  # requests_app.E001
    manage("shell", "-c", SUBMIT)  # as the app's role: DATABASE_URL
    assert "audit events verified; the chain is intact." in manage("verify_audit")

    with psycopg.connect(**{**server, "user": role}, dbname=name, autocommit=True) as app:
        assert app.execute("SELECT current_user").fetchone() == (role,)
        assert app.execute("SELECT count(*) FROM auth_group").fetchone()[0] > 0  # post_migrate
        for attack in (
            "TRUNCATE requests_app_auditevent",
            "SET session_replication_role = replica",
            "UPDATE requests_app_auditevent SET message = ''",
            "DELETE FROM requests_app_auditevent",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                app.execute(attack)
        events = app.execute("SELECT action FROM requests_app_auditevent ORDER BY id").fetchall()
    assert ("request.submitted",) in events
