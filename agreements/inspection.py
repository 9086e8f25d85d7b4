"""Is this upload what it claims to be, and harmless? PDF, PNG and JPEG judged by parsing.

Refused: anything that is not one of the allowed kinds (a renamed executable), a file that is
another kind as well (a polyglot: bytes after a PDF's last %%EOF or an image's end, HTML inside,
a ZIP archive at its end: agreements.file_ends), an encrypted, truncated or malformed PDF, a PDF
carrying active content (JavaScript, actions run on opening, launch actions, embedded files, XFA
forms, rich media; also when the name is written with #xx escapes, such as /J#61vaScript), an
action, link or annotation outside the allow-lists in any object of any revision
(agreements.pdf_objects: links only to https, http and mailto addresses), a stream that inflates
past a limit (a compression bomb), and an image too large to decode safely.

Run it through agreements.sandbox, which parses in a child process with a time and memory limit;
this module imports nothing from Django so that child starts quickly.
"""

import io
import json
import re
import sys
import warnings
import zlib
from dataclasses import asdict, dataclass

from .file_ends import pdf_revisions, refuse_after_image_end, refuse_zip
from .pdf_objects import judge_every_object, refuse_foreign_bytes, stream_bodies
from .refusal import Refused

# PDF 1.7 (ISO 32000-1): the keys and action types that run something or carry a payload.
ACTIVE_CONTENT = {
    "JavaScript": "JavaScript",
    "JS": "JavaScript",
    "OpenAction": "an action run on opening",
    "AA": "actions run automatically",
    "Launch": "a launch action (runs a program)",
    "EmbeddedFile": "an embedded file",
    "EmbeddedFiles": "embedded files",
    "XFA": "an XFA form",
    "RichMedia": "rich media (Flash or video)",
    "GoToR": "a link that opens another file",
    "GoToE": "a link into an embedded file",
    "SubmitForm": "a form that sends data away",
    "ImportData": "a form that imports data",
}
MAX_INFLATED_STREAM = 50 * 1024 * 1024  # bytes one stream may inflate to
MAX_INFLATED_TOTAL = 200 * 1024 * 1024
MAX_OBJECTS_WALKED = 200_000
MAX_IMAGE_PIXELS = 40_000_000
KIND_NAMES = {"pdf": "PDF", "png": "PNG image", "jpeg": "JPEG image"}

_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Five or more fixed bytes: binary stream data matches by chance about once in a terabyte.
_HTML = re.compile(rb"<\s*(?:!doctype\s+html|html|script|iframe)\b", re.I)
__all__ = ["Inspection", "Refused", "inspect_upload"]


@dataclass(frozen=True)
class Inspection:
    kind: str
    pages: int = 0
    width: int = 0
    height: int = 0


def sniff(content: bytes) -> str | None:
    """The kind the first bytes claim; parsing then has to bear it out."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def inspect_upload(content: bytes, allowed: frozenset[str]) -> Inspection:
    """The upload's kind and shape, or Refused saying why not."""
    kind = sniff(content)
    if kind not in allowed:
        names = " or ".join(KIND_NAMES[k] for k in sorted(allowed))
        raise Refused(f"The file must be a {names}; this file is not one.")
    if kind == "pdf":
        return _inspect_pdf(content)
    return _inspect_image(content, kind)


def _name_text(raw: bytes) -> str:
    return _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")


def _refuse_active(name: str) -> None:
    if name in ACTIVE_CONTENT:
        raise Refused(
            f"The PDF contains {ACTIVE_CONTENT[name]} (/{name}), which the portal does not "
            "accept. Save or print it again as a plain PDF and upload that."
        )


