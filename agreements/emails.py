"""The email that carries the Federation Partnering Agreement."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from requests_app.emails import one_line, request_recipients, send_once, status_url

from .models import Agreement, EvidenceCriterion


def send_agreement_email(*, agreement_id: int) -> bool:
    """Send the issued FPA as a PDF attachment with the DCB1596 criteria."""
    agreement = Agreement.objects.select_related("request__organisation").get(pk=agreement_id)
    req = agreement.request
    body = render_to_string(
        "emails/agreement_sent.txt",
        {
            "req": req,
            "agreement": agreement,
            "criteria": EvidenceCriterion.objects.all(),
            "status_url": status_url(req),
            "feedback_email": settings.FEEDBACK_TEAM_EMAIL,
        },
    )
    message = EmailMessage(
        subject=one_line(
            f"Federation Partnering Agreement for {req.organisation.name} ({req.reference})"
        ),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=request_recipients(req),
        reply_to=[settings.FEEDBACK_TEAM_EMAIL],
    )
    with agreement.pdf.open("rb") as pdf:
        message.attach(agreement.download_name, pdf.read(), "application/pdf")
    return send_once(key=f"agreement:{agreement.pk}:sent", req=req, message=message)
