"""Every download of an agreement or evidence file, whoever asks: the file opened, under a safe
name, and its download in the audit log. Faces only wrap it in a response."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, TYPE_CHECKING

from requests_app.audit import audit
from requests_app.models import FederationRequest

from ..models import Agreement, EvidenceItem
from ..selectors import sent_agreement

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ISSUED, SIGNED, EVIDENCE = "agreement", "signed", "evidence"
EVIDENCE_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}


class FileMissing(Exception):
    """No such file on this request (yet): the face answers 404."""


@dataclass(frozen=True)
class Download:
    file: IO[bytes]
    filename: str
    content_type: str


def file_download(
    *,
    req: FederationRequest,
    kind: str,
    file_id: int | None = None,
    actor: User | None = None,
    actor_label: str = "",
) -> Download:
    """Open one of req's files and record the download. With file_id (staff), any agreement or
    evidence item of req; without it (the organisation), the current agreement once sent."""
    if kind == EVIDENCE:
        # Without an id there is no item to find (pk=None would match no row either).
        item = (
            None
            if file_id is None
            else EvidenceItem.objects.filter(pk=file_id, request=req).first()
        )
        if item is None or not item.file:
            raise FileMissing("No such evidence on this request.")
        # The stored name's suffix is the kind the upload was proved to be.
        suffix = PurePath(item.file.name).suffix or ".pdf"
        field, digest, what = item.file, item.sha256, "evidence"
        name = f"{req.reference}-evidence-{item.pk}{suffix}"
        content_type = EVIDENCE_TYPES.get(suffix, "application/octet-stream")
    elif kind in (ISSUED, SIGNED):
        agreement = _agreement(req, file_id)
        field = agreement.pdf if kind == ISSUED else agreement.signed_copy
        digest = agreement.pdf_sha256 if kind == ISSUED else agreement.signed_copy_sha256
        what = "Issued FPA" if kind == ISSUED else "Signed FPA"
        name = agreement.download_name
        if kind == SIGNED:
            name = name.replace(".pdf", "-signed.pdf")
        content_type = "application/pdf"
    else:
        raise FileMissing("No such file.")
    if not field:
        raise FileMissing("That file does not exist yet.")
    audit(
        req,
        actor,
        "file.downloaded",
        message=f"{what} {name} (SHA-256 {digest}).",
        actor_label=actor_label,
    )
    return Download(field.open("rb"), name, content_type)


def _agreement(req: FederationRequest, agreement_id: int | None) -> Agreement:
    if agreement_id is None:
        agreement = sent_agreement(req)
    else:
        agreement = Agreement.objects.filter(pk=agreement_id, request=req).first()
    if agreement is None:
        raise FileMissing("No agreement has been sent for this request yet.")
    return agreement
