"""Organisations, federation requests and their lifecycle (the state machine), and domains.

Transitions here are pure: they change the state and the fields that belong to it, nothing
else. Every write the business does goes through requests_app.services; preconditions other
apps own (an agreement rendered, evidence verified) are guards they register there.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from ..domains import domain_unicode
from .check_runs import CheckRunState

if TYPE_CHECKING:
    from .check_runs import CheckRun


def review_checks_max_age() -> timedelta:
    """How old the domain checks a review relies on may be."""
    return timedelta(hours=settings.REVIEW_CHECKS_MAX_AGE_HOURS)


class State(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    REVIEWED = "reviewed", "Reviewed"
    FPA_SENT = "fpa_sent", "Agreement sent"
    SIGNED = "signed", "Agreement signed"
    EVIDENCE_VERIFIED = "evidence_verified", "Evidence verified"
    FEDERATED = "federated", "Federated"
    SUSPENDED = "suspended", "Suspended"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    REVOKED = "revoked", "Revoked"
    OFFBOARDED = "offboarded", "Offboarded"


# States from which a request can still be rejected or withdrawn, and whose domains are held.
OPEN_STATES = [
    State.SUBMITTED,
    State.REVIEWED,
    State.FPA_SENT,
    State.SIGNED,
    State.EVIDENCE_VERIFIED,
]
CLOSED_STATES = [State.REJECTED, State.WITHDRAWN, State.REVOKED, State.OFFBOARDED]
# States from which the organisation may end its agreement itself (offboarding).
OFFBOARDING_STATES = [State.FEDERATED, State.SUSPENDED]
# States in which the request's agreement has been sent (and perhaps signed since).
AGREEMENT_SENT_STATES = [State.FPA_SENT, State.SIGNED, State.EVIDENCE_VERIFIED, State.FEDERATED]


class Channel(models.TextChoices):
    SELF_SERVICE = "self_service", "Self-service (web form)"
    SERVICE_DESK = "service_desk", "Raised on behalf by the service desk"


def new_status_token() -> str:
    return secrets.token_urlsafe(32)


# ODS codes are 3 to 6 capital letters and digits (e.g. RR8, A81001, 8J834, 0DF).
ods_code_validator = RegexValidator(
    r"^[A-Z0-9]{3,6}$",
    "Enter the ODS code as 3 to 6 letters and numbers, like RR8 or A81001.",
)


class Organisation(models.Model):
    name = models.CharField(max_length=200)
    ods_code = models.CharField(
        "ODS code", max_length=6, blank=True, db_index=True, validators=[ods_code_validator]
    )
    has_nhsmail_presence = models.BooleanField("has an NHSmail presence", default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.ods_code})" if self.ods_code else self.name


class FederationRequest(ConcurrentTransitionMixin, models.Model):
    # NULL until the row has its id (FR-<id>): two new rows must not both hold "".
    reference = models.CharField(max_length=12, unique=True, null=True, editable=False)  # noqa: DJ001
    status_token = models.CharField(
        max_length=64, unique=True, default=new_status_token, editable=False
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="requests"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.SELF_SERVICE)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="raised_requests",
        help_text="The service desk member who raised it on the organisation's behalf.",
    )
    raised_on_behalf_reason = models.TextField(blank=True)
    requester_name = models.CharField(max_length=200)
    requester_email = models.EmailField()
    justification = models.TextField(default="Teams federation")
    state = FSMField(default=State.SUBMITTED, choices=State.choices, protected=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviewed_requests",
    )
    review_notes = models.TextField(blank=True)
    fpa_sent_at = models.DateTimeField("agreement sent at", null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    evidence_verified_at = models.DateTimeField(null=True, blank=True)
    evidence_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evidence_verified_requests",
    )
    federated_at = models.DateTimeField(null=True, blank=True)
    effective_date = models.DateField(null=True, blank=True)
    # The suspension in force (cleared on reinstatement; every one stays in the audit log).
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="suspended_requests",
    )
    suspended_from = models.DateField("off the allow list from", null=True, blank=True)
    suspension_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("review_request", "Can review a federation request"),
            ("send_agreement", "Can send the Federation Partnering Agreement"),
            ("record_signature", "Can record the signed agreement"),
            ("verify_evidence", "Can verify DCB1596 evidence"),
            ("federate_request", "Can federate a request's domains"),
            ("reject_request", "Can reject a federation request"),
            ("withdraw_request", "Can withdraw a federation request"),
            ("raise_on_behalf", "Can raise a request on an organisation's behalf"),
            ("confirm_spoc_change", "Can confirm or decline a change of SPOC"),
            ("suspend_request", "Can suspend or reinstate a federated request"),
            ("revoke_request", "Can revoke a suspended request's agreement"),
            ("offboard_request", "Can confirm or decline an organisation's offboarding"),
        ]
        indexes = [
            # The admin's state filter and its count; the changelist sorts by newest first.
            models.Index(fields=["state", "-created_at"], name="request_state_created"),
        ]
        constraints = [
            # queryset.update() bypasses the protected field; the database still refuses nonsense.
            models.CheckConstraint(
                condition=Q(state__in=State.values), name="federationrequest_state_valid"
            ),
        ]

    def __str__(self):
        return self.reference or f"request {self.pk}"

    @property
    def kept_domains(self) -> list[RequestedDomain]:
        """The domains the request covers (none removed after federation), from a prefetch of
        domains when there is one: lists of many requests stay at a fixed number of queries."""
        return [
            domain
            for domain in self.domains.all()
            if domain.removed_at is None and not domain.pending_addition
        ]

    # -- conditions (what requests_app owns; other apps register guards in services.locking) --

    def latest_completed_check_run(self) -> CheckRun | None:
        """The newest check run with every domain's result in, or None."""
        return (
            self.check_runs.filter(state=CheckRunState.COMPLETE)
            .order_by("-completed_at", "-pk")
            .first()
        )

    def has_recent_check_run(self) -> bool:
        # Review judges the domains on the newest checks (a run asked for again is waited
        # for), completed no longer than REVIEW_CHECKS_MAX_AGE_HOURS ago.
        if self.running_check_runs().exists():
            return False
        run = self.latest_completed_check_run()
        return bool(run and run.completed_at >= timezone.now() - review_checks_max_age())

    def running_check_runs(self) -> models.QuerySet[CheckRun]:
        """Runs still expected to finish: a run left pending longer than CHECK_RUN_LOST_MINUTES
        (a task lost for good) no longer holds a review back."""
        lost_before = timezone.now() - timedelta(minutes=settings.CHECK_RUN_LOST_MINUTES)
        return self.check_runs.filter(state=CheckRunState.PENDING, requested_at__gte=lost_before)

    def has_pending_offboarding_ask(self) -> bool:
        # Offboarding is the organisation's decision: staff confirm an ask, never start one.
        from .offboarding import OffboardingDecision  # that module builds on this one

        return self.offboarding_asks.filter(decision=OffboardingDecision.PENDING).exists()

    # -- transitions (state and its own fields only) ------------------------------------------

    @transition(
        field=state,
        source=State.SUBMITTED,
        target=State.REVIEWED,
        conditions=[has_recent_check_run],
    )
    def review(self, *, reviewer, notes: str):
        self.reviewed_at = timezone.now()
        self.reviewed_by = reviewer
        self.review_notes = notes

    @transition(field=state, source=State.REVIEWED, target=State.FPA_SENT)
    def send_agreement(self):
        self.fpa_sent_at = timezone.now()

    @transition(field=state, source=State.FPA_SENT, target=State.REVIEWED)
    def expire_agreement(self):
        """An FPA left unsigned too long: the request goes back for a fresh one."""

    @transition(field=state, source=State.FPA_SENT, target=State.SIGNED)
    def record_signature(self):
        """Staff record a copy signed outside the portal."""
        self.signed_at = timezone.now()

    @transition(field=state, source=State.FPA_SENT, target=State.SIGNED)
    def sign(self):
        """The signatory signs in the portal."""
        self.signed_at = timezone.now()

    @transition(field=state, source=State.SIGNED, target=State.EVIDENCE_VERIFIED)
    def verify_evidence(self, *, verifier):
        self.evidence_verified_at = timezone.now()
        self.evidence_verified_by = verifier

    @transition(field=state, source=State.EVIDENCE_VERIFIED, target=State.FEDERATED)
    def federate(self, *, effective_date):
        self.federated_at = timezone.now()
        self.effective_date = effective_date

    @transition(field=state, source=State.FEDERATED, target=State.SUSPENDED)
    def suspend(self, *, suspender, reason: str, effective_date):
        """The domains leave the allow list from effective_date; the partnership is paused."""
        self.suspended_at = timezone.now()
        self.suspended_by = suspender
        self.suspended_from = effective_date
        self.suspension_reason = reason

    @transition(field=state, source=State.SUSPENDED, target=State.FEDERATED)
    def reinstate(self, *, effective_date):
        """Back on the allow list from effective_date, once the cause is fixed."""
        self.suspended_at = None
        self.suspended_by = None
        self.suspended_from = None
        self.suspension_reason = ""
        self.effective_date = effective_date

    @transition(field=state, source=State.SUSPENDED, target=State.REVOKED)
    def revoke(self, *, reason: str):
        """Terminal: the agreement ends. Only from suspended, so that one person suspends and
        another revokes (four eyes)."""
        self.closed_at = timezone.now()
        self.closed_reason = reason

    @transition(
        field=state,
        source=OFFBOARDING_STATES,
        target=State.OFFBOARDED,
        conditions=[has_pending_offboarding_ask],
    )
    def offboard(self, *, reason: str):
        """Terminal: the organisation ended the agreement itself and the Feedback team
        confirmed it."""
        self.closed_at = timezone.now()
        self.closed_reason = reason

    @transition(field=state, source=OPEN_STATES, target=State.REJECTED)
    def reject(self, *, reason: str):
        self.closed_at = timezone.now()
        self.closed_reason = reason

    @transition(field=state, source=OPEN_STATES, target=State.WITHDRAWN)
    def withdraw(self, *, reason: str):
        self.closed_at = timezone.now()
        self.closed_reason = reason


