"""The audit log under attack: the app's role cannot wipe it, and the owner's changes show.

On PostgreSQL, as in production. The schema's owner here is the test database's superuser; the
app's role is made by manage.py grant_app_role and connects to the test database as itself.
"""

import contextlib
import importlib
import io
import os
import threading

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from psycopg import errors

from requests_app import outbox
from requests_app.audit import audit
from requests_app.audit_chain import GENESIS, link_hash
from requests_app.models import AuditEvent, FederationRequest, State
from requests_app.selectors import audit_chain_report
from requests_app.system_checks import app_role_cannot_rewrite_the_audit_log
from tests.conftest import wait_for
from tests.factories import FederationRequestFactory
from tests.helpers import confirm_submission
from tests.requests_app.test_views import FORM_URL, valid_form

TABLE = "requests_app_auditevent"
APPEND_ONLY = "requests_app_auditevent_append_only"
NO_TRUNCATE = "requests_app_auditevent_no_truncate"


@pytest.fixture(autouse=True)
def _postgresql_only():
    assert connection.vendor == "postgresql", "the database's refusals are PostgreSQL's"


def verify_audit(*args) -> str:
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def broken_verify_audit(*args) -> tuple[str, str]:
    """(what was printed, the error) of a verify_audit run that must fail."""
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", *args, stdout=out)
    return out.getvalue(), str(failure.value)


