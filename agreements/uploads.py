"""Taking an uploaded file (the signed agreement, evidence): read it within the size limit,
judge it by parsing in the sandbox, and return its bytes and SHA-256."""

import hashlib

from django.conf import settings

from portal_kit.errors import ActionRefused
from portal_kit.uploads import too_large_message

from .inspection import Inspection, Refused
from .sandbox import inspect_in_sandbox

PDF_ONLY = frozenset({"pdf"})
PDF_OR_IMAGE = frozenset({"pdf", "png", "jpeg"})


def read_upload(uploaded, *, what: str, allowed=PDF_ONLY) -> tuple[bytes, str, Inspection]:
    """(content, sha256, inspection) of an upload, or ActionRefused saying why not."""
    limit = settings.UPLOAD_MAX_BYTES
    if uploaded is None:
        raise ActionRefused(f"Choose the {what} to upload.")
    if uploaded.size > limit:
        raise ActionRefused(too_large_message())
    content = uploaded.read(limit + 1)
    if len(content) > limit:
        raise ActionRefused(too_large_message())
    try:
        inspection = inspect_in_sandbox(content, allowed)
    except Refused as refusal:
        raise ActionRefused(f"The {what} was not accepted. {refusal}") from None
    return content, hashlib.sha256(content).hexdigest(), inspection


def read_pdf_upload(uploaded, *, what: str) -> tuple[bytes, str]:
    """(content, sha256) of an uploaded PDF, or ActionRefused saying why not."""
    content, digest, _ = read_upload(uploaded, what=what)
    return content, digest
