"""Sign-in links for organisations' contacts: single use, short-lived, stored hashed."""

from django.db import models
from django.utils import timezone


class SignInLink(models.Model):
    """One emailed sign-in link. Only the SHA-256 of its secret is kept, so a copy of the
    database cannot sign anyone in; browser_hash ties it to the browser that asked for it."""

    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    browser_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"sign-in link for {self.email} at {self.created_at:%Y-%m-%d %H:%M}"
