"""Where a PDF, PNG or JPEG ends, and whether anything follows: a file that is also something
else (a polyglot: HTML after a JPEG's end marker, a ZIP after a PDF's %%EOF) is refused.

Refused rather than rewritten to a clean copy: the bytes kept are the bytes the person sent
(evidence, and a signed agreement whose signatures a rewrite would break), and refusing needs no
encoder of ours that could itself be attacked. The only cost is the rare genuine file with a
trailer (some phones add data after a JPEG's end): saving it again as PNG or PDF is the way out.
These run in the sandbox child: no Django here.
"""

import io
import re
import struct
import zipfile

from .refusal import Refused

PDF_WHITESPACE = b"\0\t\n\f\r "  # ISO 32000-1 7.2.2
_EOF = re.compile(rb"%%EOF")
MAX_REVISIONS = 100
_TRAILING = (
    "The file has data after its end ({what}), so it may be another kind of file as well. "
    "Save it again and upload that copy."
)


def refuse_zip(content: bytes) -> None:
    """A ZIP archive that zip tools would open (its end record in the file's last 64 KB, and its
    central directory where the record says) makes the file a ZIP too, whatever comes first."""
    if zipfile.is_zipfile(io.BytesIO(content)):
        raise Refused("The file is also a ZIP archive, so it was not accepted.")


def pdf_revisions(content: bytes, stream_bodies: list[tuple[int, int]]) -> list[int]:
    """The offsets just past each %%EOF outside stream data: where each revision ends (an
    incremental update appends a revision). Refused when anything but whitespace follows the
    last one."""
    ends = []
    for match in _EOF.finditer(content):
        if not any(start <= match.start() < end for start, end in stream_bodies):
            ends.append(match.end())
    if not ends:
        raise Refused("The PDF is incomplete (its end is missing). Upload the whole file.")
    if content[ends[-1] :].strip(PDF_WHITESPACE):
        raise Refused(_TRAILING.format(what="after the PDF's last %%EOF"))
    if len(ends) > MAX_REVISIONS:
        raise Refused("The PDF has been updated too many times to check.")
    return ends


def png_end(content: bytes, metadata: list[bytes] | None = None) -> int:
    """Offset just past the IEND chunk, walking the chunks (PNG spec 5.3); -1 when the chunks
    run past the file. Every chunk but the pixels (IDAT) is added to metadata."""
    position = 8
    while position + 12 <= len(content):
        (length,) = struct.unpack(">I", content[position : position + 4])
        kind = content[position + 4 : position + 8]
        if metadata is not None and kind != b"IDAT":
            metadata.append(content[position + 8 : position + 8 + length])
        position += 12 + length
        if kind == b"IEND":
            return position if position <= len(content) else -1
    return -1


def jpeg_end(content: bytes, metadata: list[bytes] | None = None) -> int:
    """Offset just past the EOI marker, walking the marker segments and the entropy-coded data
    after each SOS (ITU T.81 B.1); -1 when the file ends first. Every marker segment (APPn,
    COM, tables; not the scan data) is added to metadata."""
    size, position = len(content), 2  # after SOI
    while position < size:
        if content[position] != 0xFF:
            return -1
        while position < size and content[position] == 0xFF:  # fill bytes
            position += 1
        if position >= size:
            return -1
        marker = content[position]
        position += 1
        if marker == 0xD9:  # EOI
            return position
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # RSTn and TEM stand alone
            continue
        if position + 2 > size:
            return -1
        (length,) = struct.unpack(">H", content[position : position + 2])
        if metadata is not None:
            metadata.append(content[position + 2 : position + length])
        position += length
        if marker == 0xDA:  # SOS: scan data runs to the next marker that is not RSTn or 0xFF00
            while True:
                position = content.find(b"\xff", position)
                if position < 0 or position + 1 >= size:
                    return -1
                following = content[position + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    position += 2
                elif following == 0xFF:
                    position += 1
                else:
                    break
    return -1


def refuse_after_image_end(content: bytes, kind: str) -> bytes:
    """Nothing may follow the image: not HTML, not another file, not padding. Returns the
    image's metadata (every part but the compressed pixels), to be searched for HTML: searching
    the pixels would find it by chance in about one 10 MB photo in ten thousand."""
    metadata: list[bytes] = []
    end = png_end(content, metadata) if kind == "png" else jpeg_end(content, metadata)
    name = "PNG image" if kind == "png" else "JPEG image"
    if end < 0:
        raise Refused(f"The file could not be read as a {name}.")
    if end < len(content):
        marker = "IEND chunk" if kind == "png" else "end marker (EOI)"
        raise Refused(_TRAILING.format(what=f"after the image's {marker}"))
    return b"\n".join(metadata)
