"""Checking a PDF someone uploads (the signed agreement, evidence) before it is stored."""

import hashlib
import io

from django.conf import settings
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from requests_app.errors import ActionRefused


def read_pdf_upload(uploaded, *, what: str) -> tuple[bytes, str]:
    """Return (content, sha256) of an uploaded PDF, or raise ActionRefused saying why not."""
    limit = settings.UPLOAD_MAX_BYTES
    if uploaded.size > limit:
        raise ActionRefused(f"The {what} must be smaller than {limit // (1024 * 1024)} MB.")
    content = uploaded.read(limit + 1)
    if len(content) > limit:
        raise ActionRefused(f"The {what} must be smaller than {limit // (1024 * 1024)} MB.")
    if not content.startswith(b"%PDF-"):
        raise ActionRefused(f"The {what} must be a PDF file.")
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise ActionRefused(
                f"The {what} is password-protected. Upload a copy without a password."
            )
        if len(reader.pages) < 1:
            raise ActionRefused(f"The {what} has no pages.")
    except ActionRefused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as error:
        raise ActionRefused(f"The {what} could not be read as a PDF ({error}).") from None
    return content, hashlib.sha256(content).hexdigest()
