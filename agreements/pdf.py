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
            "domains": agreement_domains(agreement),
            "added_domain": (
                agreement.domain_addition.domain.display_name if agreement.domain_addition else ""
            ),
            "spoc": next((c for c in contacts if c.role == ContactRole.SPOC), None),
            "technical": [c for c in contacts if c.role == ContactRole.TECHNICAL],
            "criteria": EvidenceCriterion.objects.all(),
            "issued_on": timezone.localdate(),
        },
    )
    return html_to_pdf(html)


def agreement_domains(agreement: Agreement) -> list[str]:
    """The domains an agreement covers, as people read them: those its request covers (none
    removed after federation), and the domain an amended agreement adds."""
    domains = list(agreement.request.domains.kept())
    if agreement.domain_addition_id is not None and agreement.domain_addition is not None:
        added = agreement.domain_addition.domain
        if added.pk not in {domain.pk for domain in domains}:
            domains.append(added)
    return [domain.display_name for domain in sorted(domains, key=lambda d: d.name)]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
