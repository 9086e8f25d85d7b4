"""Organisations, federation requests and their lifecycle, the allow list, audit and outbox.

Transitions here are pure: they change the state and the fields that belong to it, nothing
else. Every write the business does goes through requests_app.services.
"""

import secrets
from datetime import timedelta

import idna
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition


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
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# States from which a request can still be rejected or withdrawn, and whose domains are held.
OPEN_STATES = [
    State.SUBMITTED,
    State.REVIEWED,
    State.FPA_SENT,
    State.SIGNED,
    State.EVIDENCE_VERIFIED,
]
CLOSED_STATES = [State.REJECTED, State.WITHDRAWN]


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

    # -- conditions ---------------------------------------------------------------------------
    # The guards read the agreement and its evidence (agreements app) through reverse relations
    # and a lazy model lookup: the state machine stays here, and requests_app imports nothing
    # from agreements (CONVENTIONS: agreements builds on requests_app, never the other way).

    @property
    def current_agreement(self):
        """The latest agreement issued for this request, or None."""
        return self.agreements.order_by("-pk").first()

    def latest_completed_check_run(self):
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

    def running_check_runs(self):
        """Runs still expected to finish: a run left pending longer than CHECK_RUN_LOST_MINUTES
        (a task lost for good) no longer holds a review back."""
        lost_before = timezone.now() - timedelta(minutes=settings.CHECK_RUN_LOST_MINUTES)
        return self.check_runs.filter(state=CheckRunState.PENDING, requested_at__gte=lost_before)

    def has_rendered_agreement(self) -> bool:
        agreement = self.current_agreement
        return bool(
            agreement and agreement.pdf and agreement.pdf_sha256 and not agreement.expired_at
        )

    def has_signed_agreement(self) -> bool:
        agreement = self.current_agreement
        return bool(
            agreement
            and agreement.signed_copy
            and agreement.signatory_name.strip()
            and agreement.signatory_job_title.strip()
            and agreement.signatory_is_director
        )

    def missing_evidence(self) -> list[str]:
        """Titles of required DCB1596 criteria without a verified evidence item."""
        criterion_model = apps.get_model("agreements", "EvidenceCriterion")
        verified = self.evidence_items.filter(status="verified").values("criterion_id")
        return list(
            criterion_model.objects.filter(required=True)
            .exclude(pk__in=verified)
            .order_by("position")
            .values_list("title", flat=True)
        )

    def has_all_evidence_verified(self) -> bool:
        # At least one verified item: with no required criteria configured, nothing is proven.
        verified = self.evidence_items.filter(status="verified").exists()
        return verified and not self.missing_evidence()

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

    @transition(
        field=state,
        source=State.REVIEWED,
        target=State.FPA_SENT,
        conditions=[has_rendered_agreement],
    )
    def send_agreement(self):
        self.fpa_sent_at = timezone.now()

    @transition(field=state, source=State.FPA_SENT, target=State.REVIEWED)
    def expire_agreement(self):
        """An FPA left unsigned too long: the request goes back for a fresh one."""

    @transition(
        field=state,
        source=State.FPA_SENT,
        target=State.SIGNED,
        conditions=[has_signed_agreement],
    )
    def record_signature(self):
        self.signed_at = timezone.now()

    @transition(
        field=state,
        source=State.SIGNED,
        target=State.EVIDENCE_VERIFIED,
        conditions=[has_all_evidence_verified],
    )
    def verify_evidence(self, *, verifier):
        self.evidence_verified_at = timezone.now()
        self.evidence_verified_by = verifier

    @transition(field=state, source=State.EVIDENCE_VERIFIED, target=State.FEDERATED)
    def federate(self, *, effective_date):
        self.federated_at = timezone.now()
        self.effective_date = effective_date

    @transition(field=state, source=OPEN_STATES, target=State.REJECTED)
    def reject(self, *, reason: str):
        self.closed_at = timezone.now()
        self.closed_reason = reason

    @transition(field=state, source=OPEN_STATES, target=State.WITHDRAWN)
    def withdraw(self, *, reason: str):
        self.closed_at = timezone.now()
        self.closed_reason = reason


