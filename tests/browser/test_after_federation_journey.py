"""After federation in Chromium: a check gets worse and the organisation sees the case on its
task list; staff suspend the request from the workbench and, once the checks pass again,
reinstate it; the re-attestation shows on the task list when it opens."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from agreements.models import Reattestation
from requests_app.models import AllowListEntry, FederationRequest, RemediationCase, State
from requests_app.services.check_runs import queue_check_run
from requests_app.services.lifecycle import request_federate
from tests.browser.staff import sign_in
from tests.browser.test_public_pages import signed_in_as
from tests.factories import UserFactory, request_in
from tests.helpers import finish_check_runs

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "harbourside.example.org.uk"


def task_status(page: Page, name: str):
    return (
        page.locator("#task-list li")
        .filter(has_text=name)
        .first.locator(".nhsuk-task-list__status")
    )


def test_staff_suspend_and_reinstate_and_the_organisation_sees_case_and_reattestation(
    page: Page, browser, live_server
):
    live = live_server.url
    fiona = UserFactory(username="fiona.feedback", groups=["Feedback team"])
    req = request_in(State.EVIDENCE_VERIFIED, fiona, domains=[DOMAIN])
    request_federate(request_id=req.pk, actor=fiona)
    # What a weekly re-check that found DMARC weakened leaves behind (tested with NSD and a
    # worker in tests/requests_app/test_remediation_worker.py).
    RemediationCase.objects.create(
        request=req,
        due_date=timezone.localdate() + timedelta(days=30),
        items=[
            {
                "domain": DOMAIN,
                "check": "dmarc",
                "before": "pass",
                "status": "fail",
                "summary": "DMARC policy is p=none.",
                "fix": "Publish a DMARC record with p=quarantine or p=reject.",
                "found_at": timezone.now().isoformat(),
                "fixed": False,
            }
        ],
    )
    spoc = browser.new_context().new_page()
    signed_in_as(spoc, live, req.contacts.get(role="spoc").email)
    spoc.goto(live + f"/account/requests/{req.reference}/")
    expect(task_status(spoc, "Fix:")).to_contain_text("To do")

    # -- staff suspend from the workbench -------------------------------------------------------
    sign_in(page, live, "fiona.feedback")
    page.goto(live + f"/admin/requests_app/federationrequest/{req.pk}/change/")
    page.locator("#action-suspend").click()
    page.get_by_label("Reason").fill("DMARC has been p=none for 30 days.")
    page.get_by_role("button", name="Suspend").click()
    expect(page.locator("#lifecycle-actions")).to_contain_text("State: Suspended")
    assert AllowListEntry.objects.get(domain=DOMAIN).effective_to == timezone.localdate()

    spoc.reload()
    expect(spoc.locator("#state")).to_have_text("Suspended")
    expect(spoc.locator("#suspension")).to_contain_text("DMARC has been p=none for 30 days.")

    # -- the checks pass again; staff reinstate -------------------------------------------------
    page.locator("#action-reinstate").click()
    page.get_by_label("Reason").fill("Fixed, they say.")
    page.get_by_role("button", name="Reinstate").click()
    expect(page.locator(".messagelist .error")).to_contain_text("Run the domain checks again")

    queue_check_run(req, actor=fiona)
    finish_check_runs(req, status="pass")
    page.goto(live + f"/admin/requests_app/federationrequest/{req.pk}/change/")
    page.locator("#action-reinstate").click()
    page.get_by_label("Reason").fill("DMARC is p=reject again.")
    page.get_by_role("button", name="Reinstate").click()
    expect(page.locator("#lifecycle-actions")).to_contain_text("State: Federated")
    assert FederationRequest.objects.get(pk=req.pk).state == State.FEDERATED

    # -- the re-attestation opens: the organisation sees it on its task list --------------------
    Reattestation.objects.create(
        request=req, term_ends_on=timezone.localdate() + timedelta(days=30)
    )
    spoc.reload()
    expect(spoc.locator("#state")).to_have_text("Federated")
    expect(spoc.get_by_role("link", name=re.compile("Re-attest the agreement"))).to_be_visible()
