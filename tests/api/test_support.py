"""Support requests through the API: the service desk lists them, reads one with its thread,
and replies as the Feedback team would, through the same service (audited, contact emailed)."""

import base64
import datetime

import pytest
import time_machine
from django.utils import timezone

from requests_app.models import AuditEvent, OutboxMessage, State
from support.models import SupportReply, SupportRequest, SupportStatus
from support.services.support_requests import support_contact_reply, support_raise
from tests.factories import FederationRequestFactory

from .conftest import calling_with

pytestmark = pytest.mark.django_db

LIST = "/api/v1/support/"


def raised(req, description="Messages to nhs.net users fail.") -> SupportRequest:
    """A support request raised by req's technical contact, through the service."""
    return support_raise(
        request_id=req.pk,
        actor_email=f"tech{req.pk}@partner.example",
        category="cannot_message",
        description=description,
        affected_users="Everyone in the pharmacy team",
        started_on=datetime.date(2026, 11, 30),
        own_it_tried=True,
    )


@pytest.fixture
def desk(make_api_client):
    client, plaintext = make_api_client(["support:read", "support:write"], name="Service desk")
    return client, calling_with(plaintext)


def test_the_list_is_newest_first_with_its_filters_and_pages_that_follow_their_cursor(desk):
    _, caller = desk
    first = FederationRequestFactory(state=State.SIGNED)
    second = FederationRequestFactory(state=State.FEDERATED)
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=3), tick=False):
        older = raised(first)
    newer = raised(second, description="Presence is unknown.")
    newest = raised(first, description="Calls drop.")
    SupportRequest.objects.filter(pk=newer.pk).update(status=SupportStatus.RESOLVED)

    everything = caller.get(LIST)
    assert everything.status_code == 200
    assert [row["reference"] for row in everything.json()["results"]] == [
        newest.reference, newer.reference, older.reference,
    ]
    assert everything.json()["results"][2] == {
        "reference": older.reference,
        "request_reference": first.reference,
        "organisation": first.organisation.name,
        "category": "cannot_message",
        "status": "open",
        "raised_by_name": "Tess Tech",
        "raised_by_email": f"tech{first.pk}@partner.example",
        "started_on": "2026-11-30",
        "created_at": everything.json()["results"][2]["created_at"],
        "updated_at": everything.json()["results"][2]["updated_at"],
    }

    by_request = caller.get(LIST, {"request_reference": first.reference})
    assert [row["reference"] for row in by_request.json()["results"]] == [
        newest.reference, older.reference,
    ]
    resolved = caller.get(LIST, {"status": "resolved"})
    assert [row["reference"] for row in resolved.json()["results"]] == [newer.reference]

    page = caller.get(LIST, {"page_size": 2})
    assert [row["reference"] for row in page.json()["results"]] == [
        newest.reference, newer.reference,
    ]
    assert page.json()["previous"] is None
    following = caller.get(page.json()["next"])
    assert [row["reference"] for row in following.json()["results"]] == [older.reference]
    assert following.json()["next"] is None


@pytest.mark.parametrize(
    "query, field",
    [
        ({"status": "closed"}, "status"),
        ({"status": ""}, "status"),  # not "no filter": DRF's reading of an HTML form
        ({"request_reference": ""}, "request_reference"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "201"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page_size": "²"}, "page_size"),  # a digit to str.isdigit, not to int()
        ({"stauts": "open"}, "stauts"),  # a misspelt filter is not quietly no filter
    ],
)
def test_a_filter_or_cursor_the_api_does_not_know_is_a_400_naming_it(desk, query, field):
    _, caller = desk

    response = caller.get(LIST, query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        # Decodes as a cursor, but its position is not a timestamp: a 404 too, not a 500.
        base64.urlsafe_b64encode(b"o=0&r=0&p=yesterday").decode(),
    ],
)
def test_a_cursor_the_api_did_not_give_is_a_404(desk, cursor):
    _, caller = desk
    raised(FederationRequestFactory(state=State.SIGNED))

    response = caller.get(LIST, {"cursor": cursor})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"].startswith("There is no page at this cursor")


