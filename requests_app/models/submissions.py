"""A request as typed on the public form, held until its requester confirms their address."""

import secrets

from django.db import models
from django.utils import timezone

from .requests import FederationRequest


def new_link_key() -> str:
    return secrets.token_hex(32)


class PendingSubmission(models.Model):
    """The form's answers, waiting for the requester to follow the link emailed to them.

    Not a request yet: staff never see it, its domains are not held, and no one else is emailed.
    The link's token is stored only as its SHA-256; unconfirmed rows are deleted once expired.
    """

    requester_email = models.EmailField()
    answers = models.JSONField(default=dict)
    # The newest link's SHA-256; None until the worker has made the first link.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)  # noqa: DJ001
    # The links' secrets are derived from this (and the server's key), never stored: a retried
    # job makes the same link again rather than a second one.
    link_key = models.CharField(max_length=64, default=new_link_key, editable=False)
    # Links asked for (the form's first, then each "send it again"), and the newest one emailed.
    links_asked = models.PositiveSmallIntegerField(default=1)
    links_sent = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    request = models.OneToOneField(
        FederationRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pending_submission",
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"Submission from {self.requester_email} ({self.created_at:%Y-%m-%d %H:%M})"
