"""The timing of recovery (settings/base.py): every task fits under the broker's visibility
timeout, so a dead worker's jobs come back in minutes and a live worker's are never handed out
twice; staff retry windows come after that recovery."""

from django.conf import settings

from federation_portal.celery import app


def project_tasks():
    app.loader.import_default_modules()
    return [task for name, task in sorted(app.tasks.items()) if not name.startswith("celery.")]


def test_every_task_has_limits_within_the_longest_and_retries_within_the_backoff_cap():
    tasks = project_tasks()
    assert len(tasks) >= 10
    for task in tasks:
        assert task.acks_late, task.name
        assert task.soft_time_limit and task.time_limit, f"{task.name} has no time limit"
        assert task.soft_time_limit < task.time_limit <= settings.TASK_LONGEST_TIME_LIMIT, task.name
        if getattr(task, "autoretry_for", ()):
            assert task.retry_backoff, f"{task.name} retries without backoff"
            assert task.retry_backoff_max <= settings.TASK_RETRY_BACKOFF_MAX, task.name


def test_the_visibility_timeout_exceeds_what_a_live_worker_holds_and_recovery_is_minutes():
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    held = settings.TASK_RETRY_BACKOFF_MAX + settings.TASK_LONGEST_TIME_LIMIT
    assert options["visibility_timeout"] > held
    recovery = options["visibility_timeout"] + options["unacked_restore_interval"] * options.get(
        "unacked_restore_throttle", 10
    )
    assert recovery <= 15 * 60  # minutes, not the hour it was
    render = app.tasks["agreements.tasks.agreement_render"].time_limit
    checks = app.tasks["requests_app.tasks.run_domain_check"].time_limit
    assert recovery + render < settings.AGREEMENT_RENDER_STALE_MINUTES * 60
    assert recovery + checks < settings.CHECK_RUN_LOST_MINUTES * 60


def test_a_job_is_published_again_only_once_it_cannot_still_be_running():
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    recovery = options["visibility_timeout"] + options["unacked_restore_interval"]
    for task in project_tasks():
        runs = 1 + (task.max_retries or 0) if getattr(task, "autoretry_for", ()) else 1
        backoff = sum(
            min(task.retry_backoff * 2**attempt, task.retry_backoff_max)
            for attempt in range(runs - 1)
        )
        longest = recovery + runs * task.time_limit + backoff
        assert longest < settings.OUTBOX_REDISPATCH_SECONDS, task.name


def test_a_lost_webhook_job_is_resumed_only_once_the_broker_would_have_brought_it_back():
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    recovery = options["visibility_timeout"] + options["unacked_restore_interval"]
    assert recovery < settings.WEBHOOK_RESUME_AFTER_SECONDS
