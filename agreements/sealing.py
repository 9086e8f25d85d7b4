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

from .pdf import agreement_domains
from .pdf_assets import html_to_pdf
from .sandbox import check_seal_in_sandbox, describe_in_sandbox
from .signature_check import SEAL_FIELD


class SealingUnavailable(Exception):
    """The portal has no signing certificate configured."""


def sealing_configured() -> bool:
    files = (settings.SEAL_KEY_FILE, settings.SEAL_CERT_FILE)
    return all(path and Path(path).is_file() for path in files)


def certificate_pages(agreement, act) -> bytes:
    """The signature page and the certificate of completion, as a PDF."""
    req = agreement.request
    html = render_to_string(
        "agreements/certificate.html",
        {
            "agreement": agreement,
            "act": act,
            "req": req,
            "domains": agreement_domains(agreement),
        },
    )
    return html_to_pdf(html)


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
    """Is pdf a copy sealed by this portal and unaltered since? (Checked in the sandbox.)"""
    digest = hashlib.sha256(pdf).hexdigest()
    if not sealing_configured():
        return Verification(False, "The portal cannot check seals: it has no certificate.", digest)
    genuine, summary = check_seal_in_sandbox(
        pdf, cert_path=settings.SEAL_CERT_FILE, root_paths=list(settings.SEAL_TRUST_ROOT_FILES)
    )
    return Verification(genuine, summary, digest)


def describe_signatures(pdf: bytes) -> str:
    """What the PDF signatures in a copy signed outside the portal say, for the reviewer.
    Checked offline (no revocation lists or OCSP fetched), in the sandbox."""
    return describe_in_sandbox(pdf)
