"""Hostile and ordinary files written by hand, so each hostile part is exactly what a test says:
PDFs (with incremental updates and object streams), JPEGs and PNGs with something riding after
their end. Shared by the upload, service and portal tests."""

import io
import re
import zipfile

from PIL import Image


def build_pdf(*extra, catalog=b"", page=b"", tail=b"") -> bytes:
    """A PDF: catalog (1), pages (2), one page (3), then extra as objects 4, 5, ..."""
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


def object_inside_stream_data(hidden: bytes) -> bytes:
    """A PDF whose cross-reference table points at an object (5, on the page's /Annots) written
    inside what the file's syntax makes the data of stream 4: where a viewer reads it, and a
    scan for objects outside streams would not."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = {}
    for number, body in enumerate(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [5 0 R] >>",
        ],
        start=1,
    ):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    inside = b"5 0 obj\n" + hidden + b"\nendobj\n"
    offsets[4] = len(out)
    out += b"4 0 obj\n<< /Length %d >>\nstream\n" % len(inside)
    offsets[5] = len(out)
    out += inside + b"endstream\nendobj\n"
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, 6))
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def append_revision(base: bytes, objects: dict[int, bytes], *, between: bytes = b"") -> bytes:
    """base with an incremental update (ISO 32000-1 7.5.6) writing objects anew; between is put
    after base's %%EOF, before the new objects."""
    previous = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    size = max(int(n) for n in re.findall(rb"/Size (\d+)", base))
    out = bytearray(base + between)
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for number, offset in offsets.items():
        out += f"{number} 1\n{offset:010d} 00000 n \n".encode()
    size = max(size, max(objects) + 1)
    out += f"trailer\n<< /Size {size} /Root 1 0 R /Prev {previous} >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def stream(data: bytes, header: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), header) + data + b"\nendstream"


def object_stream(objects: dict[int, bytes]) -> bytes:
    """An object stream (7.5.7) holding objects, uncompressed."""
    header, body = b"", b""
    for number, text in objects.items():
        header += b"%d %d " % (number, len(body))
        body += text + b"\n"
    return stream(header + body, b"/Type /ObjStm /N %d /First %d" % (len(objects), len(header)))


def link(action: bytes) -> bytes:
    return b"<< /Type /Annot /Subtype /Link /Rect [0 0 90 20] /A " + action + b" >>"


def uri(address: bytes) -> bytes:
    """A URI action; address is PDF string syntax: (literal) or <hex>."""
    return b"<< /S /URI /URI " + address + b" >>"


def pdf_with_link(action: bytes, *extra) -> bytes:
    """A page with one Link annotation (object 4) whose action is action."""
    return build_pdf(link(action), *extra, page=b"/Annots [4 0 R]")


def pdf_with_outline(action: bytes) -> bytes:
    """A document outline (bookmarks) whose only item runs action."""
    return build_pdf(
        b"<< /Type /Outlines /First 5 0 R /Last 5 0 R /Count 1 >>",
        b"<< /Title (Section 1) /Parent 4 0 R /A " + action + b" >>",
        catalog=b"/Outlines 4 0 R",
    )


def small_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<p>hello</p>")
    return buffer.getvalue()


def image_bytes(kind: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 94, 184)).save(buffer, format=kind, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


HTML_PAGE = b"<html><body><script>alert(document.cookie)</script></body></html>\n"


def pyhanko_object_streams_pdf(address: str = "https://example.org/") -> bytes:
    """A page with a link to address, written by pyHanko with a compressed object stream and a
    cross-reference stream (the syntax of many signing services' PDFs)."""
    from pyhanko.pdf_utils import writer
    from pyhanko.pdf_utils.generic import (
        ArrayObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    def box(*numbers):
        return ArrayObject([NumberObject(n) for n in numbers])

    pdf = writer.PdfFileWriter(stream_xrefs=True)
    objects = pdf.prepare_object_stream()
    action = {"/S": NameObject("/URI"), "/URI": TextStringObject(address)}
    annotation = {
        "/Type": NameObject("/Annot"),
        "/Subtype": NameObject("/Link"),
        "/Rect": box(0, 0, 90, 20),
        "/A": DictionaryObject({NameObject(k): v for k, v in action.items()}),
    }
    reference = pdf.add_object(
        DictionaryObject({NameObject(k): v for k, v in annotation.items()}), obj_stream=objects
    )
    page = {
        "/Type": NameObject("/Page"),
        "/MediaBox": box(0, 0, 595, 842),
        "/Resources": DictionaryObject(),
        "/Annots": ArrayObject([reference]),
    }
    pdf.insert_page(DictionaryObject({NameObject(k): v for k, v in page.items()}))
    out = io.BytesIO()
    pdf.write(out)
    return out.getvalue()
