"""Idempotency-Key on POST /api/v1/requests/, on PostgreSQL with concurrent callers."""

import threading

import pytest
from django.db import connections

from requests_app.models import AuditEvent, FederationRequest
from tests.api.conftest import calling_with
from tests.api.test_requests import LIST, post, raise_body

THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_the_same_key_and_body_at_once_raise_one_request(make_api_client):
    _, plaintext = make_api_client(["requests:read", "requests:write"])
    barrier = threading.Barrier(THREADS)
    answers: list = [None] * THREADS

    def work(index: int) -> None:
        try:
            barrier.wait()
            answer = post(calling_with(plaintext), raise_body(), key="same-key")
            answers[index] = (answer.status_code, answer.json(), answer.headers)
        finally:
            connections.close_all()  # this thread's connections only

    threads = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert FederationRequest.objects.count() == 1
    req = FederationRequest.objects.get()
    assert AuditEvent.objects.filter(request=req, action="request.submitted").count() == 1
    assert {status for status, _, _ in answers} == {201}
    bodies = [body for _, body, _ in answers]
    assert all(body == bodies[0] for body in bodies) and bodies[0]["reference"] == req.reference
    replayed = [headers.get("Idempotent-Replayed") for _, _, headers in answers]
    assert sorted(replayed, key=str) == [None] + ["true"] * (THREADS - 1)
    assert {headers["Location"] for _, _, headers in answers} == {f"{LIST}{req.reference}/"}


@pytest.mark.django_db(transaction=True)
def test_the_same_key_with_another_body_is_a_409(api):
    assert post(api, raise_body(), key="k").status_code == 201
    other = post(api, raise_body(justification="Something else"), key="k")
    assert other.status_code == 409
    assert other["Content-Type"] == "application/problem+json"
    assert other.json()["type"].endswith("idempotency-key-reused")
    assert FederationRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_post_without_a_key_is_a_400_and_does_nothing(api):
    answer = api.post(LIST, raise_body(), format="json")
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("idempotency-key-missing")
    assert not FederationRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_refused_post_may_be_corrected_and_sent_again_with_its_key(api):
    bad = post(api, raise_body(domains=["not a domain"]), key="retry")
    assert bad.status_code == 422
    good = post(api, raise_body(), key="retry")
    assert good.status_code == 201 and "Idempotent-Replayed" not in good
