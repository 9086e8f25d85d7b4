"""Time rendering one Federation Partnering Agreement to PDF with WeasyPrint, and signing it:
the signature and certificate pages rendered, appended and sealed (PAdES, pyHanko) with a seal
certificate made for the run by a throwaway CA.

Run from the project root: .venv/bin/python bench/render_fpa.py [--runs 10] [--save fpa.pdf]

Uses a throwaway SQLite database in a temporary folder, so it needs no services and leaves
the development database alone. Prints the median and fastest of N renders after one warm-up.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed renders (default 10)")
    parser.add_argument("--save", type=Path, help="also write the last PDF to this path")
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory(prefix="fpa-bench-")
    sys.path.insert(0, str(ROOT))
    from agreements.dev_seal import make_seal_ca

    seal_files = make_seal_ca(Path(scratch.name) / "seal", label="Bench")
    os.environ.update(
        SEAL_KEY_FILE=seal_files["key"],
        SEAL_CERT_FILE=seal_files["cert"],
        SEAL_CHAIN_FILES=seal_files["ca"],
        SEAL_TRUST_ROOT_FILES=seal_files["ca"],
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "federation_portal.settings.local")
    # Always the throwaway database: a benchmark must not write to a real one.
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(scratch.name) / 'bench.sqlite3'}"

    import logging

    import django

    django.setup()
    # The project logs INFO to the console; WeasyPrint's per-step progress would drown the figures.
    logging.getLogger("weasyprint").setLevel(logging.WARNING)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from pypdf import PdfReader

    from agreements.models import Agreement, SignatureAct
    from agreements.pdf import render_agreement_pdf
    from agreements.sealing import assemble, certificate_pages, seal, verify
    from requests_app.models import (
        Contact,
        ContactRole,
        FederationRequest,
        Organisation,
        RequestedDomain,
    )

    call_command("migrate", verbosity=0, interactive=False)

    organisation = Organisation.objects.create(
        name="Example Community Health Partnership", ods_code="X1234"
    )
    req = FederationRequest.objects.create(
        reference="FR-000123",
        organisation=organisation,
        requester_name="Robin Requester",
        requester_email="robin@example.org.uk",
    )
    for name in [
        "example.org.uk",
        "community.example.org.uk",
        "xn--bcher-kva.example.org.uk",
        "partner-trust.example.nhs.uk",
    ]:
        RequestedDomain.objects.create(request=req, name=name)
    Contact.objects.create(
        request=req,
        role=ContactRole.SPOC,
        name="Sam Spoc",
        job_title="IT Service Manager",
        email="sam.spoc@example.org.uk",
        phone="01234 567890",
    )
    for name in ["Tess Tech", "Terry Teams"]:
        Contact.objects.create(
            request=req,
            role=ContactRole.TECHNICAL,
            name=name,
            job_title="Teams Administrator",
            email=f"{name.split()[0].lower()}@example.org.uk",
        )
    staff = get_user_model().objects.create_user(username="bench", email="bench@nhs.net")
    agreement = Agreement.objects.create(request=req, requested_by=staff)

    pdf = render_agreement_pdf(agreement)  # warm-up: imports, font loading, template compile
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        pdf = render_agreement_pdf(agreement)
        timings.append(time.perf_counter() - started)

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(f"FPA {agreement.template_version}, {req.domains.count()} domains, {pages} pages")
    print(
        f"render time over {args.runs} runs: median {statistics.median(timings):.3f} s, "
        f"min {min(timings):.3f} s, max {max(timings):.3f} s"
    )
    print(f"PDF size: {len(pdf):,} bytes ({len(pdf) / 1024:.1f} KiB)")

    act = SignatureAct(
        agreement=agreement,
        signer_email="dana@example.org.uk",
        signer_name="Dana Director",
        signer_job_title="Director of Digital",
        director_confirmed=True,
        attestations=["I have read the agreement."],
        identified_by="bench",
        document_sha256="0" * 64,
        ip_address="127.0.0.1",
        user_agent="bench",
    )

    def sign_once() -> bytes:
        return seal(assemble(pdf, certificate_pages(agreement, act)), reason="bench")

    sealed = sign_once()  # warm-up: pyHanko imports, key loading
    sign_timings, seal_timings = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        combined = assemble(pdf, certificate_pages(agreement, act))
        halfway = time.perf_counter()
        sealed = seal(combined, reason="bench")
        sign_timings.append(time.perf_counter() - started)
        seal_timings.append(time.perf_counter() - halfway)
    assert verify(sealed).genuine, "the sealed copy does not verify"
    print(
        f"sign time (certificate pages, append, seal) over {args.runs} runs: median "
        f"{statistics.median(sign_timings):.3f} s, of which the PAdES seal "
        f"{statistics.median(seal_timings):.3f} s"
    )
    print(
        f"render and seal one FPA: median "
        f"{statistics.median(timings) + statistics.median(sign_timings):.3f} s; "
        f"sealed PDF {len(sealed):,} bytes"
    )
    if args.save:
        args.save.write_bytes(sealed)
        print(f"saved the sealed copy to {args.save}")
    scratch.cleanup()


if __name__ == "__main__":
    main()