def test_one_request_comes_with_its_thread_oldest_first(desk, make_api_client):
    _, caller = desk
    req = FederationRequestFactory(state=State.SIGNED)
    support = raised(req)
    support_contact_reply(
        support_id=support.pk, actor_email=f"tech{req.pk}@partner.example", body="Still failing."
    )

    response = caller.get(f"{LIST}{support.reference}/")

    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == support.reference
    assert body["description"] == "Messages to nhs.net users fail."
    assert body["affected_users"] == "Everyone in the pharmacy team"
    assert [(r["from_team"], r["author"], r["body"]) for r in body["replies"]] == [
        (False, f"tech{req.pk}@partner.example", "Still failing."),
    ]


def test_a_support_reference_that_does_not_exist_is_404_to_read_and_to_reply(desk):
    _, caller = desk
    FederationRequestFactory(state=State.SIGNED)
    audited = AuditEvent.objects.count()

    read = caller.get(f"{LIST}SR-999999/")
    reply = caller.post(
        f"{LIST}SR-999999/replies/",
        {"status": "in_progress", "reply": "On it."},
        format="json",
        HTTP_IDEMPOTENCY_KEY="reply-to-nothing",
    )

    assert read.status_code == reply.status_code == 404
    assert reply["Content-Type"] == "application/problem+json"
    assert AuditEvent.objects.count() == audited


def test_a_staff_reply_moves_the_request_on_emails_the_contact_and_is_audited_as_the_client(
    desk,
):
    client, caller = desk
    req = FederationRequestFactory(state=State.SIGNED)
    support = raised(req)

    response = caller.post(
        f"{LIST}{support.reference}/replies/",
        {"status": "waiting", "reply": "Please send us a screenshot."},
        format="json",
        HTTP_IDEMPOTENCY_KEY="desk-4711",
    )

    assert response.status_code == 201
    assert response.json()["status"] == "waiting"
    assert [(r["from_team"], r["author"], r["body"]) for r in response.json()["replies"]] == [
        (True, "api-client-service-desk", "Please send us a screenshot."),
    ]
    support.refresh_from_db()
    assert support.status == SupportStatus.WAITING
    assert list(
        AuditEvent.objects.filter(action="support.updated").values_list(
            "request_id", "actor_id", "actor_label", "message"
        )
    ) == [
        (req.pk, client.user.pk, "api-client-service-desk",
         f"{support.reference}: open -> waiting with a reply"),
    ]
    reply = SupportReply.objects.get(support_request=support)
    assert OutboxMessage.objects.filter(
        task_name="support.tasks.send_support_email",
        kwargs__kind="updated",
        kwargs__reply_id=reply.pk,
    ).count() == 1

    # The same key and body again: the first answer, and nothing done twice.
    again = caller.post(
        f"{LIST}{support.reference}/replies/",
        {"status": "waiting", "reply": "Please send us a screenshot."},
        format="json",
        HTTP_IDEMPOTENCY_KEY="desk-4711",
    )
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == response.json()
    assert SupportReply.objects.filter(support_request=support).count() == 1
    assert AuditEvent.objects.filter(action="support.updated").count() == 1


def test_a_reply_without_a_status_is_a_400_and_changes_nothing(desk):
    _, caller = desk
    support = raised(FederationRequestFactory(state=State.SIGNED))

    response = caller.post(
        f"{LIST}{support.reference}/replies/",
        {"reply": "Which status?"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="no-status",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["status"]
    assert not SupportReply.objects.filter(support_request=support).exists()
    assert not AuditEvent.objects.filter(action="support.updated").exists()


@pytest.mark.parametrize("reply", [0, 1.5, True, ["text"], {"text": "x"}])
def test_a_reply_that_is_not_text_is_a_400_not_its_string(desk, reply):
    _, caller = desk
    support = raised(FederationRequestFactory(state=State.SIGNED))

    response = caller.post(
        f"{LIST}{support.reference}/replies/",
        {"status": "in_progress", "reply": reply},
        format="json",
        HTTP_IDEMPOTENCY_KEY="not-text",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"reply": ["Send text (a JSON string)."]}
    assert not SupportReply.objects.filter(support_request=support).exists()


def test_a_client_with_support_read_only_cannot_reply(make_api_client):
    _, plaintext = make_api_client(["support:read"], name="Reporting")
    support = raised(FederationRequestFactory(state=State.SIGNED))

    response = calling_with(plaintext).post(
        f"{LIST}{support.reference}/replies/",
        {"status": "resolved", "reply": "Done."},
        format="json",
        HTTP_IDEMPOTENCY_KEY="read-only",
    )

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "This API key's client does not have the scope support:write."
    )
    support.refresh_from_db()
    assert support.status == SupportStatus.OPEN
