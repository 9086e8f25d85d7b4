"""The sign-in link email."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from requests_app.emails import send_once

from .models import SignInLink


def send_sign_in_link(link: SignInLink, *, secret: str, minutes: int) -> None:
    url = settings.SITE_URL + reverse("accounts:sign_in_link", args=[secret])
    message = EmailMessage(
        subject="Your sign-in link for Teams federation with NHSmail",
        body=render_to_string(
            "emails/sign_in_link.txt",
            {"url": url, "minutes": minutes, "feedback_email": settings.FEEDBACK_TEAM_EMAIL},
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[link.email],
        reply_to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    send_once(key=f"signin:{link.pk}", req=None, message=message)
