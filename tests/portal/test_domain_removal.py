"""The SPOC's page to remove one domain of a federated or suspended request: a Remove link per
domain, a page to check the answers, then the removal; others are refused in words, and another
organisation's request is a 404."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from requests_app.models import AuditEvent, ContactRole, State
from tests.accounts.helpers import sign_in
from tests.factories import FederationRequestFactory
from tests.workbench.helpers import text

pytestmark = pytest.mark.django_db

KEPT = "harbourside.example.org.uk"
GOING = "old-brand.example.org.uk"


@pytest.fixture
def req():
    return FederationRequestFactory(state=State.FEDERATED, domains=[GOING, KEPT])


def email_of(req, role) -> str:
    return req.contacts.get(role=role, removed_at__isnull=True).email


def page(req, name=GOING) -> str:
    return reverse("portal:domain_remove", args=[req.reference, req.domains.get(name=name).pk])


def answers(day, **more) -> dict:
    return {
        "reason": "That brand was retired.",
        "effective_date_day": str(day.day),
        "effective_date_month": str(day.month),
        "effective_date_year": str(day.year),
        **more,
    }


def removals():
    return list(
        AuditEvent.objects.filter(action="request.domain_removed").values_list(
            "actor_label", "message"
        )
    )


@pytest.mark.parametrize("state", [State.FEDERATED, State.SUSPENDED])
def test_the_spoc_checks_then_confirms(client, state):
    req = FederationRequestFactory(state=state, domains=[GOING, KEPT])
    spoc = email_of(req, ContactRole.SPOC)
    sign_in(client, spoc)
    request_page = client.get(reverse("portal:request", args=[req.reference]))
    assert f'href="{page(req)}"' in request_page.content.decode()
    assert f'href="{page(req, KEPT)}"' in request_page.content.decode()
    day = timezone.localdate() + timedelta(days=14)

    checking = client.post(page(req), answers(day))

    assert checking.status_code == 200
    assert f"Check your answers before you remove {GOING}" in text(checking)
    summary = re.sub(r"<[^>]+>", " ", text(checking))
    assert re.search(rf"Off NHSmail's allow list from\s+{day.day} {day:%B %Y}", summary)
    assert removals() == []  # nothing removed before the confirmation

    changing = client.post(page(req), answers(day, step="change"))
    assert 'value="check"' in changing.content.decode()
    assert removals() == []

    done = client.post(page(req), answers(day, step="confirm"), follow=True)

    assert done.redirect_chain[-1][0].endswith("#domains")
    assert removals() == [
        (spoc, f"{GOING} off the allow list from {day:%d %B %Y}. That brand was retired.")
    ]
    shown = text(done)
    assert f"{GOING} is removed: it leaves NHSmail's allow list on {day:%d %B %Y}" in shown
    assert f"{GOING}, off NHSmail's allow list from {day.day} {day:%B %Y}" in shown
    # The last domain has no Remove link: that would be offboarding.
    assert f'href="{page(req, KEPT)}"' not in done.content.decode()
    assert client.get(page(req)).status_code == 404  # removed already
    home = text(client.get(reverse("portal:home")))
    assert KEPT in home and GOING not in home
    status = text(client.get(reverse("requests_app:status", args=[req.status_token])))
    listed = re.search(r"<h2>Domains</h2> <ul>(.*?)</ul>", status).group(1)
    assert listed == f"<li>{KEPT}</li>"  # the latest checks, made before, still name both


def test_the_last_domain_is_refused_in_words(client):
    req = FederationRequestFactory(state=State.FEDERATED, domains=[KEPT])
    sign_in(client, email_of(req, ContactRole.SPOC))

    request_page = client.get(reverse("portal:request", args=[req.reference]))
    response = client.post(page(req, KEPT), answers(timezone.localdate(), step="confirm"))

    assert f'href="{page(req, KEPT)}"' not in request_page.content.decode()
    assert response.status_code == 403
    assert "is the request's last domain" in text(response)
    assert "that is offboarding" in text(response)
    assert removals() == []


def test_the_form_refuses_a_past_date_and_no_reason(client, req):
    sign_in(client, email_of(req, ContactRole.SPOC))
    yesterday = timezone.localdate() - timedelta(days=1)

    response = client.post(page(req), answers(yesterday, reason="", step="confirm"))

    shown = text(response)
    assert "Say why the domain is being removed" in shown
    assert "must be today or in the future" in shown
    assert removals() == []


def test_a_technical_contact_is_refused_in_words(client, req):
    sign_in(client, email_of(req, ContactRole.TECHNICAL))

    request_page = client.get(reverse("portal:request", args=[req.reference]))
    response = client.post(page(req), answers(timezone.localdate(), step="confirm"))

    assert f'href="{page(req)}"' not in request_page.content.decode()
    assert response.status_code == 403
    assert "Only the request's SPOC can remove a domain" in text(response)
    assert removals() == []


def test_another_organisations_request_is_a_404(client, req):
    other = FederationRequestFactory(state=State.FEDERATED)
    sign_in(client, email_of(other, ContactRole.SPOC))

    assert client.get(page(req)).status_code == 404
    response = client.post(page(req), answers(timezone.localdate(), step="confirm"))
    assert response.status_code == 404
    # Nor is another organisation's domain reachable through one's own request.
    own_with_their_domain = reverse(
        "portal:domain_remove", args=[other.reference, req.domains.get(name=GOING).pk]
    )
    assert client.get(own_with_their_domain).status_code == 404
    assert removals() == []


def test_a_request_not_in_force_is_refused_in_words(client):
    req = FederationRequestFactory(state=State.SIGNED, domains=[GOING, KEPT])
    sign_in(client, email_of(req, ContactRole.SPOC))

    request_page = client.get(reverse("portal:request", args=[req.reference]))
    response = client.get(page(req))

    assert f'href="{page(req)}"' not in request_page.content.decode()
    assert response.status_code == 403
    assert "only while the agreement is in force (federated or suspended)" in text(response)
