"""The Feedback team reviews a domain the SPOC asked to add, from the request's change page:
approve (an amended agreement goes out), refuse with a reason, or record the amended agreement
signed (the domain joins the allow list); each where the person may, with a sentence."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement
from agreements.services.agreements import agreement_record_failure, agreement_render
from requests_app.models import (
    AdditionState,
    AllowListEntry,
    AuditEvent,
    DomainAddition,
    State,
)
from requests_app.services.check_runs import check_run_record
from requests_app.services.domain_additions import domain_addition_request
from requests_app.services.lifecycle import request_federate
from tests.factories import UserFactory, blank_pdf, request_in
from tests.helpers import reload
from tests.workbench.helpers import change_url, shown_messages, text

pytestmark = pytest.mark.django_db

KEPT = "harbourside.example.org.uk"
NEW = "harbourside-new.example.org.uk"


@pytest.fixture
def addition(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=[KEPT])
    request_federate(request_id=req.pk, actor=feedback_user)
    spoc = req.contacts.get(role="spoc").email
    addition = domain_addition_request(request_id=req.pk, actor_email=spoc, domain=NEW)
    for name in addition.check_run.names:
        check_run_record(
            run_id=addition.check_run_id,
            domain=name,
            report_dict={
                "domain": name,
                "checked_at": timezone.now().isoformat(),
                "verdict": "pass",
                "checks": [],
            },
        )
    return addition


def verb_url(addition, verb) -> str:
    return reverse(
        "admin:requests_app_federationrequest_domain_addition",
        args=[addition.request_id, addition.pk, verb],
    )


def addition_links(response) -> set[str]:
    return set(re.findall(r'id="addition-([\w_]+)"', response.content.decode()))


def test_staff_approve_and_then_record_the_signed_amendment(client, feedback_user, addition):
    client.force_login(feedback_user)
    page = client.get(change_url(addition.request))
    assert f"asks to add {NEW}" in text(page)
    assert addition_links(page) == {"approve", "refuse"}

    done = client.post(verb_url(addition, "approve"), {"notes": "Checks pass."}, follow=True)

    assert shown_messages(done) == [
        (
            "success",
            f"Adding {NEW} is approved: the amended agreement is being rendered and is emailed "
            "for signature as soon as it is.",
        )
    ]
    assert DomainAddition.objects.get().state == AdditionState.APPROVED
    agreement = Agreement.objects.get(domain_addition=addition)
    agreement_render(agreement_id=agreement.pk)
    assert addition_links(client.get(change_url(addition.request))) == {
        "record_signature",
        "cancel",
    }

    recorded = client.post(
        verb_url(addition, "record_signature"),
        {
            "signed_copy": SimpleUploadedFile("signed.pdf", blank_pdf(2), "application/pdf"),
            "signatory_name": "Dana Director",
            "signatory_job_title": "Director of Digital",
            "signed_on": timezone.localdate().isoformat(),
            "signatory_is_director": "on",
            "matches_issued": "on",
        },
        follow=True,
    )

    assert shown_messages(recorded)[0][0] == "success"
    assert DomainAddition.objects.get().state == AdditionState.ADDED
    assert AllowListEntry.objects.get(domain=NEW).added_by == feedback_user
    assert reload(addition.request).state == State.FEDERATED


def test_staff_refuse_with_a_reason(client, feedback_user, addition):
    client.force_login(feedback_user)
    assert client.post(verb_url(addition, "refuse"), {"reason": ""}).status_code == 200
    assert DomainAddition.objects.get().state == AdditionState.REQUESTED

    done = client.post(verb_url(addition, "refuse"), {"reason": "Not yours."}, follow=True)

    assert shown_messages(done) == [
        ("success", f"Refused: {NEW} is not added; the organisation has been emailed the reason.")
    ]
    assert DomainAddition.objects.get().state == AdditionState.REFUSED
    assert addition_links(client.get(change_url(addition.request))) == set()


def test_an_amendment_that_could_not_be_prepared_is_cancelled_by_staff(
    client, feedback_user, addition
):
    """Rendering failed: nothing is out for signature, so nothing would ever expire; staff
    withdraw the approval and the domain is let go for the SPOC to ask again."""
    client.force_login(feedback_user)
    client.post(verb_url(addition, "approve"), {"notes": "Checks pass."})
    agreement = Agreement.objects.get(domain_addition=addition)
    agreement_record_failure(agreement_id=agreement.pk, reason="Rendering timed out.")
    assert addition_links(client.get(change_url(addition.request))) == {"cancel"}

    reason = "The agreement could not be prepared."
    done = client.post(verb_url(addition, "cancel"), {"reason": reason}, follow=True)

    assert shown_messages(done) == [
        ("success", f"Cancelled: {NEW} is not added; the organisation has been emailed the reason.")
    ]
    cancelled = DomainAddition.objects.select_related("domain").get()
    assert cancelled.state == AdditionState.CANCELLED
    assert cancelled.domain.is_live is False  # may be asked for again
    event = AuditEvent.objects.filter(action="domain.addition_cancelled").get()
    assert (event.actor, event.message) == (
        feedback_user,
        f"{NEW} is not added: The agreement could not be prepared.",
    )
    assert addition_links(client.get(change_url(addition.request))) == set()


def test_the_service_desk_may_neither_approve_nor_refuse(client, addition):
    desk = UserFactory(username="sid.desk", groups=["Service desk"])
    client.force_login(desk)
    assert addition_links(client.get(change_url(addition.request))) == set()

    done = client.post(verb_url(addition, "approve"), {"notes": "Fine."}, follow=True)

    assert shown_messages(done) == [
        ("error", "You do not have permission to do this: approve the domain.")
    ]
    assert DomainAddition.objects.get().state == AdditionState.REQUESTED
    assert not Agreement.objects.filter(domain_addition=addition).exists()


def test_an_addition_of_another_request_is_a_404(client, feedback_user, addition):
    other = request_in(State.FEDERATED, feedback_user, domains=["other.example.org.uk"])
    client.force_login(feedback_user)
    url = reverse(
        "admin:requests_app_federationrequest_domain_addition",
        args=[other.pk, addition.pk, "approve"],
    )
    assert client.post(url, {"notes": "Fine."}).status_code == 404
    assert DomainAddition.objects.get().state == AdditionState.REQUESTED
