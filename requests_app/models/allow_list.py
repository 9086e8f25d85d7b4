"""NHSmail's allow list: the domains federated, from the portal or imported from before it."""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..domains import domain_unicode
from .requests import FederationRequest


class AllowListSource(models.TextChoices):
    PORTAL = "portal", "Federated in the portal"
    IMPORT = "import", "Imported"


class AllowListEntryQuerySet(models.QuerySet["AllowListEntry"]):
    def listed(self, on_date: date) -> "AllowListEntryQuerySet":
        """Entries not ended by on_date: in effect then, or starting later."""
        return self.filter(Q(effective_to__isnull=True) | Q(effective_to__gt=on_date))

    def in_effect(self, on_date: date) -> "AllowListEntryQuerySet":
        """Entries in effect on on_date."""
        return self.listed(on_date).filter(effective_date__lte=on_date)


class AllowListEntry(models.Model):
    """A domain's time on NHSmail's allow list, from a federated request or imported from
    before: from effective_date until effective_to (open-ended while None). Nothing is deleted:
    a suspended domain's entry ends, and reinstating it starts a new one."""

    domain = models.CharField("domain (A-label)", max_length=253)
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
    source = models.CharField(max_length=20, choices=AllowListSource.choices)
    effective_to = models.DateField("off the list from", null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="allow_list_entries_ended",
    )
    end_reason = models.TextField("why it ended", blank=True)

    objects = AllowListEntryQuerySet.as_manager()

    class Meta:
        ordering = ["domain", "effective_date"]
        verbose_name = "allow list entry"
        verbose_name_plural = "allow list"
        constraints = [
            # One open-ended entry per domain: a domain is on the list once.
            models.UniqueConstraint(
                fields=["domain"], condition=Q(effective_to__isnull=True), name="allowlist_one_open"
            ),
        ]

    def __str__(self):
        return domain_unicode(self.domain)

    @property
    def display_name(self) -> str:
        return domain_unicode(self.domain)


class AllowListApplication(models.Model):
    """Staff applied a change set to the tenant: the allow list as it then stood, so the next
    change set is what has changed since."""

    applied_at = models.DateTimeField(default=timezone.now)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    export_format = models.CharField(max_length=30)
    export_sha256 = models.CharField("SHA-256 of the export applied", max_length=64)
    domains = models.JSONField(help_text="Every domain on the list once the change set applied.")
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-applied_at", "-pk"]
        verbose_name = "change set applied to the tenant"
        verbose_name_plural = "change sets applied to the tenant"

    def __str__(self):
        return f"+{self.added} -{self.removed} applied {self.applied_at:%Y-%m-%d %H:%M}"
