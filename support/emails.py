"""Emails about support requests: to the Feedback team when one is raised or answered by the
organisation, to the contact who raised it when the team replies or moves it on."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from requests_app.emails import one_line, send_once

from .models import SupportReply, SupportRequest
from .selectors import support_recipient


def send_support_email(
    *, support_id: int, kind: str, key: str, reply_id: int | None = None
) -> bool:
    support = SupportRequest.objects.select_related("request__organisation").get(pk=support_id)
    req = support.request
    to_team = kind in ("raised", "contact_replied")
    recipient = settings.FEEDBACK_TEAM_EMAIL if to_team else support_recipient(support)
    if not recipient:
        return False  # nobody named on the request any more: the team sees it in the admin
    context = {
        "support": support,
        "req": req,
        "kind": kind,
        # The reply this email is about (none for a status change alone).
        "reply": SupportReply.objects.filter(pk=reply_id).first() if reply_id else None,
        "feedback_email": settings.FEEDBACK_TEAM_EMAIL,
        "portal_url": settings.SITE_URL + reverse("support:detail", args=[support.reference]),
        "admin_url": settings.SITE_URL
        + reverse("admin:support_supportrequest_change", args=[support.pk]),
    }
    subjects = {
        "raised": f"Support request {support.reference} from {req.organisation.name}",
        "contact_replied": f"{req.organisation.name} replied on {support.reference}",
        "updated": f"Your support request {support.reference}: {support.get_status_display()}",
    }
    message = EmailMessage(
        subject=one_line(subjects[kind]),
        body=render_to_string(f"emails/support_{'team' if to_team else 'contact'}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        reply_to=[support.raised_by_email] if to_team else [settings.FEEDBACK_TEAM_EMAIL],
    )
    return send_once(key=f"support:{support.pk}:{kind}:{key}", req=req, message=message)