def as_owner(statement: str, params=()) -> None:
    """What the table's owner can do: switch the append-only trigger off, change rows, on again."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending checks
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {APPEND_ONLY}")
        cursor.execute(statement, params)
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {APPEND_ONLY}")


def five_events() -> list[AuditEvent]:
    req = FederationRequestFactory()
    return [
        audit(req, None, f"test.step_{number}", message=f"Step {number}.") for number in range(5)
    ]


# The chain, and what verify_audit finds


@pytest.mark.django_db
def test_an_untampered_log_verifies_and_prints_its_head():
    events = five_events()

    printed = verify_audit()

    assert "5 audit events verified; the chain is intact." in printed
    assert f"Head: {events[-1].chain_hash}" in printed
    assert events[0].chain_hash == link_hash(GENESIS, events[0].chain_values())


@pytest.mark.django_db
def test_an_event_changed_by_the_owner_is_the_first_broken_one():
    events = five_events()

    as_owner(f"UPDATE {TABLE} SET message = 'Nothing happened.' WHERE id = %s", [events[2].pk])

    printed, error = broken_verify_audit()
    assert f"2 audit events verified before event #{events[2].pk}." in printed
    assert f"Audit event #{events[2].pk} breaks the chain" in error


@pytest.mark.django_db
def test_a_change_to_any_chained_field_breaks_the_chain():
    events = five_events()
    changes = {
        "actor_label": "'someone else'",
        "action": "'test.other'",
        "to_state": "'federated'",
        "created_at": "created_at + interval '1 microsecond'",
        "ip_address": "'192.0.2.1'",
        "request_id": "NULL",
    }
    for column, value in changes.items():
        with transaction.atomic():
            as_owner(f"UPDATE {TABLE} SET {column} = {value} WHERE id = %s", [events[3].pk])
            assert audit_chain_report().broken_pk == events[3].pk, column
            transaction.set_rollback(True)


@pytest.mark.django_db
def test_an_event_deleted_from_the_middle_breaks_the_chain_at_the_next():
    events = five_events()

    as_owner(f"DELETE FROM {TABLE} WHERE id = %s", [events[2].pk])

    printed, error = broken_verify_audit()
    assert f"2 audit events verified before event #{events[3].pk}." in printed
    assert f"Audit event #{events[3].pk} breaks the chain" in error


@pytest.mark.django_db
def test_two_events_swapped_by_the_owner_break_the_chain():
    events = five_events()
    first, second = events[1].pk, events[3].pk

    for old, new in ((first, -first), (second, first), (-first, second)):
        as_owner(f"UPDATE {TABLE} SET id = %s WHERE id = %s", [new, old])

    assert AuditEvent.objects.get(pk=first).action == "test.step_3"  # the swap took
    _, error = broken_verify_audit()
    assert f"Audit event #{first} breaks the chain" in error


@pytest.mark.django_db
def test_an_event_inserted_by_the_owner_breaks_the_chain_even_with_a_correct_hash():
    req = FederationRequestFactory()
    before = audit(req, None, "test.before")
    with contextlib.suppress(RuntimeError), transaction.atomic():
        audit(req, None, "test.rolled_back")  # leaves a gap in the keys
        raise RuntimeError
    after = audit(req, None, "test.after")
    gap = before.pk + 1
    assert after.pk == gap + 1
    forged = AuditEvent(request=req, actor_label="system", action="request.reviewed")
    forged_hash = link_hash(before.chain_hash, forged.chain_values())

    as_owner(
        f"INSERT INTO {TABLE} (id, request_id, actor_label, action, from_state, to_state, "
        "message, created_at, chain_hash) VALUES (%s, %s, 'system', 'request.reviewed', '', '', "
        "'', %s, %s)",
        [gap, req.pk, forged.created_at, forged_hash],
    )

    _, error = broken_verify_audit()
    assert f"Audit event #{after.pk} breaks the chain" in error


@pytest.mark.django_db
def test_a_chain_the_owner_recomputed_after_a_change_misses_the_recorded_anchor():
    events = five_events()
    anchor = verify_audit().split("Head: ")[1].strip()
    as_owner(f"UPDATE {TABLE} SET message = 'Nothing happened.' WHERE id = %s", [events[1].pk])
    previous = events[0].chain_hash
    for event in AuditEvent.objects.filter(pk__gt=events[0].pk).order_by("pk"):
        previous = link_hash(previous, event.chain_values())
        as_owner(f"UPDATE {TABLE} SET chain_hash = %s WHERE id = %s", [previous, event.pk])
    audit(None, None, "test.later")

    assert "6 audit events verified; the chain is intact." in verify_audit()
    _, error = broken_verify_audit("--anchor", anchor)
    assert f"does not pass through the anchor {anchor}" in error
    assert "intact" in verify_audit("--anchor", previous)


@pytest.mark.django_db
def test_every_writer_is_chained_bulk_inserts_too():
    req = FederationRequestFactory()
    audit(req, None, "test.first")
    AuditEvent.objects.bulk_create(
        [AuditEvent(request=req, actor_label="system", action=f"test.bulk_{n}") for n in range(3)]
    )
    # PostgreSQL gives back its own spelling of the address; the text keeps its “quotes”.
    AuditEvent.objects.create(
        actor_label="Zoë “system”", action="test.created", ip_address="::FFFF:1.2.3.4"
    )
    assert AuditEvent.objects.get(action="test.created").ip_address == "::ffff:1.2.3.4"

    assert "5 audit events verified; the chain is intact." in verify_audit()


@pytest.mark.django_db
def test_the_migration_chains_the_events_already_there():
    with connection.cursor() as cursor:  # events as the code before migration 0014 wrote them
        cursor.execute(
            f"INSERT INTO {TABLE} (actor_label, action, from_state, to_state, message, "
            "created_at, ip_address, chain_hash) SELECT 'system', 'test.earlier', '', '', "
            "'Event ' || n, now() - n * interval '1 minute', '::FFFF:192.0.2.1', '' "
            "FROM generate_series(1, 2500) AS n"
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending checks
    assert not audit_chain_report().intact
    name = "0014_audit_chain_and_truncate_guard"
    migration = importlib.import_module(f"requests_app.migrations.{name}")
    state = MigrationExecutor(connection).loader.project_state(("requests_app", name))

    with connection.schema_editor() as editor:
        migration.chain_existing_events(state.apps, editor)

    assert "2500 audit events verified; the chain is intact." in verify_audit()
    audit(None, None, "test.later")  # the app appends after them
    assert "2501 audit events verified; the chain is intact." in verify_audit()


# The database's own refusals, even to the owner


@pytest.mark.django_db
def test_the_owner_cannot_truncate_the_audit_log():
    five_events()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending checks
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {NO_TRUNCATE}")  # tests/conftest
        for statement in (
            f"TRUNCATE {TABLE}",
            f"TRUNCATE {FederationRequest._meta.db_table} CASCADE",
        ):
            with (
                pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
                transaction.atomic(),
            ):
                cursor.execute(statement)
    assert AuditEvent.objects.count() == 5


@pytest.mark.django_db
def test_replica_mode_no_longer_lets_a_superuser_change_or_delete_events():
    events = five_events()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for statement in (f"UPDATE {TABLE} SET message = ''", f"DELETE FROM {TABLE}"):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                cursor.execute(statement)
        cursor.execute("SET LOCAL session_replication_role = origin")
    assert [event.message for event in AuditEvent.objects.order_by("pk")] == [
        event.message for event in events
    ]


# The app's own role


@pytest.fixture
def app_role(transactional_db):
    """A role made by grant_app_role, dropped afterwards (roles outlive the test database)."""
    role = f"fp_test_app_{os.getpid()}"
    if role_exists(role):  # left by a run that was killed
        drop_role(role)
    out = io.StringIO()
    call_command("grant_app_role", role, stdout=out)
    assert f"Created role {role}" in out.getvalue()
    yield role
    connections.close_all()
    drop_role(role)


def drop_role(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {role}")  # its grants in this database
        cursor.execute(f"DROP ROLE {role}")


def role_exists(role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


def connect_as(role: str) -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, dbname=db["NAME"], user=role, autocommit=True
    )


@contextlib.contextmanager
def django_connected_as(role: str):
    """Django's own connection logs in as role for the block, as the app does in production."""
    connection.close()
    owner = connection.settings_dict["USER"]
    connection.settings_dict["USER"] = role
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"] = owner


