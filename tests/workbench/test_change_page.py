"""The request's change page in the workbench: the actions each state offers and to whom, what
is being reviewed, and the newest audit events."""

import re

import pytest
from django.utils import timezone

from requests_app.audit import audit
from requests_app.models import AuditEvent, ContactRole, State
from requests_app.services.lifecycle import request_review
from requests_app.services.offboarding import request_offboarding_ask
from tests.factories import AgreementFactory, FederationRequestFactory, request_in
from tests.workbench.helpers import (
    CHANGELIST_URL,
    RAISE_URL,
    act_url,
    action_links,
    change_url,
    text,
)

pytestmark = pytest.mark.django_db

# -- which action links the change page shows ----------------------------------------------------

FEEDBACK_TEAM_LINKS = {
    State.SUBMITTED: {"review", "reject", "withdraw"},
    State.REVIEWED: {"send_agreement", "reject", "withdraw"},
    State.FPA_SENT: {"record_signature", "reject", "withdraw", "add-evidence"},
    State.SIGNED: {"verify_evidence", "reject", "withdraw", "add-evidence"},
    State.EVIDENCE_VERIFIED: {"federate", "reject", "withdraw"},
    State.FEDERATED: {"suspend"},
    State.SUSPENDED: {"reinstate", "revoke"},
    State.REJECTED: set(),
    State.WITHDRAWN: set(),
    State.REVOKED: set(),
    # Offboarding is shown only while the organisation's ask waits (see test_offboarding.py).
    State.OFFBOARDED: set(),
}


@pytest.mark.parametrize("state", list(State))
def test_the_feedback_team_sees_exactly_the_actions_of_the_current_state(
    client, feedback_user, state
):
    req = request_in(state, feedback_user)
    client.force_login(feedback_user)

    response = client.get(change_url(req))

    assert response.status_code == 200
    assert f"State: <strong>{state.label}</strong>" in text(response)
    assert action_links(response) == FEEDBACK_TEAM_LINKS[state]
    for action in FEEDBACK_TEAM_LINKS[state] - {"add-evidence"}:
        assert f'href="{act_url(req, action)}"' in response.content.decode()
    nothing_to_do = "There is nothing you can do on this request now." in text(response)
    assert nothing_to_do is (not FEEDBACK_TEAM_LINKS[state])


def test_the_send_link_is_hidden_while_the_agreement_is_being_rendered(client, feedback_user):
    req = request_in(State.REVIEWED, feedback_user)
    AgreementFactory(request=req, requested_by=feedback_user)  # queued, not yet rendered
    client.force_login(feedback_user)

    response = client.get(change_url(req))

    assert action_links(response) == {"reject", "withdraw"}
    assert "being rendered" in text(response)


@pytest.mark.parametrize("state", list(State))
def test_the_service_desk_sees_no_action_links(client, service_desk_user, feedback_user, state):
    req = request_in(state, feedback_user)
    client.force_login(service_desk_user)

    response = client.get(change_url(req))

    assert response.status_code == 200
    assert action_links(response) == set()
    assert "There is nothing you can do on this request now." in text(response)


def test_staff_in_no_group_are_refused_the_requests(client, outsider_user, feedback_user):
    req = request_in(State.SUBMITTED, feedback_user)
    client.force_login(outsider_user)

    assert client.get(CHANGELIST_URL).status_code == 403
    assert client.get(change_url(req)).status_code == 403
    assert client.get(act_url(req, "review")).status_code == 403
    assert client.get(RAISE_URL).status_code == 403


def test_the_change_page_shows_the_domains_and_contacts_being_reviewed(client, feedback_user):
    req = request_in(State.SUBMITTED, feedback_user, domains=["alpha-care.org.uk"])
    spoc = req.contacts.get(role="spoc")
    client.force_login(feedback_user)

    page = text(client.get(change_url(req)))

    assert "alpha-care.org.uk" in page
    assert spoc.email in page


def test_the_change_page_shows_the_newest_audit_events_to_the_feedback_team_only(
    client, feedback_user, service_desk_user
):
    req = FederationRequestFactory()
    request_review(request_id=req.pk, actor=feedback_user, notes="Looks right.")
    client.force_login(feedback_user)

    page = client.get(change_url(req)).content.decode()

    assert 'id="audit-log"' in page
    assert "request.reviewed" in page and "Looks right." in page
    assert f"?q={req.reference}" in page  # the whole log, filtered to this request
    client.force_login(service_desk_user)
    assert 'id="audit-log"' not in client.get(change_url(req)).content.decode()


def test_the_change_page_reads_top_down_with_older_history_folded(client, feedback_user):
    req = request_in(State.FEDERATED, feedback_user)
    for number in range(13 - AuditEvent.objects.filter(request=req).count()):
        audit(req, feedback_user, "contact.updated", message=f"Event {number}.")
    client.force_login(feedback_user)

    page = client.get(change_url(req)).content.decode()

    # State and what to do now, the request, its checks; agreement, evidence, contacts; history.
    sections = [
        'id="lifecycle-actions"',
        'class="fieldset-heading">Request</h2>',
        'id="domain-checks"',
        'id="agreements-group"',
        'id="evidence_items-group"',
        'id="contacts-group"',
        'id="history"',
    ]
    positions = [page.find(marker) for marker in sections]
    assert -1 not in positions, dict(zip(sections, positions, strict=True))
    assert positions == sorted(positions), dict(zip(sections, positions, strict=True))
    # The dates the lifecycle stamped are in the history, folded (a <details> of their own).
    history = page[page.find('id="history"') :]
    assert re.search(r"<details>\s*<summary>\s*<h3[^>]*>Dates</h3>", history), history[:600]
    # Only the newest 10 audit events are open; the others are one click away.
    newest = history[: history.find('id="audit-older"')]
    assert newest.count('<td class="nowrap">') == 10
    older = re.search(r'<details id="audit-older">\s*<summary>(\d+) older events</summary>', page)
    assert older and int(older.group(1)) == 3


def test_the_offboard_action_is_shown_only_while_an_ask_waits(client, feedback_user):
    for state in (State.FEDERATED, State.SUSPENDED):
        req = request_in(state, feedback_user)
        client.force_login(feedback_user)
        request_offboarding_ask(
            request_id=req.pk,
            actor_email=req.contacts.get(role=ContactRole.SPOC).email,
            reason="Moving to NHSmail.",
            notice_date=timezone.localdate(),
        )

        response = client.get(change_url(req))

        assert action_links(response) == FEEDBACK_TEAM_LINKS[state] | {"offboard"}
        assert "The organisation asks to end the agreement:" in text(response)
        assert "Why: Moving to NHSmail." in text(response)
