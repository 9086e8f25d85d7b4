"""The signatory named on the request is invited to sign in and sign once the FPA is sent:
named on the form beforehand, or by the SPOC while it waits for a signature."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from agreements.emails import send_signatory_invitation
from agreements.services.agreements import request_send_agreement
from agreements.services.notices import INVITATION_TASK
from agreements.services.reminders import agreement_expire
from requests_app.emails import request_recipients, send_spoc_change_email
from requests_app.models import Contact, ContactRole, FederationRequest, OutboxMessage, State
from requests_app.services.contacts import ContactDetails, contact_add, spoc_change_propose
from requests_app.services.lifecycle import request_withdraw
from tests.factories import AgreementFactory, FederationRequestFactory
from tests.helpers import reload, use_seal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def signing_on(settings, seal_paths):
    """Signing in the portal is on (the portal has its seal), as invitations need."""
    use_seal(settings, seal_paths)


DANA = ContactDetails(
    name="Dana Director", job_title="Director of Digital", email="dana@harbourside.example"
)


def invitations() -> list[dict]:
    return [row.kwargs for row in OutboxMessage.objects.filter(task_name=INVITATION_TASK)]


def spoc_of(req) -> str:
    return req.contacts.get(role=ContactRole.SPOC).email


def name_signatory(req, details=DANA) -> Contact:
    return contact_add(
        request_id=req.pk, actor_email=spoc_of(req), details=details, role=ContactRole.SIGNATORY
    )


def send_fpa(req, user) -> None:
    content = b"%PDF-1.4 the agreement"
    AgreementFactory(
        request=req,
        requested_by=user,
        pdf=ContentFile(content, name="fpa.pdf"),
        pdf_sha256=hashlib.sha256(content).hexdigest(),
        rendered_at=timezone.now(),
    )
    request_send_agreement(request_id=req.pk, actor=user)


def test_a_signatory_named_before_the_fpa_is_invited_when_it_is_sent(feedback_user, mailoutbox):
    req = FederationRequestFactory(state=State.REVIEWED)
    dana = name_signatory(req)
    assert invitations() == []  # nothing to sign yet

    send_fpa(req, feedback_user)

    assert invitations() == [{"request_id": req.pk, "contact_id": dana.pk}]
    assert send_signatory_invitation(request_id=req.pk, contact_id=dana.pk) is True
    (message,) = mailoutbox
    assert message.to == ["dana@harbourside.example"]
    assert req.reference in message.subject
    assert f"/account/requests/{req.reference}/sign/" in message.body
    assert "/account/sign-in/" in message.body
    assert "needs no printing, scanning or emailing back" in message.body
    # Sent once, however often the task runs.
    assert send_signatory_invitation(request_id=req.pk, contact_id=dana.pk) is False
    assert len(mailoutbox) == 1


def test_a_signatory_named_while_the_fpa_waits_is_invited_at_once(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)
    send_fpa(req, feedback_user)
    assert invitations() == []  # nobody to invite

    dana = name_signatory(req)

    assert invitations() == [{"request_id": req.pk, "contact_id": dana.pk}]


def test_a_signatory_replaced_before_the_email_went_is_not_sent_it(feedback_user, mailoutbox):
    req = FederationRequestFactory(state=State.REVIEWED)
    send_fpa(req, feedback_user)
    dana = name_signatory(req)
    pat = name_signatory(
        req, ContactDetails(name="Pat Chief", job_title="Chief Executive", email="pat@h.example")
    )

    assert send_signatory_invitation(request_id=req.pk, contact_id=dana.pk) is False
    assert send_signatory_invitation(request_id=req.pk, contact_id=pat.pk) is True
    assert [message.to for message in mailoutbox] == [["pat@h.example"]]


def test_without_portal_signing_nobody_is_invited_to_sign_there(feedback_user, settings):
    settings.SEAL_KEY_FILE = ""  # no seal: signing in the portal is off
    req = FederationRequestFactory(state=State.REVIEWED)
    name_signatory(req)

    send_fpa(req, feedback_user)

    assert invitations() == []


def test_a_fresh_agreement_after_expiry_invites_the_signatory_again(feedback_user, mailoutbox):
    req = FederationRequestFactory(state=State.REVIEWED)
    dana = name_signatory(req)
    send_fpa(req, feedback_user)
    assert send_signatory_invitation(request_id=req.pk, contact_id=dana.pk) is True
    later = timezone.now() + timezone.timedelta(days=365)
    agreement_expire(request_id=req.pk, now=later)
    assert reload(req).state == State.REVIEWED

    send_fpa(req, feedback_user)

    assert send_signatory_invitation(request_id=req.pk, contact_id=dana.pk) is True
    assert len(mailoutbox) == 2


def test_an_invitation_for_a_request_no_longer_waiting_is_not_sent(feedback_user, mailoutbox):
    req = FederationRequestFactory(state=State.REVIEWED)
    dana = name_signatory(req)
    send_fpa(req, feedback_user)
    request_withdraw(request_id=req.pk, actor=None, reason="No longer needed.")

    assert send_signatory_invitation(request_id=req.pk, contact_id=dana.pk) is False
    assert mailoutbox == []


def test_a_signatory_typed_on_the_public_form_hears_nothing_before_an_agreement_is_sent(
    feedback_user,
):
    req = FederationRequestFactory(state=State.SUBMITTED)
    name_signatory(req)
    assert "dana@harbourside.example" not in request_recipients(req)

    FederationRequest.objects.filter(pk=req.pk).update(fpa_sent_at=timezone.now())
    assert "dana@harbourside.example" in request_recipients(reload(req))


def test_a_change_of_spoc_does_not_email_a_signatory_before_an_agreement_is_sent(mailoutbox):
    # The same rule for every request email: the address typed on the public form waits.
    req = FederationRequestFactory(state=State.SUBMITTED)
    name_signatory(req)
    change = spoc_change_propose(
        request_id=req.pk,
        actor_email=spoc_of(req),
        details=ContactDetails(name="Pat New", job_title="IT Lead", email="pat@h.example"),
    )

    send_spoc_change_email(change_id=change.pk, kind="proposed")

    (message,) = mailoutbox
    assert "dana@harbourside.example" not in message.to
    assert "pat@h.example" in message.to
