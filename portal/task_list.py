"""The organisation's route through its request, as the NHS.UK task list shows it: each task
with who does it, where it stands, and a link for the person who can do it now."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.urls import reverse
from django.utils import timezone

from agreements.models import EVIDENCE_OPEN_STATES, EvidenceStatus, ReattestationStatus
from requests_app.models import (
    OPEN_STATES,
    ContactRole,
    FederationRequest,
    RemediationCase,
    State,
)
from requests_app.selectors import current_signatory
from requests_app.services.contacts import CONTACT_STATES

# Where a task stands, as the task list shows it.
COMPLETED = "Completed"
TO_DO = "To do"
CANNOT_START = "Cannot start yet"
NEEDS_WORK = "Needs more work"
OVERDUE = "Overdue"
# The request's progress, in order, to tell "done" from "not yet".
ORDER = [*OPEN_STATES, State.FEDERATED]


@dataclass(frozen=True)
class Task:
    name: str
    who: str
    status: str
    hint: str = ""
    href: str = ""  # only for a viewer who can do it now

    @property
    def is_tag(self) -> bool:
        """Shown as a tag (it asks for attention) rather than as plain text."""
        return self.status not in (COMPLETED, CANNOT_START)


def _reached(req: FederationRequest, state: State) -> bool:
    return req.state in ORDER and ORDER.index(State(req.state)) >= ORDER.index(state)


def task_list(
    req: FederationRequest,
    *,
    may_sign: bool,
    roles: set[str],
    evidence: list[dict[str, Any]],
    checks_done: bool,
    teams_setup: list[dict[str, Any]],
    remediation: RemediationCase | None = None,
    today: date | None = None,
) -> list[Task]:
    """The tasks of req for a contact holding roles, who may_sign it now (the sign page's own
    rule, signing_refusal), with what its open remediation case asks to fix; empty once the
    request is closed."""
    page = reverse("portal:request", args=[req.reference])
    fixes = _remediation_tasks(remediation, page=page, today=today or timezone.localdate())
    if req.state not in ORDER:
        # Suspended: the fixes are the way back (reinstatement needs passing checks).
        return fixes if req.state == State.SUSPENDED else []
    tasks = [
        Task(
            "Domain checks",
            "The portal, automatically",
            COMPLETED if checks_done else "Running",
            "Your domains' email and Teams settings, checked against the standard.",
            f"{page}#domain-checks" if checks_done else "",
        ),
        Task(
            "Review of your domains",
            "The NHSmail Feedback team",
            COMPLETED if _reached(req, State.REVIEWED) else "Waiting for the Feedback team",
        ),
        _signatory_task(req, roles=roles),
        _signing_task(req, roles=roles, may_sign=may_sign),
        *_evidence_tasks(req, evidence=evidence),
        Task(
            "Domains on NHSmail's allow list",
            "The NHSmail Feedback team, once the evidence is verified",
            COMPLETED if req.state == State.FEDERATED else CANNOT_START,
        ),
        _teams_task(req, roles=roles, teams_setup=teams_setup, page=page),
        *fixes,
    ]
    return tasks


def _remediation_tasks(case: RemediationCase | None, *, page: str, today: date) -> list[Task]:
    """A task per check that got worse: "Fix: <check>", due by the case's date, with the fix."""
    if case is None or not case.is_open:
        return []
    overdue = case.is_overdue(today)
    tasks = []
    for item in case.items_for_people():
        due = f"Due by {case.due_date.day} {case.due_date:%B %Y}."
        if item.get("fixed"):
            status, hint = COMPLETED, "The latest checks found it fixed."
        else:
            status = OVERDUE if overdue else TO_DO
            fix = f" How to fix it: {item['fix']}" if item.get("fix") else ""
            hint = f"{due} {item['summary']}{fix}"
        tasks.append(
            Task(
                f"Fix: {item['check_name']} on {item['domain']}",
                "Your technical contact",
                status,
                hint,
                f"{page}#remediation" if status != COMPLETED else "",
            )
        )
    return tasks


def _signatory_task(req: FederationRequest, *, roles: set[str]) -> Task:
    named = current_signatory(req) is not None
    # Once signed (in the portal, or a copy staff recorded) there is nobody left to name.
    done = named or _reached(req, State.SIGNED)
    may_name = ContactRole.SPOC in roles and req.state in CONTACT_STATES and not done
    add = reverse("portal:contact_add", args=[req.reference]) + f"?role={ContactRole.SIGNATORY}"
    return Task(
        "Name the signatory",
        "Your SPOC",
        COMPLETED if done else TO_DO,
        "A Director-level person in your organisation, who signs the agreement in the portal. "
        "We email them an invitation once the agreement is sent.",
        add if may_name else "",
    )


