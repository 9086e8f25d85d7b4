"""Celery tasks: ids in, call a service. Retries and limits live here."""

import logging

from celery import shared_task, states
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_postrun
from django.conf import settings
from django.db import DatabaseError

from . import emails, outbox
from .checks import engine, resolver
from .email_task import EMAIL_TASK_OPTIONS, RETRY_OPTIONS, TRANSIENT_DATABASE_ERRORS, EmailTask
from .services import check_runs, domain_additions, remediation, submissions

logger = logging.getLogger(__name__)


@task_postrun.connect
def close_outbox_row(task_id=None, state=None, **kwargs):
    """An outbox job that ran to its end (not one waiting for a retry) closes its row; if the
    database is away, the row stays open and the job is published again later (idempotent)."""
    if state in (states.SUCCESS, states.FAILURE):
        try:
            outbox.job_finished(task_id)
        except DatabaseError:
            logger.warning("could not close the outbox row of %s; it is redone later", task_id)


@shared_task(base=EmailTask, **EMAIL_TASK_OPTIONS)
def send_request_email(request_id: int, kind: str, key: str) -> bool:
    return emails.send_request_email(request_id=request_id, kind=kind, key=key)


@shared_task(base=EmailTask, **EMAIL_TASK_OPTIONS)
def send_domain_removed_email(request_id: int, domain_id: int) -> bool:
    return emails.send_domain_removed_email(request_id=request_id, domain_id=domain_id)


class DomainAdditionEmailTask(EmailTask):
    def request_id_of(self, kwargs: dict) -> int:
        return emails.request_id_of_domain_addition(kwargs["addition_id"])


@shared_task(base=DomainAdditionEmailTask, **EMAIL_TASK_OPTIONS)
def send_domain_addition_email(addition_id: int, kind: str) -> bool:
    return emails.send_domain_addition_email(addition_id=addition_id, kind=kind)


@shared_task(
    acks_late=True,
    soft_time_limit=300,
    time_limit=settings.TASK_LONGEST_TIME_LIMIT,
    autoretry_for=TRANSIENT_DATABASE_ERRORS,  # each addition expires once, under its lock
    **RETRY_OPTIONS,
    max_retries=5,
)
def expire_domain_additions() -> int:
    """Beat, daily: additions whose amended agreement lapsed unsigned expire."""
    return domain_additions.domain_additions_expire()


@shared_task(base=EmailTask, **EMAIL_TASK_OPTIONS)
def send_checks_worsened_email(request_id: int, run_id: int) -> bool:
    return emails.send_checks_worsened_email(request_id=request_id, run_id=run_id)


@shared_task(base=EmailTask, **EMAIL_TASK_OPTIONS)
def send_remediation_email(request_id: int, case_id: int, kind: str, key: str) -> bool:
    return emails.send_remediation_email(request_id=request_id, case_id=case_id, kind=kind, key=key)


@shared_task(base=EmailTask, **EMAIL_TASK_OPTIONS)
def send_overdue_remediation_email(on_date: str) -> bool:
    return emails.send_overdue_remediation_email(on_date=on_date)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def list_overdue_remediation_cases() -> int:
    """Beat, daily: the Feedback team's list of remediation cases past their due date."""
    return remediation.remediation_list_overdue()


@shared_task(base=EmailTask, **EMAIL_TASK_OPTIONS)
def send_confirmation_link(submission_id: int, link_number: int) -> bool:
    return submissions.submission_send_link(submission_id=submission_id, link_number=link_number)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def expire_submissions() -> int:
    """Beat, hourly: delete public submissions whose confirmation link has expired."""
    return submissions.submissions_expire()


class SpocChangeEmailTask(EmailTask):
    def request_id_of(self, kwargs: dict) -> int:
        return emails.request_id_of_spoc_change(kwargs["change_id"])


@shared_task(base=SpocChangeEmailTask, **EMAIL_TASK_OPTIONS)
def send_spoc_change_email(change_id: int, kind: str) -> bool:
    return emails.send_spoc_change_email(change_id=change_id, kind=kind)


class OffboardingEmailTask(EmailTask):
    def request_id_of(self, kwargs: dict) -> int:
        return emails.request_id_of_offboarding_ask(kwargs["ask_id"])


@shared_task(base=OffboardingEmailTask, **EMAIL_TASK_OPTIONS)
def send_offboarding_email(ask_id: int, kind: str) -> bool:
    return emails.send_offboarding_email(ask_id=ask_id, kind=kind)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def outbox_dispatch() -> int:
    """Beat: publish outbox rows a broker outage kept back. Not retried: beat runs it again
    within its period (30 s), database outage or not."""
    return outbox.dispatch_pending()


# A domain has DNS_DOMAIN_DEADLINE (10 s) for its queries and about 8 s per MX probe; the soft
# limit catches anything that still hangs, and its time-out is stored as the domain's result.
# Celery puts the publisher's limits in the message, and the worker enforces those.
CHECK_SOFT_TIME_LIMIT = settings.CHECKS_SOFT_TIME_LIMIT


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=CHECK_SOFT_TIME_LIMIT,
    time_limit=CHECK_SOFT_TIME_LIMIT + 30,
    # Only the database can fail here: DNS failures and time-outs are results, not errors.
    autoretry_for=TRANSIENT_DATABASE_ERRORS,
    **RETRY_OPTIONS,
    max_retries=5,
)
def run_domain_check(self, run_id: int, domain: str) -> str:
    """Run every check for one domain of a check run and record its report."""
    try:
        (report,) = engine.check_domains_sync([domain])
        report_dict = report.as_dict()
    except SoftTimeLimitExceeded:
        logger.warning("checks of %s (run %s) timed out", domain, run_id)
        _hard, soft = self.request.timelimit or (None, None)
        seconds = soft or self.soft_time_limit
        report_dict = check_runs.timed_out_report(domain, int(seconds))
    except resolver.NameserverError as error:
        logger.error("checks of %s (run %s): bad DNS_NAMESERVERS: %s", domain, run_id, error)
        report_dict = check_runs.unreachable_report(domain, str(error))
    except Exception as error:  # a bug in a rule must not leave the run pending for ever
        logger.exception("checks of %s (run %s) failed", domain, run_id)
        report_dict = check_runs.failed_report(domain, f"{type(error).__name__}: {error}")
    check = check_runs.check_run_record(run_id=run_id, domain=domain, report_dict=report_dict)
    return check.verdict


@shared_task(
    acks_late=True,
    soft_time_limit=300,
    time_limit=settings.TASK_LONGEST_TIME_LIMIT,
    autoretry_for=TRANSIENT_DATABASE_ERRORS,
    **RETRY_OPTIONS,
    max_retries=5,
)
def recheck_federated_domains() -> int:
    """Beat, weekly: check every federated request's domains again."""
    return check_runs.recheck_federated()
