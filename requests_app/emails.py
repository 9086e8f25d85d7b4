"""Emails about a request, sent from the worker, each once (SentEmail keys: see send_once)."""

import logging
import time
import uuid
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    transaction,
)
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .audit import audit
from .domains import domain_unicode
from .models import (
    AGREEMENT_SENT_STATES,
    CheckRun,
    ContactRole,
    DomainAddition,
    FederationRequest,
    OffboardingAsk,
    PendingSubmission,
    RemediationCase,
    RemediationClosure,
    RequestedDomain,
    SentEmail,
    SpocChange,
)
from .selectors import current_signatory, overdue_remediation_cases

logger = logging.getLogger(__name__)

SUBJECTS = {
    "submitted": "Your Teams federation request {ref} has been received",
    "rejected": "Your Teams federation request {ref} has not been accepted",
    "withdrawn": "Your Teams federation request {ref} has been withdrawn",
    "signed": "We have received the signed agreement for {ref}",
    "federated": "Your domains are federated with NHSmail ({ref})",
    "suspended": "Federation with NHSmail is suspended for {ref}",
    "reinstated": "Federation with NHSmail is restored for {ref}",
    "revoked": "Your Federation Partnering Agreement has been revoked ({ref})",
}


def status_url(req: FederationRequest) -> str:
    return settings.SITE_URL + reverse("requests_app:status", args=[req.status_token])


def signatory_address(req: FederationRequest) -> str:
    """The signatory's address for request emails, or "". Only once an agreement has been
    sent: an address typed on the public form gets nothing before staff have reviewed it."""
    sent = req.state in AGREEMENT_SENT_STATES or req.fpa_sent_at is not None
    signatory = current_signatory(req) if sent else None
    return signatory.email if signatory else ""


def request_recipients(req: FederationRequest, *, with_signatory: bool = True) -> list[str]:
    """The requester, the SPOC and the signatory (see signatory_address), once each."""
    spocs = req.contacts.filter(role=ContactRole.SPOC, removed_at__isnull=True)
    signatory = signatory_address(req) if with_signatory else ""
    addresses = [req.requester_email, signatory, *(contact.email for contact in spocs)]
    return list(dict.fromkeys(a.lower() for a in addresses if a))


def one_line(text: str) -> str:
    """A subject on one line, whatever the data in it holds (a header cannot carry a newline)."""
    return " ".join(text.split())


class EmailInProgress(Exception):
    """Another run of the same email holds it (a redelivered job while the first still runs):
    the task retries in retry_in seconds and finds it sent, or the claim lapsed with its dead
    holder."""

    def __init__(self, message: str, *, retry_in: float):
        super().__init__(message)
        self.retry_in = retry_in


# A claim older than the email task's hard time limit (email_task: 90 s) belongs to a run that
# is dead: a live one has been killed by then.
EMAIL_CLAIM_SECONDS = 120
# Marking an email sent retries the database this long (within the task's soft time limit).
MARK_SENT_SECONDS = 30


def send_once(*, key: str, req: FederationRequest | None, message: EmailMessage) -> bool:
    """Send message unless the email with key went already; False when it had.

    Claim, send, mark, each in its own committed transaction (so never call this inside
    transaction.atomic): a claimed row keeps a second run of the job from sending too; a mail
    server's refusal releases the claim for the task's retry; once sent the row is marked sent,
    retrying the database for MARK_SENT_SECONDS. The one window left is a worker killed, or the
    database away longer than that, between the mail server's acceptance and the mark: the retry
    then sends again once the claim has lapsed. At least once, chosen over at most once: a
    duplicate notice is better than a lost one (a lost one is never noticed).
    """
    token = uuid.uuid4().hex
    if not _claim(key=key, req=req, message=message, token=token):
        return False
    try:
        message.send(fail_silently=False)
    except BaseException:
        _release(key=key, token=token)
        raise
    _mark_sent(key=key, token=token)
    return True


