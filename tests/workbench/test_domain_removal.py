"""The Feedback team removes one domain of a federated or suspended request from the workbench:
a link where the service would allow it, a form with the domain, date and reason, a sentence."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from requests_app.models import AllowListEntry, AuditEvent, State
from requests_app.services.lifecycle import request_federate
from tests.factories import request_in
from tests.helpers import reload
from tests.workbench.helpers import action_links, change_url, shown_messages, text

pytestmark = pytest.mark.django_db

KEPT = "harbourside.example.org.uk"
GOING = "old-brand.example.org.uk"


def remove_url(req) -> str:
    return reverse("admin:requests_app_federationrequest_domain_remove", args=[req.pk])


@pytest.fixture
def federated(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=[GOING, KEPT])
    request_federate(request_id=req.pk, actor=feedback_user)
    return reload(req)


def test_staff_remove_a_domain_with_a_date_and_reason(client, feedback_user, federated):
    client.force_login(feedback_user)
    assert "remove-domain" in action_links(client.get(change_url(federated)))
    form = client.get(remove_url(federated))
    assert form.status_code == 200
    assert GOING in text(form) and KEPT in text(form)
    day = timezone.localdate() + timedelta(days=5)

    done = client.post(
        remove_url(federated),
        {
            "domain": federated.domains.get(name=GOING).pk,
            "effective_date": day.isoformat(),
            "reason": "Ticket 4411: brand retired.",
        },
        follow=True,
    )

    assert shown_messages(done) == [
        (
            "success",
            f"Removed {GOING} from {federated.reference}: it leaves the allow list from "
            f"{day:%d %B %Y}. Apply the allow list's change set to the tenant.",
        )
    ]
    assert list(
        AuditEvent.objects.filter(action="request.domain_removed").values_list(
            "actor", "actor_label", "message"
        )
    ) == [
        (
            feedback_user.pk,
            "fiona.feedback",
            f"{GOING} off the allow list from {day:%d %B %Y}. Ticket 4411: brand retired.",
        )
    ]
    assert AllowListEntry.objects.get(domain=GOING).effective_to == day
    # One domain left: removing it would be offboarding, so the link goes.
    assert "remove-domain" not in action_links(done)


def test_the_service_desk_has_no_link_and_is_refused(client, service_desk_user, federated):
    client.force_login(service_desk_user)
    assert "remove-domain" not in action_links(client.get(change_url(federated)))

    response = client.post(
        remove_url(federated),
        {
            "domain": federated.domains.get(name=GOING).pk,
            "effective_date": timezone.localdate().isoformat(),
            "reason": "x",
        },
        follow=True,
    )

    assert shown_messages(response) == [
        ("error", "You do not have permission to remove a request's domains.")
    ]
    assert not AuditEvent.objects.filter(action="request.domain_removed").exists()


def test_a_request_not_in_force_has_no_link_and_is_refused(client, feedback_user):
    req = request_in(State.SIGNED, feedback_user, domains=[GOING, KEPT])
    client.force_login(feedback_user)
    assert "remove-domain" not in action_links(client.get(change_url(req)))

    response = client.post(
        remove_url(req),
        {
            "domain": req.domains.get(name=GOING).pk,
            "effective_date": timezone.localdate().isoformat(),
            "reason": "x",
        },
        follow=True,
    )

    [(level, sentence)] = shown_messages(response)
    assert level == "error"
    assert "only while the agreement is in force" in sentence
    assert not AuditEvent.objects.filter(action="request.domain_removed").exists()