def domain_unicode(name: str) -> str:
    """The domain as people read it (U-label form); the A-label is what is stored."""
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name


class RequestedDomain(models.Model):
    request = models.ForeignKey(FederationRequest, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField("domain (A-label)", max_length=253)
    # True while the request is open or federated: a domain may be in one live request only.
    is_live = models.BooleanField(default=True)

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


class ContactRole(models.TextChoices):
    SPOC = "spoc", "Single point of contact (SPOC)"
    TECHNICAL = "technical", "Technical contact"
    SIGNATORY = "signatory", "Signatory"


class Contact(models.Model):
    request = models.ForeignKey(
        FederationRequest, on_delete=models.CASCADE, related_name="contacts"
    )
    role = models.CharField(max_length=20, choices=ContactRole.choices)
    name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    # A removed contact is kept for the history (who was SPOC when) and loses access at once.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["role", "name"]
        indexes = [
            # Sign-in asks "is this address a current contact?" on every page a contact opens.
            models.Index(Lower("email"), name="contact_email_lower"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_role_display()})"


class SpocChangeState(models.TextChoices):
    PROPOSED = "proposed", "Waiting for the Feedback team"
    CONFIRMED = "confirmed", "Confirmed"
    DECLINED = "declined", "Declined"


class SpocChange(models.Model):
    """A new SPOC proposed by the SPOC or the signatory; it takes effect when the Feedback team
    confirms it, and the old SPOC loses SPOC rights at that moment."""

    request = models.ForeignKey(
        FederationRequest, on_delete=models.CASCADE, related_name="spoc_changes"
    )
    proposed_by = models.EmailField()
    previous_spoc_email = models.EmailField()
    name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    state = models.CharField(
        max_length=16, choices=SpocChangeState.choices, default=SpocChangeState.PROPOSED
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decline_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        verbose_name = "change of SPOC"
        verbose_name_plural = "changes of SPOC"
        constraints = [
            # One proposal at a time per request: a second waits for the first to be decided.
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(state="proposed"),
                name="spocchange_one_proposed_per_request",
            ),
        ]

    def __str__(self):
        return f"SPOC of {self.request} to {self.name} <{self.email}>"


class TeamsSetupStep(models.TextChoices):
    """The Teams admin centre steps a technical contact confirms once the request is federated
    (Microsoft Teams admin centre: Users > External access)."""

    OPEN_SETTINGS = "open_settings", "Open the Teams admin centre at Users > External access"
    TEAMS_USERS = (
        "teams_users",
        (
            "Let people in your organisation communicate with Teams users whose accounts are "
            "managed by an organisation"
        ),
    )
    ALLOW_NHS_NET = (
        "allow_nhs_net",
        ("If external access is limited to allowed domains, add nhs.net to the allowed domains"),
    )
    NOT_BLOCKED = "not_blocked", "Check nhs.net is not on the blocked domains list"
    TEST_CHAT = "test_chat", "Start a chat with an NHSmail colleague to check it works"


class TeamsSetupConfirmation(models.Model):
    """A Teams set-up step a contact confirmed as done for a federated request."""

    request = models.ForeignKey(
        FederationRequest, on_delete=models.CASCADE, related_name="teams_setup"
    )
    step = models.CharField(max_length=20, choices=TeamsSetupStep.choices)
    confirmed_by = models.EmailField()
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["confirmed_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "step"], name="teamssetup_step_once"),
        ]

    def __str__(self):
        return f"{self.get_step_display()} ({self.request})"


class AllowListEntry(models.Model):
    """A domain on NHSmail's allow list, from a federated request or imported from before."""

    domain = models.CharField("domain (A-label)", max_length=253, unique=True)
    request = models.ForeignKey(
        FederationRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="allow_list_entries",
    )
    effective_date = models.DateField()
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    source = models.CharField(
        max_length=20, choices=[("portal", "Federated in the portal"), ("import", "Imported")]
    )

    class Meta:
        ordering = ["domain"]
        verbose_name = "allow list entry"
        verbose_name_plural = "allow list"

    def __str__(self):
        return domain_unicode(self.domain)

    @property
    def display_name(self) -> str:
        return domain_unicode(self.domain)


class AuditEventQuerySet(models.QuerySet):
    """Refuses bulk rewrites; PostgreSQL also refuses them with a trigger (migration 0002)."""

    def update(self, **kwargs):
        raise ValidationError("Audit events cannot be changed.")

    def delete(self):
        raise ValidationError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """Append-only: written by services in the same transaction as the change it records."""

    request = models.ForeignKey(
        FederationRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    # Who acted when there is no user: "requester (status link)", "system".
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.action} by {self.actor_label} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events cannot be deleted.")

    @property
    def to_state_label(self) -> str:
        return State(self.to_state).label if self.to_state in State.values else self.to_state


class OutboxMessage(models.Model):
    """A Celery job written in the same transaction as the change that needs it.

    Published right after commit; the beat sweeper republishes any row a broker outage left
    behind, so a job queued while Redis is down runs once Redis is back.
    """

    task_name = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.task_name}({self.kwargs})"