def _claim(*, key: str, req: FederationRequest | None, message: EmailMessage, token: str) -> bool:
    """Take the email for this run (True), or False when it has been sent; EmailInProgress
    while another run holds it."""
    now = timezone.now()
    with transaction.atomic():
        row, created = SentEmail.objects.select_for_update().get_or_create(
            key=key,
            defaults={
                "request": req,
                "recipients": ", ".join(message.to),
                "subject": message.subject,
                "claimed_at": now,
                "claim_token": token,
            },
        )
        if created:
            return True
        if row.sent_at is not None:
            return False
        lapses_at = row.claimed_at + timedelta(seconds=EMAIL_CLAIM_SECONDS)
        if row.claim_token and lapses_at > now:
            raise EmailInProgress(
                f"The email {key} is being sent by another run.",
                retry_in=(lapses_at - now).total_seconds() + 1,
            )
        row.claimed_at, row.claim_token = now, token
        row.save(update_fields=["claimed_at", "claim_token"])
        return True


def _release(*, key: str, token: str) -> None:
    """The send failed: free the claim for the retry (if the database is away too, it lapses)."""
    try:
        SentEmail.objects.filter(key=key, claim_token=token, sent_at__isnull=True).update(
            claim_token=""
        )
    except DatabaseError:
        logger.warning("could not release the claim on email %s; it lapses", key)


def _mark_sent(*, key: str, token: str) -> None:
    deadline = time.monotonic() + MARK_SENT_SECONDS
    pause = 0.5
    while True:
        try:
            SentEmail.objects.filter(key=key, claim_token=token).update(sent_at=timezone.now())
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("email %s sent; the database is away, marking it again", key)
            close_old_connections()
            time.sleep(pause)
            pause = min(pause * 2, 5)


def request_email(
    req: FederationRequest, *, kind: str, subject: str, context: dict | None = None
) -> EmailMessage:
    """The email of kind (templates/emails/<kind>.txt) to the requester, SPOC and signatory;
    context adds to what every such email knows."""
    body = render_to_string(
        f"emails/{kind}.txt",
        {
            "req": req,
            "status_url": status_url(req),
            "feedback_email": settings.FEEDBACK_TEAM_EMAIL,
            # What the request covers: a domain removed after federation is named apart.
            "domains": [d.display_name for d in req.domains.kept()],
            **(context or {}),
        },
    )
    return EmailMessage(
        subject=one_line(subject.format(ref=req.reference)),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=request_recipients(req),
        reply_to=[settings.FEEDBACK_TEAM_EMAIL],
    )


def request_email_key(req: FederationRequest, key: str) -> str:
    """The SentEmail key of a request's email: each is sent once."""
    return f"request:{req.pk}:{key}"


