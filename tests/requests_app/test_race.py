"""Concurrent clicks on PostgreSQL: the row lock lets exactly one of them through.

select_for_update does nothing on SQLite, so these tests insist on PostgreSQL.
"""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.utils import timezone

from portal_kit.errors import ActionRefused
from requests_app import outbox
from requests_app.models import (
    AuditEvent,
    ContactRole,
    FederationRequest,
    OffboardingAsk,
    OffboardingDecision,
    Organisation,
    OutboxMessage,
    RequestedDomain,
    State,
)
from requests_app.services import lifecycle
from requests_app.services.contacts import ContactDetails
from requests_app.services.lifecycle import request_reject, request_review, request_submit
from requests_app.services.offboarding import (
    request_offboard,
    request_offboarding_ask,
    request_offboarding_decline,
)
from tests.factories import FederationRequestFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


@pytest.fixture(autouse=True)
def _postgresql_only():
    assert connection.vendor == "postgresql", "race tests need PostgreSQL's row locks"


@pytest.fixture
def published(monkeypatch):
    """Jobs the on-commit hook would hand to the broker; recorded here, Redis is not touched."""
    message_ids: list[int] = []
    monkeypatch.setattr(outbox, "publish", message_ids.append)
    return message_ids


def run_at_once(count: int, action) -> list[tuple[str, object]]:
    """Start action(i) in count threads released together; ("ok", value) or ("refused", text)."""
    barrier = threading.Barrier(count)
    results: list[tuple[str, object]] = [("not run", None)] * count

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = ("ok", action(index))
        except ActionRefused as refusal:
            results[index] = ("refused", str(refusal))
        except Exception as error:  # reported by the assertions, not lost in a thread
            results[index] = ("error", repr(error))
        finally:
            connections.close_all()  # this thread's connections only

    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting"
    return results


def outcomes(results) -> list[str]:
    return sorted(kind for kind, _ in results)


def test_twenty_simultaneous_reviews_let_exactly_one_through(feedback_user):
    req = FederationRequestFactory()
    user_model = get_user_model()

    def review(index: int):
        reviewer = user_model.objects.get(pk=feedback_user.pk)  # one user object per thread
        return request_review(request_id=req.pk, actor=reviewer, notes=f"Checked by click {index}.")

    results = run_at_once(THREADS, review)

    assert outcomes(results) == ["ok"] + ["refused"] * (THREADS - 1), results
    for kind, text in results:
        if kind == "refused":
            assert "Reviewed" in text or "changed by someone else" in text, text
    stored = FederationRequest.objects.get(pk=req.pk)
    assert stored.state == State.REVIEWED
    assert stored.reviewed_by_id == feedback_user.pk
    events = AuditEvent.objects.filter(request=req, action="request.reviewed")
    assert events.count() == 1
    assert events.get().message == stored.review_notes


def test_twenty_simultaneous_rejections_send_one_email(feedback_user, published):
    req = FederationRequestFactory()
    user_model = get_user_model()

    def reject(index: int):
        actor = user_model.objects.get(pk=feedback_user.pk)
        return request_reject(request_id=req.pk, actor=actor, reason=f"Reason {index}.")

    results = run_at_once(THREADS, reject)

    assert outcomes(results) == ["ok"] + ["refused"] * (THREADS - 1), results
    assert FederationRequest.objects.get(pk=req.pk).state == State.REJECTED
    assert AuditEvent.objects.filter(request=req, action="request.rejected").count() == 1
    message = OutboxMessage.objects.get()
    assert message.kwargs["kind"] == "rejected"
    assert published == [message.pk]


def submission(index: int, domain: str) -> dict:
    return {
        "organisation_name": f"Racing Hospice {index}",
        "ods_code": "",
        "has_nhsmail_presence": False,
        "domains": [domain],
        "justification": "Teams calls",
        "requester_name": f"Requester {index}",
        "requester_email": f"requester{index}@hospice.example.org.uk",
        "spoc": ContactDetails("Sam Spoc", "IT Manager", "sam@hospice.example.org.uk"),
        "technical_contact": ContactDetails("Tess Tech", "Teams admin", "tess@hospice.example.org"),
    }


def assert_one_submission_won(results, published):
    assert outcomes(results) == ["ok", "refused"], results
    winner = next(value for kind, value in results if kind == "ok")
    refusal = next(value for kind, value in results if kind == "refused")
    assert "race.example.org.uk" in refusal or "someone else a moment ago" in refusal, refusal
    assert list(RequestedDomain.objects.values_list("request_id", "name", "is_live")) == [
        (winner.pk, "race.example.org.uk", True)
    ]
    assert FederationRequest.objects.count() == 1
    assert Organisation.objects.count() == 1  # the loser's organisation was rolled back
    assert AuditEvent.objects.filter(action="request.submitted").count() == 1
    # One confirmation email and one domain check, both for the winner.
    email, check = OutboxMessage.objects.order_by("pk")
    assert email.kwargs == {"request_id": winner.pk, "kind": "submitted", "key": "submitted"}
    assert check.kwargs == {"run_id": winner.check_runs.get().pk, "domain": "race.example.org.uk"}
    assert published == [email.pk, check.pk]
    return refusal


def test_two_simultaneous_submissions_of_one_domain_let_one_through(published):
    results = run_at_once(
        2, lambda index: request_submit(**submission(index, "race.example.org.uk"))
    )
    assert_one_submission_won(results, published)


def test_two_submissions_that_both_pass_the_domain_check_let_one_through(published, monkeypatch):
    """Both check before either inserts: the partial unique index decides, not the check."""
    both_checked = threading.Barrier(2)
    real_clean_domain_list = lifecycle.clean_domain_list

    def clean_then_wait(*args, **kwargs):
        cleaned = real_clean_domain_list(*args, **kwargs)
        both_checked.wait(timeout=30)
        return cleaned

    monkeypatch.setattr(lifecycle, "clean_domain_list", clean_then_wait)

    results = run_at_once(
        2, lambda index: request_submit(**submission(index, "RACE.example.org.uk"))
    )

    refusal = assert_one_submission_won(results, published)
    assert "requested by someone else a moment ago" in refusal


def test_confirming_and_declining_one_offboarding_ask_at_once_decide_it_once(
    feedback_user, published
):
    req = FederationRequestFactory(state=State.FEDERATED)
    request_offboarding_ask(
        request_id=req.pk,
        actor_email=req.contacts.get(role=ContactRole.SPOC).email,
        reason="Moving to NHSmail.",
        notice_date=timezone.localdate(),
    )
    user_model = get_user_model()

    def decide(index: int):
        staff = user_model.objects.get(pk=feedback_user.pk)
        if index % 2:
            return request_offboard(request_id=req.pk, actor=staff)
        return request_offboarding_decline(request_id=req.pk, actor=staff, reason=f"No {index}")

    results = run_at_once(THREADS, decide)

    assert outcomes(results) == ["ok"] + ["refused"] * (THREADS - 1)
    ask = OffboardingAsk.objects.get()
    decided = AuditEvent.objects.filter(
        action__in=["request.offboarded", "request.offboarding_declined"]
    )
    assert decided.count() == 1
    expected = (
        State.OFFBOARDED if ask.decision == OffboardingDecision.OFFBOARDED else State.FEDERATED
    )
    assert FederationRequest.objects.get(pk=req.pk).state == expected
