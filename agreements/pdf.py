"""Rendering the Federation Partnering Agreement to PDF with WeasyPrint (in the worker)."""

import hashlib

from django.template.loader import render_to_string
from django.utils import timezone

from requests_app.models import ContactRole

from .models import Agreement, EvidenceCriterion
from .pdf_assets import html_to_pdf


def render_agreement_pdf(agreement: Agreement) -> bytes:
    """The agreement as issued: A4, numbered pages, the organisation's details filled in."""
    req = agreement.request
    contacts = list(req.contacts.all())
    html = render_to_string(
        "agreements/fpa.html",
        {
            "agreement": agreement,
            "req": req,
            "organisation": req.organisation,
            "domains": [d.display_name for d in req.domains.all()],
            "spoc": next((c for c in contacts if c.role == ContactRole.SPOC), None),
            "technical": [c for c in contacts if c.role == ContactRole.TECHNICAL],
            "criteria": EvidenceCriterion.objects.all(),
            "issued_on": timezone.localdate(),
        },
    )
    return html_to_pdf(html)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