def _skeleton_and_streams(
    content: bytes, bodies: list[tuple[int, int]]
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The file without its stream bodies (PDF syntax only: scanning binary data for names
    would find them by chance), and each stream as (the syntax before it, its body)."""
    parts, streams, position = [], [], 0
    for start, end in bodies:
        parts.append(content[position:start])
        head = content[max(position, start - 1024) : start]
        streams.append((head, content[start:end]))
        position = end
    parts.append(content[position:])
    return b"".join(parts), streams


def _check_streams(streams: list[tuple[bytes, bytes]]) -> None:
    """Inflate every Flate stream, bounded: a stream that inflates past the limit is a bomb.
    Object streams hold PDF objects: their names are checked too."""
    total = 0
    for head, body in streams:
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(body, MAX_INFLATED_STREAM)
        except zlib.error:
            continue  # not Flate (or not compressed): nothing to inflate
        total += len(out)
        if inflater.unconsumed_tail or total > MAX_INFLATED_TOTAL:
            raise Refused(
                "The PDF holds data that expands to far more than its size (a compression "
                "bomb), so it was not opened."
            )
        if b"/ObjStm" in head[head.rfind(b" obj") :]:
            for raw in _NAME.findall(out):
                _refuse_active(_name_text(raw))


def _walk(obj, seen: set, budget: list[int]) -> None:
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        budget[0] -= 1
        if budget[0] < 0:
            raise Refused("The PDF has too many objects to check.")
        if isinstance(item, DictionaryObject):
            for name, value in item.items():
                _refuse_active(str(name).lstrip("/"))
                stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(item)
        elif isinstance(item, NameObject):
            _refuse_active(str(item).lstrip("/"))


def _inspect_pdf(content: bytes) -> Inspection:
    bodies = stream_bodies(content)
    pdf_revisions(content, bodies)
    _refuse_other_kinds(content, "PDF")
    skeleton, streams = _skeleton_and_streams(content, bodies)
    for raw in _NAME.findall(skeleton):
        _refuse_active(_name_text(raw))
    _check_streams(streams)
    refuse_foreign_bytes(skeleton)

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(content), strict=False)
            if reader.is_encrypted:
                raise Refused("The PDF is password-protected. Upload a copy without a password.")
            _walk(reader.trailer, set(), [MAX_OBJECTS_WALKED])
            judge_every_object(content, bodies, reader)
            pages = len(reader.pages)
    except Refused:
        raise
    except (
        PyPdfError,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        AttributeError,
        OSError,
        RecursionError,
        zlib.error,
    ):
        raise Refused("The file could not be read as a PDF. Upload it again.") from None
    if pages < 1:
        raise Refused("The PDF has no pages.")
    return Inspection("pdf", pages=pages)


def _refuse_other_kinds(content: bytes, name: str, *, searched: bytes | None = None) -> None:
    """HTML in searched (the whole file unless given), or a ZIP archive at the file's end."""
    if _HTML.search(content if searched is None else searched):
        raise Refused(f"The file holds HTML as well as {name}, so it was not accepted.")
    refuse_zip(content)


def _inspect_image(content: bytes, kind: str) -> Inspection:
    from PIL import Image

    metadata = refuse_after_image_end(content, kind)
    _refuse_other_kinds(content, KIND_NAMES[kind], searched=metadata)

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                image.verify()
            with Image.open(io.BytesIO(content)) as image:
                if image.format.lower() != kind:
                    raise Refused(f"The file is not the {KIND_NAMES[kind]} it claims to be.")
                image.load()  # decodes every pixel: a truncated image fails here
                width, height = image.size
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("The image is too large to open safely.") from None
    except (OSError, SyntaxError, ValueError):
        raise Refused(f"The file could not be read as a {KIND_NAMES[kind]}.") from None
    return Inspection(kind, width=width, height=height)


def limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    """In a sandbox child, before it reads the file: cap its address space and CPU time."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def main() -> None:
    """The child process: memory and CPU limits then allowed kinds as arguments, the bytes on
    stdin, a JSON verdict out. It limits itself first, before it reads a byte of the file
    (setting limits from the parent's preexec_fn is unsafe in a threaded server)."""
    memory, cpu, *kinds = sys.argv[1:]
    limit_self(int(memory), int(cpu))
    content = sys.stdin.buffer.read()
    try:
        result = {"ok": True, **asdict(inspect_upload(content, frozenset(kinds)))}
    except Refused as refusal:
        result = {"ok": False, "reason": str(refusal)}
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