def send_confirmation_link(submission: PendingSubmission, *, secret: str) -> bool:
    """The link that turns a public form's submission into a request, to the requester only."""
    answers = submission.answers
    body = render_to_string(
        "emails/confirm_email.txt",
        {
            "name": answers["requester_name"],
            "organisation": answers["organisation_name"],
            "domains": [domain_unicode(name) for name in answers["domains"]],
            "url": settings.SITE_URL + reverse("requests_app:confirm_email", args=[secret]),
            "hours": settings.REQUESTER_CONFIRM_HOURS,
            "feedback_email": settings.FEEDBACK_TEAM_EMAIL,
        },
    )
    message = EmailMessage(
        subject="Confirm your email address to send your Teams federation request",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[submission.requester_email],
        reply_to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    return send_once(
        key=f"submission:{submission.pk}:link:{submission.links_sent}", req=None, message=message
    )


def send_request_email(*, request_id: int, kind: str, key: str) -> bool:
    """Render and send the email of this kind for the request."""
    req = FederationRequest.objects.select_related("organisation").get(pk=request_id)
    message = request_email(req, kind=kind, subject=SUBJECTS[kind])
    return send_once(key=request_email_key(req, key), req=req, message=message)


def send_checks_worsened_email(*, request_id: int, run_id: int) -> bool:
    """Tell the Feedback team which checks of a federated request's domains got worse."""
    runs = CheckRun.objects.select_related("request__organisation")
    run = runs.get(pk=run_id, request_id=request_id)
    req = run.request
    context = {
        "req": req,
        "run": run,
        "worsened": [{**item, "domain": domain_unicode(item["domain"])} for item in run.worsened],
        "admin_url": settings.SITE_URL
        + reverse("admin:requests_app_federationrequest_change", args=[req.pk]),
    }
    message = EmailMessage(
        subject=one_line(f"Domain checks got worse for {req.organisation.name} ({req.reference})"),
        body=render_to_string("emails/checks_worsened.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    return send_once(key=f"checkrun:{run.pk}:worsened", req=req, message=message)


REMEDIATION_SUBJECTS = {
    "remediation_opened": "Action needed by {due}: your domains' checks got worse ({ref})",
    "remediation_extended": "More to fix by {due}: your domains' checks got worse ({ref})",
    "remediation_closed": "Fixed: nothing more to do on your domains' checks ({ref})",
    "remediation_closed_by_staff": "Closed: the case about your domains' checks ({ref})",
}


def send_remediation_email(*, request_id: int, case_id: int, kind: str, key: str) -> bool:
    """Tell the organisation what got worse on its domains, how to fix it and by when; or
    that the case is closed (fixed, or closed by the team with its reason)."""
    cases = RemediationCase.objects.select_related("request__organisation")
    case = cases.get(pk=case_id, request_id=request_id)
    req = case.request
    by_staff = kind == "remediation_closed" and case.how_closed == RemediationClosure.STAFF
    subject = REMEDIATION_SUBJECTS[f"{kind}_by_staff" if by_staff else kind]
    subject = subject.replace("{due}", f"{case.due_date:%d %B %Y}")
    message = request_email(
        req,
        kind=kind,
        subject=subject,
        context={"case": case, "items": case.items_for_people()},
    )
    return send_once(
        key=request_email_key(req, f"remediation:{case.pk}:{key}"), req=req, message=message
    )


def send_overdue_remediation_email(*, on_date: str) -> bool:
    """The Feedback team's list of remediation cases past their due date on on_date, once a day:
    each awaits a person's decision (suspend, or wait)."""
    today = date.fromisoformat(on_date)
    cases = list(overdue_remediation_cases(today=today))
    if not cases:
        return False
    context = {
        "today": today,
        "cases": [
            {
                "case": case,
                "items": [item for item in case.items_for_people() if not item.get("fixed")],
                "days_overdue": (today - case.due_date).days,
                "admin_url": settings.SITE_URL
                + reverse("admin:requests_app_federationrequest_change", args=[case.request_id])
                + "#remediation",
            }
            for case in cases
        ],
        "list_url": settings.SITE_URL
        + reverse("admin:requests_app_remediationcase_changelist")
        + "?overdue=yes",
    }
    count = len(cases)
    message = EmailMessage(
        subject=f"{count} remediation case{'s' if count != 1 else ''} past due ({today:%d %B %Y})",
        body=render_to_string("emails/remediation_overdue.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    return send_once(key=f"remediation-overdue:{on_date}", req=None, message=message)


SPOC_CHANGE_SUBJECTS = {
    "proposed": "A new SPOC has been proposed for {ref}",
    "confirmed": "The SPOC for {ref} has changed",
    "declined": "The proposed change of SPOC for {ref} was declined",
}


def send_spoc_change_email(*, change_id: int, kind: str) -> bool:
    """Tell the old SPOC, the new SPOC, the signatory and the proposer about a change of SPOC."""
    change = SpocChange.objects.select_related("request__organisation").get(pk=change_id)
    req = change.request
    addresses = [
        change.previous_spoc_email,
        change.email,
        change.proposed_by,
        signatory_address(req),
    ]
    message = EmailMessage(
        subject=one_line(SPOC_CHANGE_SUBJECTS[kind].format(ref=req.reference)),
        body=render_to_string(
            "emails/spoc_change.txt",
            {
                "req": req,
                "change": change,
                "kind": kind,
                "feedback_email": settings.FEEDBACK_TEAM_EMAIL,
                "account_url": settings.SITE_URL + reverse("portal:home"),
            },
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(dict.fromkeys(a.lower() for a in addresses if a)),
        reply_to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    return send_once(key=f"spocchange:{change.pk}:{kind}", req=req, message=message)


OFFBOARDING_SUBJECTS = {
    "asked": "Your organisation has asked to end its agreement ({ref})",
    "declined": "Your ask to end the agreement was declined ({ref})",
    "offboarded": "Your Federation Partnering Agreement has ended ({ref})",
}


def send_offboarding_email(*, ask_id: int, kind: str) -> bool:
    """Tell the requester, SPOC and signatory about an ask to end the agreement: received (the
    Feedback team copied, to decide it), declined, or confirmed."""
    ask = OffboardingAsk.objects.select_related("request__organisation").get(pk=ask_id)
    req = ask.request
    message = request_email(
        req,
        kind=f"offboarding_{kind}",
        subject=OFFBOARDING_SUBJECTS[kind],
        context={"ask": ask, "account_url": settings.SITE_URL + reverse("portal:home")},
    )
    # Whoever asked hears of it too, whatever their role is by the time it is sent.
    message.to = list(dict.fromkeys([*message.to, ask.asked_by_email.lower()]))
    if kind == "asked":
        message.cc = [settings.FEEDBACK_TEAM_EMAIL]
    return send_once(key=f"offboarding:{ask.pk}:{kind}", req=req, message=message)


def send_domain_removed_email(*, request_id: int, domain_id: int) -> bool:
    """Tell the requester, SPOC and signatory that one of the request's domains leaves the
    allow list, from when and why, and which domains stay."""
    domain = RequestedDomain.objects.select_related("request__organisation").get(
        pk=domain_id, request_id=request_id, removed_at__isnull=False
    )
    req = domain.request
    message = request_email(
        req,
        kind="domain_removed",
        subject=f"{domain.display_name} leaves NHSmail's allow list ({{ref}})",
        context={"removed": domain},
    )
    return send_once(key=f"request:{req.pk}:domain_removed:{domain.pk}", req=req, message=message)


DOMAIN_ADDITION_SUBJECTS = {
    "requested": "We have your ask to add {domain} ({{ref}})",
    "refused": "{domain} is not added to your federation with NHSmail ({{ref}})",
    "added": "{domain} is on NHSmail's allow list ({{ref}})",
    "cancelled": "Adding {domain} is cancelled ({{ref}})",
    "expired": "The amended agreement adding {domain} has expired ({{ref}})",
}


def send_domain_addition_email(*, addition_id: int, kind: str) -> bool:
    """Tell the requester, SPOC and signatory where an ask to add a domain stands (kind one of
    DOMAIN_ADDITION_SUBJECTS); whoever asked hears too, and the Feedback team of a new ask."""
    addition = DomainAddition.objects.select_related("request__organisation", "domain").get(
        pk=addition_id
    )
    req = addition.request
    subject = DOMAIN_ADDITION_SUBJECTS[kind].format(domain=addition.domain.display_name)
    message = request_email(
        req,
        kind=f"domain_addition_{kind}",
        subject=subject,
        context={"addition": addition, "added": addition.domain},
    )
    message.to = list(dict.fromkeys([*message.to, addition.requested_by_email.lower()]))
    if kind == "requested":
        message.cc = [settings.FEEDBACK_TEAM_EMAIL]
    return send_once(key=f"domain_addition:{addition.pk}:{kind}", req=req, message=message)


def request_id_of_domain_addition(addition_id: int) -> int:
    return DomainAddition.objects.values_list("request_id", flat=True).get(pk=addition_id)


def request_id_of_offboarding_ask(ask_id: int) -> int:
    return OffboardingAsk.objects.values_list("request_id", flat=True).get(pk=ask_id)


def request_id_of_spoc_change(change_id: int) -> int:
    return SpocChange.objects.values_list("request_id", flat=True).get(pk=change_id)


def record_email_failure(*, request_id: int | None, task_name: str, reason: str) -> None:
    """Staff see in the request's audit log that an email could not be sent."""
    req = FederationRequest.objects.filter(pk=request_id).first()
    audit(req, None, "email.failed", message=f"{task_name}: {reason}"[:2000])
