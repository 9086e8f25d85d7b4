"""The agreement's emails (returned evidence, reminders, expiry) moved from requests_app's email
task to agreements' own. Outbox rows already written name the old task: renamed here, so those
not yet delivered are sent by the task that knows them, and the reminders' once-per-period look
(which reads every row, sent or not) still finds the periods already reminded."""

from django.db import migrations

OLD_TASK = "requests_app.tasks.send_request_email"
NEW_TASK = "agreements.tasks.agreement_request_email"
MOVED_KINDS = ["evidence_returned", "fpa_reminder", "evidence_reminder", "agreement_expired"]


def rename(apps, schema_editor, *, old: str, new: str) -> None:
    outbox = apps.get_model("requests_app", "OutboxMessage")
    outbox.objects.using(schema_editor.connection.alias).filter(task_name=old, kwargs__kind__in=MOVED_KINDS).update(task_name=new)


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0005_signature_check"),
        ("requests_app", "0010_teams_setup"),
    ]

    operations = [
        migrations.RunPython(
            lambda apps, editor: rename(apps, editor, old=OLD_TASK, new=NEW_TASK),
            lambda apps, editor: rename(apps, editor, old=NEW_TASK, new=OLD_TASK),
        ),
    ]