class SentEmail(models.Model):
    """One row per email sent, keyed so a retried or repeated task sends it only once."""

    key = models.CharField(max_length=200, unique=True)
    request = models.ForeignKey(
        FederationRequest, null=True, on_delete=models.CASCADE, related_name="sent_emails"
    )
    recipients = models.TextField()
    subject = models.CharField(max_length=300)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sent_at"]

    def __str__(self):
        return f"{self.subject} to {self.recipients}"


class CheckStatus(models.TextChoices):
    """A check's status and a domain's verdict (requests_app.checks.results.Status)."""

    PASS = "pass", "Pass"  # noqa: S105 (a status, not a password)
    WARN = "warn", "Warning"
    FAIL = "fail", "Fail"
    INFO = "info", "Information"
    ERROR = "error", "Error"


class CheckRunState(models.TextChoices):
    PENDING = "pending", "Running"
    COMPLETE = "complete", "Complete"


class CheckRunPurpose(models.TextChoices):
    SUBMISSION = "submission", "On submission"
    RERUN = "rerun", "Run again by staff"
    RECHECK = "recheck", "Weekly re-check"


class CheckRun(models.Model):
    """One run of the domain checks over every domain of a request (a task per domain)."""

    request = models.ForeignKey(
        FederationRequest, on_delete=models.CASCADE, related_name="check_runs"
    )
    purpose = models.CharField(
        max_length=16, choices=CheckRunPurpose.choices, default=CheckRunPurpose.SUBMISSION
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=16, choices=CheckRunState.choices, default=CheckRunState.PENDING
    )
    # Checks that got worse since the request's previous completed run (checks.compare).
    worsened = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return f"checks of {self.request} at {self.requested_at:%Y-%m-%d %H:%M}"


class DomainCheck(models.Model):
    """The result of every check for one domain in a run; results is CheckResult.as_dict()s."""

    run = models.ForeignKey(CheckRun, on_delete=models.CASCADE, related_name="domains_checked")
    domain = models.CharField("domain (A-label)", max_length=253)
    checked_at = models.DateTimeField()
    verdict = models.CharField(max_length=8, choices=CheckStatus.choices)
    results = models.JSONField(default=list)

    class Meta:
        ordering = ["domain"]
        constraints = [
            # A task delivered twice records its domain once.
            models.UniqueConstraint(fields=["run", "domain"], name="domaincheck_one_per_run"),
        ]

    def __str__(self):
        return f"{domain_unicode(self.domain)}: {self.verdict}"

    @property
    def display_name(self) -> str:
        return domain_unicode(self.domain)
