"""The signed agreement: the issued FPA, a signature page and a certificate of completion,
sealed (PAdES) with the portal's signing certificate; and checking a sealed copy later.

The key and certificate come from settings (SEAL_KEY_FILE, SEAL_CERT_FILE, SEAL_CHAIN_FILES);
without them the portal cannot seal, and signing in the portal says so.
"""

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

SEAL_FIELD = "NHSmailFederationPortalSeal"


class SealingUnavailable(Exception):
    """The portal has no signing certificate configured."""


def sealing_configured() -> bool:
    files = (settings.SEAL_KEY_FILE, settings.SEAL_CERT_FILE)
    return all(path and Path(path).is_file() for path in files)


def certificate_pages(agreement, act) -> bytes:
    """The signature page and the certificate of completion, as a PDF."""
    from weasyprint import HTML

    req = agreement.request
    html = render_to_string(
        "agreements/certificate.html",
        {
            "agreement": agreement,
            "act": act,
            "req": req,
            "domains": [domain.display_name for domain in req.domains.all()],
        },
    )
    return HTML(string=html).write_pdf()


def assemble(issued: bytes, pages: bytes) -> bytes:
    """The issued FPA's pages, exactly, followed by the signature and certificate pages."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for source in (issued, pages):
        writer.append(PdfReader(io.BytesIO(source)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def seal(pdf: bytes, *, reason: str) -> bytes:
    """pdf with a PAdES signature by the portal's certificate over the whole file."""
    if not sealing_configured():
        raise SealingUnavailable("The portal has no signing certificate (SEAL_KEY_FILE).")
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load(
        settings.SEAL_KEY_FILE,
        settings.SEAL_CERT_FILE,
        ca_chain_files=tuple(settings.SEAL_CHAIN_FILES),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location="NHSmail federation portal",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()


@dataclass(frozen=True)
class Verification:
    genuine: bool  # sealed by this portal's certificate, intact, covering the whole file
    summary: str  # a sentence for the person who asked
    sha256: str


def verify(pdf: bytes) -> Verification:
    """Is pdf a copy sealed by this portal and unaltered since?"""
    digest = hashlib.sha256(pdf).hexdigest()
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.general import load_cert_from_pemder
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except Exception:  # noqa: BLE001 (any parse failure means the same to the person asking)
        return Verification(False, "This file could not be read as a PDF.", digest)
    seals = [signature for signature in signatures if signature.field_name == SEAL_FIELD]
    if not seals:
        return Verification(False, "This PDF was not sealed by this portal.", digest)
    if not sealing_configured():
        return Verification(False, "The portal cannot check seals: it has no certificate.", digest)
    ours = load_cert_from_pemder(settings.SEAL_CERT_FILE)
    roots = [load_cert_from_pemder(path) for path in settings.SEAL_TRUST_ROOT_FILES] or [ours]
    try:
        status = validate_pdf_signature(
            seals[-1], ValidationContext(trust_roots=roots, allow_fetching=False)
        )
    except Exception:  # noqa: BLE001 (a damaged signature is an altered file)
        return Verification(False, "This PDF has been altered since the portal sealed it.", digest)
    if not (status.intact and status.valid):
        return Verification(False, "This PDF has been altered since the portal sealed it.", digest)
    # Ours: the portal's name, from an authority it trusts, so a renewed seal certificate still
    # verifies copies sealed before the renewal.
    if not (status.trusted and status.signing_cert.subject == ours.subject):
        return Verification(False, "This PDF was not sealed by this portal.", digest)
    whole = status.coverage.name == "ENTIRE_FILE"
    if not whole:
        return Verification(
            False, "This PDF has been changed after the portal sealed it (pages added).", digest
        )
    return Verification(True, "This is a genuine agreement sealed by this portal.", digest)


def describe_signatures(pdf: bytes) -> str:
    """What the PDF signatures in a copy signed outside the portal say, for the reviewer.
    Checked offline: no certificate revocation lists or OCSP are fetched."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except Exception:  # noqa: BLE001 (unreadable signatures are reported, not fatal)
        return "The PDF's signatures could not be read."
    if not signatures:
        return "No PDF signatures: signed on paper or as an image."
    found = []
    for signature in signatures:
        try:
            status = validate_pdf_signature(signature, ValidationContext(allow_fetching=False))
        except Exception as error:  # noqa: BLE001
            found.append(f"{signature.field_name}: could not be checked ({type(error).__name__})")
            continue
        found.append(
            f"{status.signing_cert.subject.human_friendly}: "
            f"{'intact' if status.intact else 'ALTERED after signing'}, "
            f"{'valid' if status.valid else 'not valid'}, "
            f"{'from a trusted authority' if status.trusted else 'not from a trusted authority'}, "
            f"covers {status.coverage.name.lower().replace('_', ' ')}"
        )
    return f"{len(found)} PDF signature{'s' if len(found) != 1 else ''}: " + "; ".join(found)
