"""The Feedback team's admin pages at a laptop's width, checked by axe-core in Chromium: no
horizontal scroll on the overview or on a request's page in any state, and no serious or
critical violation."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page

from agreements.models import Reattestation, ReattestationStatus
from requests_app.audit import audit
from requests_app.models import RequestedDomain, State
from tests.browser.axe import violations
from tests.browser.staff import PASSWORD, sign_in
from tests.factories import UserFactory, request_in

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1280, "height": 800}


def serious_violations(page: Page) -> list[str]:
    return violations(page, impacts=("serious", "critical"))


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page, or any part of it that scrolls sideways on its own (a wide
    table in a scrolling box), is wider than the room it has: 0 when everything fits."""
    return page.evaluate(
        """() => Math.max(
            document.documentElement.scrollWidth - window.innerWidth,
            ...[...document.querySelectorAll("*")]
                .filter(el => ["auto", "scroll"].includes(getComputedStyle(el).overflowX))
                .map(el => el.scrollWidth - el.clientWidth),
            0)"""
    )


def test_the_admin_pages_fit_a_laptop_and_pass_axe(page: Page, live_server):
    UserFactory(username="fiona.feedback", password=PASSWORD, groups=["Feedback team"])
    staff = get_user_model().objects.get(username="fiona.feedback")
    requests = [request_in(state, staff) for state in State]
    for req in requests:  # the long values real pages hold: fingerprints, long domain names
        RequestedDomain.objects.create(request=req, name=f"{'long-' * 11}{req.pk}.example.org.uk")
        audit(req, staff, "file.downloaded", message=f"Issued FPA fpa.pdf (SHA-256 {'ab' * 32}).")
    # The overview's days in each state: stays that ended, from the audit log's state changes.
    for req in requests:
        audit(req, staff, "request.submitted", to_state="submitted")
        audit(req, staff, "request.reviewed", from_state="submitted", to_state="reviewed")
    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server.url, "fiona.feedback")

    found = {}
    # The admin's first page: the team's overview, its charts beside their tables.
    page.goto(live_server.url + reverse("admin:index"))
    assert page.locator("svg[role=img]").count() == 3
    found["overview"] = (horizontal_overflow(page), serious_violations(page))
    for req in requests:
        page.goto(
            live_server.url + reverse("admin:requests_app_federationrequest_change", args=[req.pk])
        )
        found[f"request {req.state}"] = (horizontal_overflow(page), serious_violations(page))
    for name in ("federationrequest", "allowlistentry", "auditevent", "checkrun"):
        page.goto(live_server.url + reverse(f"admin:requests_app_{name}_changelist"))
        found[name] = (horizontal_overflow(page), serious_violations(page))
    page.goto(live_server.url + reverse("admin:support_supportrequest_changelist"))
    found["supportrequest"] = (horizontal_overflow(page), serious_violations(page))
    federated = next(req for req in requests if req.state == State.FEDERATED)
    reattestation = Reattestation.objects.create(
        request=federated, term_ends_on=timezone.localdate(), status=ReattestationStatus.CONFIRMED
    )
    for name, path in (
        ("reattestations", reverse("admin:agreements_reattestation_changelist")),
        (
            "reattestation",
            reverse("admin:agreements_reattestation_change", args=[reattestation.pk]),
        ),
    ):
        page.goto(live_server.url + path)
        found[name] = (horizontal_overflow(page), serious_violations(page))
    page.goto(
        live_server.url
        + reverse("admin:requests_app_federationrequest_act", args=[requests[0].pk, "review"])
    )
    found["review action"] = (horizontal_overflow(page), serious_violations(page))

    problems = {name: result for name, result in found.items() if result != (0, [])}
    assert problems == {}, json.dumps(problems, indent=1)
