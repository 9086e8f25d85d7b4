"""The SPOC's page to add a domain to a federated request, and the signatory signing the
amended agreement in the portal: the domain then joins the allow list. Others are refused in
words; another organisation's request is a 404."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from agreements.models import Agreement, SignatureAct
from agreements.services.agreements import agreement_render
from agreements.services.amendments import domain_addition_approve
from requests_app.models import (
    AdditionState,
    AllowListEntry,
    AuditEvent,
    Contact,
    ContactRole,
    DomainAddition,
    State,
)
from requests_app.selectors import allow_list_change_set
from requests_app.services.check_runs import check_run_record
from requests_app.services.lifecycle import request_federate
from tests.accounts.helpers import sign_in
from tests.factories import FederationRequestFactory, request_in
from tests.helpers import reload, use_seal
from tests.portal.test_task_list import tasks
from tests.workbench.helpers import text

pytestmark = pytest.mark.django_db

KEPT = "harbourside.example.org.uk"
NEW = "harbourside-new.example.org.uk"
SIGNATORY = "dana.director@harbourside.example"


@pytest.fixture
def req(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=[KEPT])
    request_federate(request_id=req.pk, actor=feedback_user)
    Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name="Dana Director",
        job_title="Director of Digital",
        email=SIGNATORY,
    )
    return reload(req)


def email_of(req, role) -> str:
    return req.contacts.get(role=role, removed_at__isnull=True).email


def page(req) -> str:
    return reverse("portal:domain_add", args=[req.reference])


def test_the_spoc_asks_from_the_request_page(client, req):
    sign_in(client, email_of(req, ContactRole.SPOC))
    request_page = client.get(reverse("portal:request", args=[req.reference]))
    assert f'href="{page(req)}"' in request_page.content.decode()
    form = client.get(page(req))
    assert '<label class="nhsuk-label" for="id_domain">' in form.content.decode()
    assert 'name="csrfmiddlewaretoken"' in form.content.decode()

    done = client.post(page(req), {"domain": NEW}, follow=True)

    assert done.redirect_chain[-1][0].endswith("#domains")
    addition = DomainAddition.objects.get(request=req)
    assert (addition.domain.name, addition.state) == (NEW, AdditionState.REQUESTED)
    shown = re.sub(r"<[^>]+>", "", text(done))
    assert f"We have your ask to add {NEW}" in shown
    assert f"Adding {NEW}: Waiting for the Feedback team's review" in shown
    assert 'id="add-domain"' not in done.content.decode()  # one at a time
    assert tasks(client, req)[f"Add {NEW} to the agreement"] == (
        "Waiting for the Feedback team",
        "",
    )


def test_a_refused_domain_is_shown_in_the_error_summary(client, req):
    FederationRequestFactory(state=State.SUBMITTED, domains=[NEW])
    sign_in(client, email_of(req, ContactRole.SPOC))

    response = client.post(page(req), {"domain": NEW})

    assert response.status_code == 200
    shown = text(response)
    assert "nhsuk-error-summary" in response.content.decode()
    assert f"“{NEW}” is already in another request that is still open." in shown
    assert f"<title>Error: Add a domain to {req.reference} –" in shown
    assert not DomainAddition.objects.exists()


def test_a_contact_who_is_not_the_spoc_is_refused_in_words(client, req):
    sign_in(client, email_of(req, ContactRole.TECHNICAL))

    response = client.post(page(req), {"domain": NEW})

    assert response.status_code == 403
    assert "Only the request's SPOC can add a domain" in text(response)
    assert not DomainAddition.objects.exists()


def test_a_suspended_request_is_refused_in_words(client, feedback_user):
    req = request_in(State.SUSPENDED, feedback_user, domains=[KEPT])
    sign_in(client, email_of(req, ContactRole.SPOC))
    response = client.get(page(req))
    assert response.status_code == 403
    assert "only while the agreement is in force" in text(response)


def test_another_organisations_request_is_a_404(client, req):
    other = FederationRequestFactory(state=State.FEDERATED)
    sign_in(client, email_of(other, ContactRole.SPOC))

    assert client.get(page(req)).status_code == 404
    assert client.post(page(req), {"domain": NEW}).status_code == 404
    amended = reverse("portal:amendment_download", args=[req.reference])
    assert client.get(amended).status_code == 404
    assert not DomainAddition.objects.exists()


def test_the_page_needs_csrf(client, req):
    sign_in(client, email_of(req, ContactRole.SPOC))
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.get(page(req)).status_code == 200  # signed in
    assert strict.post(page(req), {"domain": NEW}).status_code == 403
    assert not DomainAddition.objects.exists()


def test_the_signatory_signs_the_amended_agreement_and_the_domain_is_listed(
    client, req, feedback_user, settings, seal_paths
):
    use_seal(settings, seal_paths)
    sign_in(client, email_of(req, ContactRole.SPOC))
    client.post(page(req), {"domain": NEW})
    addition = DomainAddition.objects.get()
    for name in addition.check_run.names:
        check_run_record(
            run_id=addition.check_run_id,
            domain=name,
            report_dict={
                "domain": name,
                "checked_at": "2026-12-03T09:00:00+00:00",
                "verdict": "pass",
                "checks": [],
            },
        )
    agreement = domain_addition_approve(addition_id=addition.pk, actor=feedback_user, notes="Ok.")
    agreement_render(agreement_id=agreement.pk)
    agreement = Agreement.objects.get(pk=agreement.pk)
    client.post(reverse("accounts:sign_out"))
    sign_in(client, SIGNATORY)
    request_page = text(client.get(reverse("portal:request", args=[req.reference])))
    assert "Sign the amended agreement" in request_page
    sign_url = reverse("portal:sign", args=[req.reference])
    assert tasks(client, req)[f"Add {NEW} to the agreement"] == ("To do", sign_url)
    sign_page = client.get(sign_url)
    assert f"This amended agreement adds {NEW}" in text(sign_page)
    assert f'<code id="issued-sha256">{agreement.pdf_sha256}</code>' in sign_page.content.decode()
    pdf = client.get(reverse("portal:amendment_download", args=[req.reference]))
    assert b"".join(pdf.streaming_content)[:5] == b"%PDF-"

    response = client.post(
        sign_url,
        {
            "name": "Dana Director",
            "job_title": "Director of Digital",
            "director_confirmed": "on",
            "attest_read": "on",
            "attest_authorised": "on",
            "attest_dcb1596": "on",
            "document_sha256": agreement.pdf_sha256,
        },
    )

    assert response.status_code == 302
    assert SignatureAct.objects.get(agreement=agreement).signer_email == SIGNATORY
    assert DomainAddition.objects.get().state == AdditionState.ADDED
    assert reload(req).state == State.FEDERATED
    assert AllowListEntry.objects.get(domain=NEW).request_id == req.pk
    assert NEW in allow_list_change_set().add
    assert list(
        AuditEvent.objects.filter(request=req, action="domain.added").values_list(
            "actor_label", flat=True
        )
    ) == [SIGNATORY]
    # Signed: nothing is waiting for a signature any more.
    assert client.get(sign_url).status_code == 403
