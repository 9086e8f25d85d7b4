"""A change made through a service queues its webhook event in the same transaction: one
delivery per subscribed endpoint of a client that may read it, none for the others."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from api.scopes import SCOPES
from portal_kit.errors import ActionRefused
from requests_app.models import ContactRole, OutboxMessage, State
from requests_app.services.domain_changes import domain_remove
from requests_app.services.lifecycle import request_federate, request_review
from requests_app.services.suspension import request_revoke, request_suspend
from support.models import SupportRequest
from support.services.support_requests import support_contact_reply, support_update
from tests.factories import FederationRequestFactory, UserFactory, request_in
from tests.helpers import finish_check_runs, submit_lakeside_care
from webhooks.events import (
    AUDIT_ACTION_EVENTS,
    DELIVER_TASK,
    EVENT_TYPES,
    allow_list_day_event,
)
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services import webhook_endpoint_update

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def deliveries_to(endpoint, event_type=None):
    found = WebhookDelivery.objects.filter(endpoint=endpoint)
    return list(found.filter(event_type=event_type) if event_type else found)


def test_a_review_sends_state_changed_to_each_subscribed_endpoint_once(
    make_endpoint, feedback_user, webhook_admin
):
    first, _ = make_endpoint(["request.state_changed"])
    second, _ = make_endpoint(["request.state_changed", "support.updated"])
    other_event, _ = make_endpoint(["support.updated"])
    no_scope, _ = make_endpoint(["request.state_changed"], scopes=["support:read"])
    switched_off, _ = make_endpoint(["request.state_changed"])
    webhook_endpoint_update(
        endpoint_id=switched_off.pk,
        events=["request.state_changed"],
        active=False,
        actor=webhook_admin,
    )
    req = FederationRequestFactory()

    request_review(request_id=req.pk, actor=feedback_user, notes="Checks seen.")

    [to_first] = deliveries_to(first)
    [to_second] = deliveries_to(second)
    assert (
        deliveries_to(other_event) == deliveries_to(no_scope) == deliveries_to(switched_off) == []
    )
    assert to_first.event_id == to_second.event_id  # one event, sent to two receivers
    assert to_first.status == DeliveryStatus.PENDING and to_first.attempts == 0
    payload = to_first.payload
    assert payload["id"] == str(to_first.event_id)
    assert payload["type"] == "request.state_changed"
    assert payload["data"] == {
        "reference": req.reference,
        "state": State.REVIEWED,
        "from_state": State.SUBMITTED,
        "action": "request.reviewed",
    }
    datetime.datetime.fromisoformat(payload["created_at"])
    # Nothing personal: no names or addresses of the request's people.
    assert "@" not in str(payload) and "Requester" not in str(payload)
    jobs = OutboxMessage.objects.filter(task_name=DELIVER_TASK)
    assert sorted(job.kwargs["delivery_id"] for job in jobs) == sorted([to_first.pk, to_second.pk])


def test_a_refused_change_queues_nothing(make_endpoint, feedback_user):
    endpoint, _ = make_endpoint(["request.state_changed"])
    req = FederationRequestFactory(state=State.REJECTED)

    with pytest.raises(ActionRefused):
        request_review(request_id=req.pk, actor=feedback_user, notes="Checks seen.")

    assert deliveries_to(endpoint) == []
    assert not OutboxMessage.objects.filter(task_name=DELIVER_TASK).exists()


def test_a_submission_and_its_completed_checks_send_their_events(make_endpoint):
    endpoint, _ = make_endpoint(["request.state_changed", "request.checks_completed"])

    req = submit_lakeside_care()
    [submitted] = deliveries_to(endpoint, "request.state_changed")
    assert submitted.payload["data"]["state"] == State.SUBMITTED
    assert submitted.payload["data"]["from_state"] is None
    assert deliveries_to(endpoint, "request.checks_completed") == []

    finish_check_runs(req)

    [completed] = deliveries_to(endpoint, "request.checks_completed")
    assert completed.payload["data"] == {"reference": req.reference, "state": State.SUBMITTED}


def test_staff_updating_a_support_request_sends_support_updated(make_endpoint, feedback_user):
    endpoint, _ = make_endpoint(["support.updated"])
    reader_of_requests_only, _ = make_endpoint(["support.updated"], scopes=["requests:read"])
    req = FederationRequestFactory(state=State.FEDERATED)
    support = SupportRequest.objects.create(
        request=req,
        reference="SR-000042",
        raised_by_email="tech@partner.example",
        raised_by_name="Tess Tech",
        category="cannot_message",
        description="Blocked chats.",
        started_on=datetime.date(2026, 11, 20),
    )

    support_update(support_id=support.pk, actor=feedback_user, status="waiting", reply="Try now?")

    [delivery] = deliveries_to(endpoint)
    assert delivery.payload["data"] == {
        "reference": req.reference,
        "state": State.FEDERATED,
        "support_reference": "SR-000042",
        "support_status": "waiting",
    }
    assert "Try now" not in str(delivery.payload)  # the reply's words stay in the portal
    assert deliveries_to(reader_of_requests_only) == []


def test_a_contacts_reply_sends_support_updated(make_endpoint):
    endpoint, _ = make_endpoint(["support.updated"])
    req = FederationRequestFactory(state=State.FEDERATED)
    spoc = req.contacts.get(role=ContactRole.SPOC).email
    support = SupportRequest.objects.create(
        request=req,
        reference="SR-000043",
        raised_by_email=spoc,
        raised_by_name="Sam Spoc",
        category="cannot_message",
        description="Blocked chats.",
        started_on=datetime.date(2026, 11, 20),
        status="waiting",
    )

    support_contact_reply(support_id=support.pk, actor_email=spoc, body="Still blocked.")

    [delivery] = deliveries_to(endpoint)
    assert delivery.payload["data"]["support_reference"] == "SR-000043"
    assert delivery.payload["data"]["support_status"] == "open"  # the team's turn again


def test_federating_a_request_changes_the_allow_list(make_endpoint, feedback_user):
    endpoint, _ = make_endpoint(["allowlist.changed"])
    states_only, _ = make_endpoint(["request.state_changed"])
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user)

    request_federate(request_id=req.pk, actor=feedback_user)

    [changed] = deliveries_to(endpoint)
    assert changed.event_type == "allowlist.changed"
    assert changed.payload["data"] == {"reason": "request.federated", "reference": req.reference}
    [state_changed] = deliveries_to(states_only)
    assert state_changed.payload["data"]["state"] == State.FEDERATED


@pytest.mark.parametrize("action", sorted(AUDIT_ACTION_EVENTS))
def test_each_mapped_audit_action_is_one_a_service_writes(action):
    """A renamed audit code would silently stop its webhook: the table names codes in use."""
    sources = [
        path.read_text()
        for app in ("requests_app", "agreements", "support")
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    ]
    assert any(f'"{action}"' in source for source in sources)


def test_each_event_needs_a_scope_the_api_grants():
    assert set(EVENT_TYPES.values()) <= set(SCOPES)


def test_removing_a_federated_domain_changes_the_allow_list(make_endpoint, feedback_user):
    req = request_in(
        State.EVIDENCE_VERIFIED,
        feedback_user,
        domains=["old-brand.example.org.uk", "harbourside.example.org.uk"],
    )
    request_federate(request_id=req.pk, actor=feedback_user)
    endpoint, _ = make_endpoint(["allowlist.changed"])  # subscribed after the federation

    domain_remove(
        request_id=req.pk,
        domain_id=req.domains.get(name="old-brand.example.org.uk").pk,
        actor=feedback_user,
        effective_date=timezone.localdate() + datetime.timedelta(days=3),
        reason="Asked by phone, ticket 4411.",
    )

    [changed] = deliveries_to(endpoint)
    assert changed.payload["data"] == {
        "reason": "request.domain_removed",
        "reference": req.reference,
    }


def test_revoking_a_suspension_dated_ahead_changes_the_allow_list(make_endpoint, feedback_user):
    """The suspension was dated next week; revoking brings the end forward to today."""
    endpoint, _ = make_endpoint(["allowlist.changed"])
    colleague = UserFactory(username="colin.colleague", groups=["Feedback team"])
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user)
    request_federate(request_id=req.pk, actor=feedback_user)
    request_suspend(
        request_id=req.pk,
        actor=feedback_user,
        reason="DMARC at p=none.",
        effective_date=timezone.localdate() + datetime.timedelta(days=7),
    )
    before = len(deliveries_to(endpoint))

    request_revoke(request_id=req.pk, actor=colleague, reason="Not fixed.")

    assert len(deliveries_to(endpoint)) == before + 1
    latest = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk").last()
    assert latest.payload["data"] == {
        "reason": "request.revoked",
        "reference": req.reference,
    }


def test_entries_dated_ahead_send_allowlist_changed_on_their_day_once(
    make_endpoint, feedback_user
):
    endpoint, _ = make_endpoint(["allowlist.changed"])
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user)
    request_federate(request_id=req.pk, actor=feedback_user)
    next_week = timezone.localdate() + datetime.timedelta(days=7)
    request_suspend(
        request_id=req.pk, actor=feedback_user, reason="DMARC at p=none.", effective_date=next_week
    )
    before = len(deliveries_to(endpoint))

    assert allow_list_day_event(day=next_week - datetime.timedelta(days=1)) == []
    [delivery] = allow_list_day_event(day=next_week)
    assert allow_list_day_event(day=next_week) == []  # the job retried: once a day

    assert len(deliveries_to(endpoint)) == before + 1
    assert delivery.payload["data"] == {
        "reason": "effective_today",
        "date": next_week.isoformat(),
        "joining": 0,
        "leaving": len(req.domains.all()),
    }
