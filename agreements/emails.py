"""The agreement's emails: the one that carries the FPA, and those about signing and evidence
(reminders, returned evidence, expiry) to the requester, SPOC and signatory, and those of the
annual re-attestation to the SPOC and signatory."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from requests_app.emails import (
    one_line,
    request_email,
    request_email_key,
    request_recipients,
    send_once,
    status_url,
)
from requests_app.models import AdditionState, ContactRole, FederationRequest, State
from requests_app.selectors import current_signatory

from .models import Agreement, EvidenceCriterion, Reattestation
from .pdf import agreement_domains
from .sealing import sealing_configured
from .selectors import (
    AWAITING_ORGANISATION,
    agreement_lapsed,
    missing_evidence,
    returned_evidence,
    sent_agreement,
)


def sign_in_url() -> str:
    """Where the organisation's contacts sign in to the portal."""
    return settings.SITE_URL + reverse("accounts:sign_in")


SUBJECTS = {
    "evidence_returned": "Evidence needs more work for {ref}",
    "fpa_reminder": "Reminder: the agreement for {ref} is waiting to be signed",
    "evidence_reminder": "Reminder: evidence is still needed for {ref}",
    "agreement_expired": "The agreement for {ref} has expired",
}


def send_agreement_email(*, agreement_id: int) -> bool:
    """Send the issued FPA as a PDF attachment with the DCB1596 criteria."""
    agreement = Agreement.objects.select_related("request__organisation").get(pk=agreement_id)
    req = agreement.request
    body = render_to_string(
        "emails/agreement_sent.txt",
        {
            "req": req,
            "agreement": agreement,
            "criteria": EvidenceCriterion.objects.all(),
            "status_url": status_url(req),
            "sign_in_url": sign_in_url(),
            "portal_signing": sealing_configured(),
            "feedback_email": settings.FEEDBACK_TEAM_EMAIL,
        },
    )
    message = EmailMessage(
        subject=one_line(
            f"Federation Partnering Agreement for {req.organisation.name} ({req.reference})"
        ),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        # The signatory has an invitation of their own (send_signatory_invitation).
        to=request_recipients(req, with_signatory=False),
        reply_to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    with agreement.pdf.open("rb") as pdf:
        message.attach(agreement.download_name, pdf.read(), "application/pdf")
    return send_once(key=f"agreement:{agreement.pk}:sent", req=req, message=message)


def send_amendment_email(*, agreement_id: int, reminder: int = 0) -> bool:
    """Send the amended agreement adding a domain, as a PDF, to the requester, SPOC and
    signatory (who signs it in the portal); reminder > 0 sends it again as that reminder.
    Nothing once its addition is no longer waiting."""
    agreement = Agreement.objects.select_related(
        "request__organisation", "domain_addition__domain"
    ).get(pk=agreement_id)
    req, addition = agreement.request, agreement.domain_addition
    assert addition is not None  # only amendments are sent this way
    if addition.state != AdditionState.APPROVED or addition.agreement_lapsed():
        return False  # cancelled or expired since it was queued: judged when sent
    body = render_to_string(
        "emails/agreement_amendment_sent.txt",
        {
            "req": req,
            "agreement": agreement,
            "addition": addition,
            "added": addition.domain,
            "domains": agreement_domains(agreement),
            "status_url": status_url(req),
            "sign_in_url": sign_in_url(),
            "sign_url": settings.SITE_URL + reverse("portal:sign", args=[req.reference]),
            "portal_signing": sealing_configured(),
            "expiry_days": settings.FPA_EXPIRY_DAYS,
            "expires_on": addition.agreement_expires_on(),
            "reminder": reminder,
            "feedback_email": settings.FEEDBACK_TEAM_EMAIL,
        },
    )
    message = EmailMessage(
        subject=one_line(
            f"{'Reminder: sign the ' if reminder else ''}"
            f"{'a' if reminder else 'A'}mended Federation Partnering Agreement adding "
            f"{addition.domain.display_name} for {req.organisation.name} ({req.reference})"
        ),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=request_recipients(req),
        reply_to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    with agreement.pdf.open("rb") as pdf:
        message.attach(
            agreement.download_name.replace(".pdf", "-amended.pdf"), pdf.read(), "application/pdf"
        )
    kind = f"amendment_reminder:{reminder}" if reminder else "amendment_sent"
    return send_once(key=f"agreement:{agreement.pk}:{kind}", req=req, message=message)


def send_agreement_request_email(*, request_id: int, kind: str, key: str) -> bool:
    """Render and send the email of this kind (one of SUBJECTS) for the request."""
    req = FederationRequest.objects.select_related("organisation").get(pk=request_id)
    if kind == "fpa_reminder" and (req.state != State.FPA_SENT or agreement_lapsed(req)):
        return False  # signed, or expired, since the reminder was queued: judged when sent
    context = {
        "returned_items": returned_evidence(req),
        "missing_evidence": missing_evidence(req),
        "expiry_days": settings.FPA_EXPIRY_DAYS,
        "sign_in_url": sign_in_url(),
        "portal_signing": sealing_configured(),
    }
    message = request_email(req, kind=kind, subject=SUBJECTS[kind], context=context)
    return send_once(key=request_email_key(req, key), req=req, message=message)


def send_signatory_invitation(*, request_id: int, contact_id: int) -> bool:
    """Invite the named signatory to sign in and sign the issued FPA; nothing if they are no
    longer the signatory, or the agreement no longer waits for a signature."""
    req = FederationRequest.objects.select_related("organisation").get(pk=request_id)
    signatory = current_signatory(req)
    agreement = sent_agreement(req)
    if (
        signatory is None
        or signatory.pk != contact_id
        or agreement is None
        or req.state != State.FPA_SENT
        or agreement_lapsed(req)
    ):
        return False
    body = render_to_string(
        "emails/signatory_invitation.txt",
        {
            "req": req,
            "signatory": signatory,
            "sign_in_url": sign_in_url(),
            "sign_url": settings.SITE_URL + reverse("portal:sign", args=[req.reference]),
            "feedback_email": settings.FEEDBACK_TEAM_EMAIL,
        },
    )
    message = EmailMessage(
        subject=one_line(
            f"Please sign the Federation Partnering Agreement for {req.organisation.name} "
            f"({req.reference})"
        ),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[signatory.email],
        reply_to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    # Once per signatory and agreement: a fresh FPA after expiry invites them again.
    key = f"signatory_invitation:{agreement.pk}:{signatory.pk}"
    return send_once(key=key, req=req, message=message)


REATTESTATION_SUBJECTS = {
    "notice": "Please re-attest the agreement for {ref} by {date}",
    "reminder": "Reminder: please re-attest the agreement for {ref} by {date}",
    "returned": "The re-attestation for {ref} needs more work",
    "renewed": "The agreement for {ref} is renewed until {date}",
}
# Kinds that ask the organisation to act: not sent once the request is no longer federated, or
# once the organisation has answered (judged when sending, not only when queued).
REATTESTATION_ASKING = ("notice", "reminder", "returned")


def send_reattestation_email(*, reattestation_id: int, kind: str, key: str) -> bool:
    """The re-attestation's email of kind to the SPOC and the signatory (if named), once per
    key; False when not sent."""
    reattestation = Reattestation.objects.select_related("request__organisation").get(
        pk=reattestation_id
    )
    req = reattestation.request
    if kind in REATTESTATION_ASKING and (
        req.state != State.FEDERATED or reattestation.status not in AWAITING_ORGANISATION
    ):
        return False
    spocs = req.contacts.filter(role=ContactRole.SPOC, removed_at__isnull=True)
    signatory = current_signatory(req)
    addresses = [*(contact.email for contact in spocs), signatory.email if signatory else ""]
    body = render_to_string(
        "emails/reattestation.txt",
        {
            "req": req,
            "kind": kind,
            "reattestation": reattestation,
            "criteria": EvidenceCriterion.objects.order_by("position", "code"),
            "signatory": signatory,
            "page_url": settings.SITE_URL + reverse("portal:reattestation", args=[req.reference]),
            "sign_in_url": sign_in_url(),
            "feedback_email": settings.FEEDBACK_TEAM_EMAIL,
        },
    )
    when = reattestation.renewed_until if kind == "renewed" else reattestation.term_ends_on
    message = EmailMessage(
        subject=one_line(
            REATTESTATION_SUBJECTS[kind].format(ref=req.reference, date=f"{when:%d %B %Y}")
        ),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(dict.fromkeys(address.lower() for address in addresses if address)),
        reply_to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    return send_once(key=request_email_key(req, key), req=req, message=message)
