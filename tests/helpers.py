"""Small assertions shared by the service, view and admin tests."""

import re
from urllib.parse import urlsplit

from django.core import mail
from django.utils import timezone
from django_otp.oath import totp

from requests_app.models import (
    AuditEvent,
    CheckRunState,
    FederationRequest,
    OutboxMessage,
    PendingSubmission,
)
from requests_app.services.check_runs import check_run_record
from requests_app.services.contacts import ContactDetails
from requests_app.services.lifecycle import request_submit
from requests_app.services.submissions import submission_send_link

CONFIRM_LINK = re.compile(r"https?://\S+/request/confirm/[^/\s]+/")


def confirmation_link_path(body: str) -> str:
    """The path of the confirmation link in an email's body."""
    match = CONFIRM_LINK.search(body)
    assert match, "no confirmation link in the email"
    return urlsplit(match.group(0)).path


def confirm_submission(client) -> FederationRequest:
    """Play the worker (email the newest submission's link) and the requester (press the
    button on the page it opens); the request the submission became."""
    submission = PendingSubmission.objects.latest("pk")
    assert submission_send_link(submission_id=submission.pk, link_number=submission.links_asked)
    response = client.post(confirmation_link_path(mail.outbox[-1].body))
    assert response.status_code == 302, response.content.decode()[:2000]
    submission.refresh_from_db()
    assert submission.request is not None
    return submission.request


def reload(req) -> FederationRequest:
    """The request as the next page load would see it."""
    return FederationRequest.objects.get(pk=req.pk)


def audit_trail(req) -> list[tuple]:
    return [
        (event.action, event.from_state, event.to_state, event.actor)
        for event in AuditEvent.objects.filter(request_id=req.pk).order_by("pk")
    ]


def outbox_rows() -> list[tuple]:
    return [(row.task_name, row.kwargs) for row in OutboxMessage.objects.order_by("pk")]


def assert_untouched(req, state):
    """Nothing a person could see changed: same state, no audit event, no job queued."""
    assert reload(req).state == state
    assert audit_trail(req) == []
    assert OutboxMessage.objects.count() == 0


def submit_lakeside_care(**overrides) -> FederationRequest:
    """A request submitted through the service, as the public form would, for Lakeside Care."""
    arguments = {
        "organisation_name": "Lakeside Care",
        "ods_code": "",
        "has_nhsmail_presence": False,
        "domains": ["lakeside-care.example.org.uk"],
        "justification": "Teams federation",
        "requester_name": "Lee Requester",
        "requester_email": "lee@lakeside-care.example.org.uk",
        "spoc": ContactDetails("Sam Spoc", "IT Manager", "sam@lakeside-care.example.org.uk"),
        "technical_contact": ContactDetails(
            "Tess Tech", "Engineer", "tess@lakeside-care.example.org.uk"
        ),
        **overrides,
    }
    return request_submit(**arguments)


def finish_check_runs(req, *, status: str = "pass") -> None:
    """Record a result for every domain of req's running check runs, as the worker would."""
    for run in req.check_runs.filter(state=CheckRunState.PENDING):
        for name in req.domains.values_list("name", flat=True):
            report = {
                "domain": name,
                "checked_at": timezone.now().isoformat(),
                "verdict": status,
                "checks": [{"id": "dmarc", "status": status, "summary": f"DMARC: {status}"}],
            }
            check_run_record(run_id=run.pk, domain=name, report_dict=report)


def authenticator_code(device) -> str:
    """The code a TOTP device's authenticator app shows now."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{value:0{device.digits}d}"


def use_seal(settings, paths: dict[str, str]) -> None:
    """Seal with the certificate at paths (agreements.dev_seal.make_seal_ca), trusting its CA."""
    settings.SEAL_KEY_FILE = paths["key"]
    settings.SEAL_CERT_FILE = paths["cert"]
    settings.SEAL_CHAIN_FILES = [paths["ca"]]
    settings.SEAL_TRUST_ROOT_FILES = [paths["ca"]]
