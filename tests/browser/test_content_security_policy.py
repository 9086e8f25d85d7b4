"""The pages work under their Content-Security-Policy in Chromium: nothing refused (no
`securitypolicyviolation` event, no "Refused to" on the console), the NHS.UK design system's
JavaScript and the Django admin's scripts run."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from requests_app.audit import audit
from requests_app.models import State
from tests.browser.staff import PASSWORD, sign_in
from tests.browser.test_public_pages import signed_in_as
from tests.factories import UserFactory, complete_check_run, request_in

pytestmark = pytest.mark.django_db(transaction=True)

# Runs before any page script, outside the page's policy (the DevTools protocol): records every
# violation the page reports, so a refused style attribute counts as much as a refused script.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"} at ` +
    `${event.sourceFile || document.location.pathname}:${event.lineNumber}`);
});
"""


@pytest.fixture
def watched(page: Page):
    """The page, and the list of what its policy refused (events and console lines)."""
    refused: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Refused to" in message.text or "Content Security Policy" in message.text
            else None
        ),
    )
    return page, refused


def visit(page: Page, refused: list[str], url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    refused.extend(page.evaluate("window.__cspViolations"))


def test_public_and_portal_pages_run_their_scripts_with_nothing_refused(watched, live_server):
    page, refused = watched
    live = live_server.url
    staff = UserFactory(username="fiona.feedback", groups=["Feedback team"])
    req = request_in(State.FPA_SENT, staff)

    visit(page, refused, live + reverse("requests_app:start"))
    # The "JavaScript is on" classes the design system's CSS and JS depend on (a script file,
    # since the policy allows no inline script).
    body_class = page.evaluate("document.body.className")
    assert "js-enabled" in body_class and "nhsuk-frontend-supported" in body_class

    visit(page, refused, live + reverse("requests_app:request_form"))
    page.get_by_role("button", name="Send request").click()
    page.locator(".nhsuk-error-summary").wait_for()
    refused.extend(page.evaluate("window.__cspViolations"))
    # nhsuk-frontend's ErrorSummary (an ES module, loaded under the policy) moves focus to it.
    expect(page.locator(".nhsuk-error-summary")).to_be_focused()

    for path in (
        reverse("requests_app:status", args=[req.status_token]),
        reverse("accounts:sign_in"),
        reverse("agreements:verify"),
        "/no-such-page/",
    ):
        visit(page, refused, live + path)
    signed_in_as(page, live, req.contacts.get(role="spoc").email)
    for path in (
        reverse("portal:home"),
        reverse("portal:request", args=[req.reference]),
        reverse("portal:contact_add", args=[req.reference]),
    ):
        visit(page, refused, live + path)

    assert refused == []


def test_the_admin_runs_its_scripts_with_nothing_refused(watched, live_server):
    page, refused = watched
    live = live_server.url
    UserFactory(username="fiona.feedback", password=PASSWORD, groups=["Feedback team"])
    staff = UserFactory(username="sam.staff", groups=["Feedback team"])
    req = request_in(State.SUBMITTED, staff)
    complete_check_run(req)  # the change page's check results table
    audit(req, staff, "request.submitted", message="Submitted.")

    page.goto(live + "/admin/login/")
    refused.extend(page.evaluate("window.__cspViolations"))
    sign_in(page, live, "fiona.feedback")
    visit(page, refused, live + "/admin/")
    visit(page, refused, live + reverse("admin:requests_app_federationrequest_changelist"))
    change_page = reverse("admin:requests_app_federationrequest_change", args=[req.pk])
    visit(page, refused, live + change_page)
    expect(page.locator("#lifecycle-actions")).to_be_visible()
    # The admin's own script runs: its theme toggle switches the colour scheme.
    theme_before = page.evaluate("document.documentElement.dataset.theme || 'auto'")
    page.locator("button.theme-toggle").first.click()
    assert page.evaluate("document.documentElement.dataset.theme") != theme_before
    refused.extend(page.evaluate("window.__cspViolations"))
    visit(page, refused, live + reverse("admin:requests_app_auditevent_changelist"))

    assert refused == []


def test_the_api_documentation_draws_its_operations_with_nothing_refused(watched, live_server):
    """Swagger UI from drf-spectacular-sidecar's static files: no CDN, nothing refused."""
    page, refused = watched

    visit(page, refused, live_server.url + "/api/v1/docs/")

    expect(page.get_by_text("/api/v1/me/")).to_be_visible()
    assert refused == []