def _signing_task(req: FederationRequest, *, roles: set[str], may_sign: bool) -> Task:
    if _reached(req, State.SIGNED):
        status = COMPLETED
    elif req.state == State.FPA_SENT:
        status = TO_DO if ContactRole.SIGNATORY in roles else "Waiting for the signatory"
    else:
        status = CANNOT_START
    return Task(
        "Sign the Federation Partnering Agreement",
        "Your signatory",
        status,
        "Signed in the portal, on the agreement as issued; nothing to print or email back.",
        reverse("portal:sign", args=[req.reference]) if may_sign else "",
    )


def _evidence_tasks(req: FederationRequest, *, evidence: list[dict[str, Any]]) -> list[Task]:
    open_now = req.state in EVIDENCE_OPEN_STATES
    tasks = []
    for row in evidence:
        criterion, item = row["criterion"], row["item"]
        if item is not None and item.status == EvidenceStatus.VERIFIED:
            status = COMPLETED
        elif _reached(req, State.EVIDENCE_VERIFIED):
            status = COMPLETED if item is not None else "Not needed"
        elif not open_now:
            status = CANNOT_START
        elif item is None:
            status = TO_DO
        elif item.status == EvidenceStatus.RETURNED:
            status = NEEDS_WORK
        else:
            status = "Waiting for review"
        optional = "" if criterion.required else " (if it applies)"
        tasks.append(
            Task(
                f"Evidence: {criterion.title}{optional}",
                "Any of your contacts",
                status,
                "You can upload it as soon as the agreement is sent, while the signature is "
                "awaited; the Feedback team reviews it once the agreement is signed.",
                reverse("portal:evidence_upload", args=[req.reference, criterion.pk])
                if open_now and status != COMPLETED
                else "",
            )
        )
    return tasks


def _teams_task(
    req: FederationRequest, *, roles: set[str], teams_setup: list[dict[str, Any]], page: str
) -> Task:
    federated = req.state == State.FEDERATED
    done = federated and all(step["done"] for step in teams_setup)
    may_confirm = federated and roles & {ContactRole.TECHNICAL, ContactRole.SPOC}
    return Task(
        "Set up Teams for NHSmail",
        "Your technical contact",
        COMPLETED if done else (TO_DO if federated else CANNOT_START),
        "Allow nhs.net in the Microsoft Teams admin centre, then tick each step here.",
        f"{page}#teams-setup" if may_confirm and not done else "",
    )


def reattestation_task(req: FederationRequest, reattestation: Any, *, roles: set[str]) -> Task:
    """The annual re-attestation (agreements.models.Reattestation), for a federated request:
    the SPOC answers, the signatory confirms, the Feedback team verifies."""
    due = f"{reattestation.term_ends_on:%d %B %Y}"
    page = reverse("portal:reattestation", args=[req.reference])
    spoc_status = NEEDS_WORK if reattestation.returned_reason else TO_DO
    status = {
        ReattestationStatus.OPEN: (
            spoc_status if ContactRole.SPOC in roles else "Waiting for the SPOC"
        ),
        ReattestationStatus.ANSWERED: (
            TO_DO if ContactRole.SIGNATORY in roles else "Waiting for the signatory"
        ),
        ReattestationStatus.CONFIRMED: "Waiting for the Feedback team",
        ReattestationStatus.VERIFIED: COMPLETED,
    }[reattestation.status]
    hint = (
        f"Renewed until {reattestation.renewed_until:%d %B %Y}."
        if reattestation.status == ReattestationStatus.VERIFIED
        else f"Confirm your contacts and each DCB1596 criterion before the term ends on {due}."
    )
    return Task(
        f"Re-attest the agreement (term ending {due})",
        "Your SPOC, then your signatory",
        status,
        hint,
        # Everyone named may read where it stands; the link says more to whoever acts now.
        page,
    )


def addition_task(addition: Any, *, amendment: Any, roles: set[str], may_sign: bool) -> Task:
    """A domain the SPOC asked to add to a federated request
    (requests_app.models.DomainAddition): the Feedback team reviews it, the signatory signs
    the amended agreement, and the domain joins the allow list."""
    name = addition.domain.display_name
    if amendment is None:
        status = "Waiting for the Feedback team"
        hint = (
            "Its domain checks run, then the Feedback team approves it and sends an amended "
            "agreement listing every domain."
        )
    else:
        status = TO_DO if ContactRole.SIGNATORY in roles else "Waiting for the signatory"
        hint = (
            "Signed in the portal, as the first agreement was; the domain then joins the "
            "allow list."
        )
    return Task(
        f"Add {name} to the agreement",
        "The Feedback team, then your signatory",
        status,
        hint,
        reverse("portal:sign", args=[addition.request.reference])
        if amendment is not None and may_sign
        else "",
    )
