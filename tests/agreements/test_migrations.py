"""Data migrations run against a real database, forwards and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("agreements", "0005_signature_check")]
AFTER = [("agreements", "0006_agreement_emails_task")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_outbox_rows_of_the_moved_agreement_emails_name_the_task_that_sends_them():
    apps = migrate(BEFORE)
    outbox = apps.get_model("requests_app", "OutboxMessage")
    old = "requests_app.tasks.send_request_email"
    moved = outbox.objects.create(
        task_name=old, kwargs={"request_id": 1, "kind": "fpa_reminder", "key": "fpa:1"}
    )
    stays = outbox.objects.create(
        task_name=old, kwargs={"request_id": 1, "kind": "submitted", "key": "submitted"}
    )

    apps = migrate(AFTER)
    outbox = apps.get_model("requests_app", "OutboxMessage")

    assert outbox.objects.get(pk=moved.pk).task_name == "agreements.tasks.agreement_request_email"
    assert outbox.objects.get(pk=stays.pk).task_name == old
    migrate(BEFORE)
    assert outbox.objects.get(pk=moved.pk).task_name == old


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema():
    """Every later test needs every migration applied, whatever this file rolled back."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
