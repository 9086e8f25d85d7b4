"""The Federation Partnering Agreement as issued and signed, and DCB1596 evidence."""

import uuid
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.utils import timezone

from requests_app.models import DomainAddition, FederationRequest, State

# Bump when templates/agreements/fpa.html changes in a way that matters to what is agreed.
CURRENT_TEMPLATE_VERSION = "FPA-2026.2"  # .2: an amended agreement adds a domain


def _private_name(prefix: str, filename: str) -> str:
    # Random names: nothing about the organisation or the uploader's filename reaches the disk.
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"{prefix}/{uuid.uuid4().hex}{suffix}"


def issued_pdf_path(instance, filename):
    return _private_name("agreements/issued", filename)


def signed_copy_path(instance, filename):
    return _private_name("agreements/signed", filename)


def evidence_path(instance, filename):
    return _private_name("evidence", filename)


class AgreementQuerySet(models.QuerySet["Agreement"]):
    def in_preparation(self) -> "AgreementQuerySet":
        """Agreements being rendered now: not sent, not failed, not given up as lost."""
        cutoff = timezone.now() - timedelta(minutes=settings.AGREEMENT_RENDER_STALE_MINUTES)
        return self.filter(sent_at__isnull=True, failure="", requested_at__gte=cutoff)


class Agreement(models.Model):
    request = models.ForeignKey(
        FederationRequest, on_delete=models.PROTECT, related_name="agreements"
    )
    # An amendment adding this domain to a federated request (it lists every domain); None
    # for the request's first agreement and any issued afresh after it expired.
    domain_addition = models.OneToOneField(
        DomainAddition,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="amended_agreement",
    )
    template_version = models.CharField(max_length=20, default=CURRENT_TEMPLATE_VERSION)
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    pdf = models.FileField(upload_to=issued_pdf_path, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Why rendering or sending stopped (a time-out, a lost permission); staff may ask again.
    failure = models.TextField(blank=True)
    # Left unsigned past FPA_EXPIRY_DAYS: no longer the agreement on offer.
    expired_at = models.DateTimeField(null=True, blank=True)
    # A copy signed outside the portal: what its PDF signatures say (agreements.sealing).
    signature_check = models.TextField(blank=True)

    signed_copy = models.FileField(upload_to=signed_copy_path, blank=True)
    signed_copy_sha256 = models.CharField(max_length=64, blank=True)
    signatory_name = models.CharField(max_length=200, blank=True)
    signatory_job_title = models.CharField(max_length=200, blank=True)
    # Staff confirm the signatory holds a Director-level role (the FPA's requirement).
    signatory_is_director = models.BooleanField(default=False)
    signed_on = models.DateField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]

    def __str__(self):
        return f"FPA {self.template_version} for {self.request}"

    @property
    def download_name(self) -> str:
        return f"{self.request.reference}-federation-partnering-agreement.pdf"


class EvidenceCriterion(models.Model):
    """A DCB1596 minimum information security criterion the organisation shows evidence for."""

    code = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField()
    accepted_evidence = models.TextField()
    required = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    # Screenshots (PNG, JPEG) as well as PDFs, for criteria shown in an admin console.
    accepts_images = models.BooleanField("accepts PNG and JPEG images", default=False)
    # Domain check ids (requests_app.checks) whose latest results are shown with the evidence.
    related_checks = models.CharField(
        max_length=100, blank=True, help_text="Domain check ids, comma-separated: dmarc, spf"
    )

    class Meta:
        ordering = ["position", "code"]
        verbose_name_plural = "evidence criteria"

    def __str__(self):
        return self.title

    @property
    def check_ids(self) -> list[str]:
        return [part.strip() for part in self.related_checks.split(",") if part.strip()]


# Evidence is taken from the moment the FPA is sent (while the signature is awaited) until it
# is verified.
EVIDENCE_OPEN_STATES = (State.FPA_SENT, State.SIGNED)


class EvidenceStatus(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    VERIFIED = "verified", "Verified"
    RETURNED = "returned", "Returned for rework"


class EvidenceItem(models.Model):
    request = models.ForeignKey(
        FederationRequest, on_delete=models.PROTECT, related_name="evidence_items"
    )
    criterion = models.ForeignKey(EvidenceCriterion, on_delete=models.PROTECT)
    file = models.FileField(upload_to=evidence_path)
    original_filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A contact who uploaded it through the portal (uploaded_by is staff).
    uploaded_by_email = models.EmailField(blank=True)
    status = models.CharField(
        max_length=20, choices=EvidenceStatus.choices, default=EvidenceStatus.PENDING
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    returned_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["criterion__position", "-uploaded_at"]

    def __str__(self):
        return f"{self.criterion} for {self.request}"


class SignatureAct(models.Model):
    """A signatory's signature given in the portal: who, how identified, from where, and the
    SHA-256 of the exact PDF they were shown (it must be the issued FPA's)."""

    agreement = models.OneToOneField(
        Agreement, on_delete=models.PROTECT, related_name="signature_act"
    )
    signer_email = models.EmailField()
    signer_name = models.CharField(max_length=200)
    signer_job_title = models.CharField(max_length=200)
    director_confirmed = models.BooleanField()
    attestations = models.JSONField(default=list)
    identified_by = models.CharField(max_length=200)
    document_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    def __str__(self):
        return (
            f"{self.signer_name} signed {self.agreement.request} at {self.signed_at:%Y-%m-%d %H:%M}"
        )


# The annual re-attestation, a concept of its own; imported here so Django registers it.
from .reattestation import (  # noqa: E402
    OPEN_REATTESTATION_STATUSES,
    REATTESTATION_ACTIVE_STATES,
    CriterionAnswer,
    Reattestation,
    ReattestationAnswer,
    ReattestationStatus,
)

__all__ = [
    "CURRENT_TEMPLATE_VERSION",
    "EVIDENCE_OPEN_STATES",
    "OPEN_REATTESTATION_STATUSES",
    "REATTESTATION_ACTIVE_STATES",
    "Agreement",
    "CriterionAnswer",
    "EvidenceCriterion",
    "EvidenceItem",
    "EvidenceStatus",
    "Reattestation",
    "ReattestationAnswer",
    "ReattestationStatus",
    "SignatureAct",
    "evidence_path",
    "issued_pdf_path",
    "signed_copy_path",
]
