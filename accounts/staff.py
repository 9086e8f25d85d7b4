"""Staff sign-in to the admin: password and an authenticator app's code (django-otp), failures
throttled per username and per client address, every sign-in and failure in the audit log."""

import logging

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal_kit import throttle
from portal_kit.http import client_ip

from .services.staff import staff_sign_in_failed, staff_signed_in, staff_signed_out

logger = logging.getLogger(__name__)

TOO_MANY_FAILURES = (
    "Too many failed sign-ins. Wait {minutes} minutes and try again, or ask an administrator "
    "for help."
)
SIGN_IN_FAILED = (
    "Enter a correct username, password and code from your authenticator app. If your account "
    "has no authenticator app yet, ask an administrator to set one up (manage.py totp_enrol)."
)


class StaffSignInForm(OTPAdminAuthenticationForm):
    """The admin's sign-in form: refuses while too many recent failures, records each one."""

    def _chosen_device(self, user):
        # Each member of staff has one authenticator app: use it without asking them to pick.
        device = super()._chosen_device(user)
        if device is None:
            devices = list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True))
            if len(devices) == 1:
                device = devices[0]
        return device

    def _failure_keys(self) -> list[tuple[str, int]]:
        username = (self.data.get("username") or "").strip().lower()
        return [
            (f"staff-sign-in:user:{username}", settings.STAFF_SIGN_IN_FAILURES_PER_USER),
            (f"staff-sign-in:ip:{client_ip(self.request)}", settings.STAFF_SIGN_IN_FAILURES_PER_IP),
        ]

    def clean(self):
        minutes = settings.STAFF_SIGN_IN_WINDOW_MINUTES
        keys = self._failure_keys()
        if any(throttle.failures(key) >= limit for key, limit in keys):
            self._record_failure("refused: too many recent failures", count=False)
            raise ValidationError(TOO_MANY_FAILURES.format(minutes=minutes), code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError as error:
            user = self.get_user()
            reason = "; ".join(error.messages)
            if user is not None and not TOTPDevice.objects.filter(user=user, confirmed=True):
                reason = "the account has no authenticator app"
            self._record_failure(reason)
            # One answer for every failure: which part was wrong is not for the asker to learn.
            raise ValidationError(SIGN_IN_FAILED, code="invalid_login") from None
        staff_signed_in(user=self.get_user())
        return cleaned

    def _record_failure(self, reason: str, *, count: bool = True) -> None:
        username = (self.data.get("username") or "").strip()[:150]
        if count:
            for key, _ in self._failure_keys():
                throttle.record_failure(
                    key, window_seconds=settings.STAFF_SIGN_IN_WINDOW_MINUTES * 60
                )
        logger.warning(
            "staff sign-in failed for %r from %s: %s", username, client_ip(self.request), reason
        )
        staff_sign_in_failed(username=username, reason=reason)


class PortalAdminSite(OTPAdminSite):
    """The admin, open only to staff who signed in with their authenticator app's code."""

    login_form = StaffSignInForm
    login_template = "admin/staff_login.html"
    # The request's page needs the whole width of a laptop's screen; the index and the
    # breadcrumbs lead everywhere the sidebar did.
    enable_nav_sidebar = False

    def __init__(self, name="admin"):
        super().__init__(name)  # django-otp's default instance name is "otpadmin"


@receiver(user_logged_out, dispatch_uid="accounts.staff_signed_out")
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        staff_signed_out(user=user)
