"""NHSmail's allow list: the domains federated, from the portal or imported from before it."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..domains import domain_unicode
from .requests import FederationRequest


class AllowListSource(models.TextChoices):
    PORTAL = "portal", "Federated in the portal"
    IMPORT = "import", "Imported"


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
    source = models.CharField(max_length=20, choices=AllowListSource.choices)

    class Meta:
        ordering = ["domain"]
        verbose_name = "allow list entry"
        verbose_name_plural = "allow list"

    def __str__(self):
        return domain_unicode(self.domain)

    @property
    def display_name(self) -> str:
        return domain_unicode(self.domain)