@pytest.mark.parametrize(
    ("attack", "refusal"),
    [
        (f"TRUNCATE {TABLE}", errors.InsufficientPrivilege),
        (f"TRUNCATE {FederationRequest._meta.db_table} CASCADE", errors.InsufficientPrivilege),
        ("SET session_replication_role = replica", errors.InsufficientPrivilege),
        (f"UPDATE {TABLE} SET message = 'Nothing happened.'", errors.InsufficientPrivilege),
        (f"DELETE FROM {TABLE}", errors.InsufficientPrivilege),
        (f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL", errors.InsufficientPrivilege),
        (f"DROP TRIGGER {APPEND_ONLY} ON {TABLE}", errors.InsufficientPrivilege),
        (f"DROP TABLE {TABLE} CASCADE", errors.InsufficientPrivilege),
        (f"ALTER TABLE {TABLE} RENAME TO old_audit", errors.InsufficientPrivilege),
        ("CREATE TABLE requests_app_auditevent_copy (id int)", errors.InsufficientPrivilege),
        ("DELETE FROM django_migrations", errors.InsufficientPrivilege),
    ],
)
def test_the_app_role_cannot_wipe_or_rewrite_the_audit_log(app_role, attack, refusal):
    events = five_events()

    with connect_as(app_role) as app, pytest.raises(refusal):
        app.execute(attack)

    assert list(AuditEvent.objects.order_by("pk")) == events
    assert "5 audit events verified" in verify_audit()


def test_the_app_role_serves_a_submission_and_its_audit_events(app_role, client, monkeypatch):
    monkeypatch.setattr(outbox, "publish", lambda message_id: None)  # no broker needed here
    with django_connected_as(app_role):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (app_role,)
        response = client.post(FORM_URL, valid_form())
        assert response.status_code == 302
        req = confirm_submission(client)  # the requester's emailed link, pressed
        withdrawn = client.post(
            reverse("requests_app:withdraw", args=[req.status_token]), {"reason": "Not now."}
        )
        assert withdrawn.status_code == 302
        printed = verify_audit()
        assert app_role_cannot_rewrite_the_audit_log(databases=["default"]) == []

    req.refresh_from_db()
    assert req.state == State.WITHDRAWN
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions[:2] == ["request.confirmation_asked", "request.submitted"]
    assert actions[-1] == "request.withdrawn"
    assert f"{len(actions)} audit events verified; the chain is intact." in printed


def test_grant_app_role_is_idempotent_and_covers_tables_made_later(app_role):
    call_command("grant_app_role", app_role, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE requests_app_later (id int)")  # as a later migration would
    try:
        with connect_as(app_role) as app:
            app.execute("INSERT INTO requests_app_later VALUES (1)")
            app.execute(
                "INSERT INTO requests_app_auditevent (actor_label, action, from_state, "
                "to_state, message, created_at, chain_hash) "
                "VALUES ('x', 'x', '', '', '', now(), '')"
            )
            with pytest.raises(errors.InsufficientPrivilege):
                app.execute(f"UPDATE {TABLE} SET message = 'x'")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE requests_app_later")


@pytest.mark.django_db
def test_check_deploy_refuses_an_app_connection_that_could_rewrite_the_audit_log():
    (error,) = app_role_cannot_rewrite_the_audit_log(databases=["default"])  # as the superuser

    assert error.id == "requests_app.E001"
    assert "is a superuser, owns the audit table, may UPDATE it" in error.msg
    assert app_role_cannot_rewrite_the_audit_log(databases=None) == []  # no --database given


@pytest.mark.django_db
def test_grant_app_role_refuses_a_role_that_could_get_past_the_guards():
    with pytest.raises(CommandError, match="is the owner this command runs as"):
        call_command("grant_app_role", settings.DATABASES["default"]["USER"])
    # Roles made in the test's transaction, gone with it.
    superuser, member = f"fp_test_super_{os.getpid()}", f"fp_test_member_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {superuser} SUPERUSER BYPASSRLS")
        cursor.execute(f"CREATE ROLE {member} LOGIN IN ROLE {connection.settings_dict['USER']}")
    with pytest.raises(CommandError, match="has SUPERUSER, BYPASSRLS"):
        call_command("grant_app_role", superuser)
    with pytest.raises(CommandError, match="is a member of the owner"):
        call_command("grant_app_role", member)


# Appending at once


@pytest.mark.django_db(transaction=True)
def test_events_appended_at_once_by_many_transactions_form_one_chain():
    threads, per_thread = 8, 15
    req = FederationRequestFactory()
    barrier = threading.Barrier(threads)
    failures: list[str] = []

    def append(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            for step in range(per_thread):
                with transaction.atomic():
                    audit(req, None, f"test.thread_{number}", message=f"Step {step}.")
        except Exception as error:  # reported below, not lost in the thread
            failures.append(repr(error))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=append, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert not failures
    report = audit_chain_report()
    assert (report.intact, report.verified) == (True, threads * per_thread)


@pytest.mark.django_db(transaction=True)
def test_auditing_a_request_another_transaction_holds_locked_waits_instead_of_deadlocking():
    """A service holds the request's row lock and will audit; meanwhile another audits it.

    The second event's foreign key is checked at commit, after the chain's lock is taken: had
    the chain been taken first, each would wait for the other and PostgreSQL would kill one.
    """
    req = FederationRequestFactory()
    other_pid: list[int] = []
    outcome: dict[str, str] = {}

    def download() -> None:  # audits the request without locking it, as file.downloaded does
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                other_pid.append(cursor.fetchone()[0])
            locked.wait(timeout=30)
            with transaction.atomic():
                audit(req, None, "file.downloaded")
            outcome["download"] = "ok"
        except Exception as error:  # reported by the assertion below
            outcome["download"] = repr(error)
        finally:
            connections.close_all()

    locked = threading.Event()
    thread = threading.Thread(target=download)
    thread.start()
    wait_for(lambda: other_pid, what="the other connection")
    with transaction.atomic():
        FederationRequest.objects.select_for_update().get(pk=req.pk)
        locked.set()
        wait_for(lambda: waiting_for_a_lock(other_pid[0]), what="the download to wait")
        audit(req, None, "request.reviewed")
    thread.join(timeout=60)

    assert outcome == {"download": "ok"}
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "request.reviewed",
        "file.downloaded",
    ]
    assert audit_chain_report().intact


def waiting_for_a_lock(pid: int) -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"