class RequestedDomainQuerySet(models.QuerySet["RequestedDomain"]):
    def kept(self) -> RequestedDomainQuerySet:
        """The request's domains not removed from it after federation, nor only asked to be
        added to it (services.domain_additions): what its agreement covers."""
        return self.filter(removed_at__isnull=True, pending_addition=False)

    def checked(self) -> RequestedDomainQuerySet:
        """What a check run of the request checks: the domains it covers, and a domain asked to
        be added while that ask is open (staff judge the addition on its checks)."""
        return self.filter(removed_at__isnull=True).exclude(pending_addition=True, is_live=False)


class RequestedDomain(models.Model):
    request = models.ForeignKey(FederationRequest, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField("domain (A-label)", max_length=253)
    # True while the request is open or federated: a domain may be in one live request only.
    is_live = models.BooleanField(default=True)
    # A domain removed from a federated request (services.domain_changes) stays recorded: off
    # the allow list from removed_from, no longer live, so it may be requested afresh.
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_from = models.DateField("off the allow list from", null=True, blank=True)
    removal_reason = models.TextField(blank=True)
    # Asked to be added to a federated request (services.domain_additions): held (live) while
    # the ask is open, but neither covered by the agreement nor on the allow list until the
    # amended agreement is signed; an ask refused, cancelled or expired leaves it not live.
    pending_addition = models.BooleanField(default=False)

    objects = RequestedDomainQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(is_live=True), name="requesteddomain_one_live"
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return domain_unicode(self.name)
