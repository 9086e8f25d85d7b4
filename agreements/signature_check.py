"""Checking the PDF signatures in an uploaded file with pyHanko: is it sealed by this portal and
unaltered (the verify page), and what do a copy's own signatures say (signed elsewhere)?

Run through agreements.sandbox in a child process with memory and CPU limits, like the upload
inspection: the file comes from anyone. Imports nothing from Django.
"""

import io
import json
import sys

from .inspection import limit_self

SEAL_FIELD = "NHSmailFederationPortalSeal"
ALTERED = "This PDF has been altered since the portal sealed it."
FOREIGN = "This PDF was not sealed by this portal."


def check_seal(pdf: bytes, cert_path: str, root_paths: list[str]) -> tuple[bool, str]:
    """(genuine, a sentence): sealed by the certificate's subject, from a trusted root, intact,
    valid and covering the whole file. Offline: nothing is fetched."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.general import load_cert_from_pemder
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except Exception:  # noqa: BLE001 (any parse failure means the same to the person asking)
        return False, "This file could not be read as a PDF."
    seals = [signature for signature in signatures if signature.field_name == SEAL_FIELD]
    if not seals:
        return False, FOREIGN
    ours = load_cert_from_pemder(cert_path)
    roots = [load_cert_from_pemder(path) for path in root_paths] or [ours]
    try:
        status = validate_pdf_signature(
            seals[-1], ValidationContext(trust_roots=roots, allow_fetching=False)
        )
    except Exception:  # noqa: BLE001 (a damaged signature is an altered file)
        return False, ALTERED
    if not (status.intact and status.valid):
        return False, ALTERED
    # Ours: the portal's name, from an authority it trusts, so a renewed seal certificate still
    # verifies copies sealed before the renewal.
    if not (status.trusted and status.signing_cert.subject == ours.subject):
        return False, FOREIGN
    if status.coverage.name != "ENTIRE_FILE":
        return False, "This PDF has been changed after the portal sealed it (pages added)."
    return True, "This is a genuine agreement sealed by this portal."


def describe(pdf: bytes) -> str:
    """What each PDF signature in the file says, for the reviewer of a copy signed elsewhere."""
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


def main() -> None:
    """The child: limits, then "seal CERT [ROOT ...]" or "describe"; the PDF on stdin."""
    memory, cpu, job, *paths = sys.argv[1:]
    limit_self(int(memory), int(cpu))
    pdf = sys.stdin.buffer.read()
    if job == "seal":
        genuine, summary = check_seal(pdf, paths[0], paths[1:])
        result = {"genuine": genuine, "summary": summary}
    else:
        result = {"summary": describe(pdf)}
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
