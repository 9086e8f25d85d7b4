"""The organisation's page to end its agreement: only the SPOC or signatory of a federated or
suspended request asks, after a confirmation step; others are told why in words."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from requests_app.models import (
    AuditEvent,
    Contact,
    ContactRole,
    OffboardingAsk,
    State,
)
from requests_app.services.offboarding import request_offboard
from tests.accounts.helpers import sign_in
from tests.factories import FederationRequestFactory
from tests.workbench.helpers import text

pytestmark = pytest.mark.django_db

SIGNATORY = "dana@partner.example"


@pytest.fixture
def req():
    req = FederationRequestFactory(state=State.FEDERATED)
    Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name="Dana Director",
        job_title="Director of Digital",
        email=SIGNATORY,
    )
    return req


def email_of(req, role) -> str:
    return req.contacts.get(role=role, removed_at__isnull=True).email


def page(req) -> str:
    return reverse("portal:offboarding_ask", args=[req.reference])


def answers(notice, **more) -> dict:
    return {
        "reason": "We are moving to NHSmail.",
        "notice_date_day": str(notice.day),
        "notice_date_month": str(notice.month),
        "notice_date_year": str(notice.year),
        **more,
    }


@pytest.mark.parametrize("role", [ContactRole.SPOC, ContactRole.SIGNATORY])
def test_the_spoc_or_signatory_checks_then_confirms(client, req, role):
    email = email_of(req, role)
    sign_in(client, email)
    request_page = client.get(reverse("portal:request", args=[req.reference]))
    assert f'href="{page(req)}"' in request_page.content.decode()
    notice = timezone.localdate() + timedelta(days=30)

    checking = client.post(page(req), answers(notice))

    assert checking.status_code == 200
    assert "Check your answers before you end the agreement" in text(checking)
    summary = re.sub(r"<[^>]+>", " ", text(checking))
    assert re.search(rf"Off NHSmail's allow list from\s+{notice.day} {notice:%B %Y}", summary)
    assert not OffboardingAsk.objects.exists()  # nothing asked before the confirmation

    changing = client.post(page(req), answers(notice, step="change"))
    assert 'value="check"' in changing.content.decode()
    assert not OffboardingAsk.objects.exists()

    done = client.post(page(req), answers(notice, step="confirm"), follow=True)

    ask = OffboardingAsk.objects.get()
    assert (ask.request, ask.asked_by_email, ask.notice_date) == (req, email, notice)
    assert AuditEvent.objects.get(action="request.offboarding_asked").actor_label == email
    assert done.redirect_chain[-1][0].endswith("#offboarding")
    shown = text(done)
    assert "Your ask to end the agreement was sent to the NHSmail Feedback team" in shown
    assert f"{email} asked on" in shown and "The NHSmail Feedback team is deciding" in shown
    assert "Your organisation has asked to end the agreement." in shown  # what happens next
    assert f'href="{page(req)}"' not in done.content.decode()  # one ask at a time
    again = client.get(page(req))
    assert "Your organisation has asked to end the agreement" in text(again)
    assert 'id="offboarding-form"' not in again.content.decode()


def test_the_form_refuses_a_past_date_and_no_reason(client, req):
    sign_in(client, email_of(req, ContactRole.SPOC))
    yesterday = timezone.localdate() - timedelta(days=1)

    response = client.post(page(req), answers(yesterday, reason="", step="confirm"))

    shown = text(response)
    assert "Say why your organisation is ending the agreement" in shown
    assert "must be today or in the future" in shown
    assert not OffboardingAsk.objects.exists()


def test_a_technical_contact_is_refused_in_words(client, req):
    sign_in(client, email_of(req, ContactRole.TECHNICAL))

    request_page = client.get(reverse("portal:request", args=[req.reference]))
    response = client.post(page(req), answers(timezone.localdate(), step="confirm"))

    assert f'href="{page(req)}"' not in request_page.content.decode()
    assert "SPOC or signatory can end the agreement" in text(request_page)
    assert response.status_code == 403
    assert "Only the request's SPOC or signatory can ask to end the agreement" in text(response)
    assert not OffboardingAsk.objects.exists()


def test_another_organisations_request_is_a_404(client, req):
    other = FederationRequestFactory(state=State.FEDERATED)
    sign_in(client, email_of(other, ContactRole.SPOC))

    assert client.get(page(req)).status_code == 404
    response = client.post(page(req), answers(timezone.localdate(), step="confirm"))
    assert response.status_code == 404
    assert not OffboardingAsk.objects.exists()


def test_a_request_not_in_force_is_refused_in_words(client):
    req = FederationRequestFactory(state=State.SIGNED)
    sign_in(client, email_of(req, ContactRole.SPOC))

    response = client.get(page(req))

    assert response.status_code == 403
    assert "only an agreement in force (federated or suspended) can be ended" in text(response)


def test_the_status_and_portal_pages_once_offboarded(client, req, feedback_user):
    client_spoc = email_of(req, ContactRole.SPOC)
    sign_in(client, client_spoc)
    client.post(page(req), answers(timezone.localdate(), step="confirm"))
    status = client.get(reverse("requests_app:status", args=[req.status_token]))
    assert "Your organisation asked on" in text(status)
    assert client_spoc not in status.content.decode()  # the private link names nobody

    request_offboard(request_id=req.pk, actor=feedback_user)

    status = text(client.get(reverse("requests_app:status", args=[req.status_token])))
    portal = text(client.get(reverse("portal:request", args=[req.reference])))
    for shown in (status, portal):
        assert "Offboarded" in shown
        assert "Your organisation ended the agreement" in shown
        assert "Why: We are moving to NHSmail." in shown
        assert "To federate again, make a new request at any time." in shown
        assert not re.search(r"deciding on it", shown)
