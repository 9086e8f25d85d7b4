"""Every object of an uploaded PDF, in every revision, judged against allow-lists: which actions
a PDF may hold (a link to an https, http or mailto address, a jump to a page of the same file),
which annotations, and that nothing but PDF syntax lies between the objects.

Every revision: an incremental update appends objects and a new trailer after the first %%EOF,
and a viewer can show any revision (a signed PDF's earlier versions, for one), so each object is
read where it stands in the file, superseded or not, and in object streams too; a revision
cannot hide what the latest one no longer points to. An action's place is known from the key
that holds it (/A, /PA, /Next, /OpenAction, the entries of /AA) or from its /Type or /S;
references are followed by object number over the whole file, so /Next cycles end (each
object is judged once per place).
Runs in the sandbox child: no Django here.
"""

import io
import re

from .refusal import Refused

# ISO 32000-1 12.6.4: every action type; any dictionary whose /S is one of these is an action
# wherever it sits.
ACTION_TYPES = frozenset(
    {
        "/GoTo", "/GoToR", "/GoToE", "/GoToDp", "/Launch", "/Thread", "/URI", "/Sound",
        "/Movie", "/Hide", "/Named", "/SubmitForm", "/ResetForm", "/ImportData", "/JavaScript",
        "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView", "/RichMediaExecute", "/ECMAScript",
    }
)  # fmt: skip
# The allow-list: a link to a web or email address, a jump within the document, and the four
# page-turning named actions (12.6.4.11; other names run viewer menu items).
ALLOWED_SCHEMES = frozenset({"https", "http", "mailto"})
ALLOWED_NAMED = frozenset({"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"})
# 12.5.6: annotations that show marks on the page or hold a form field or link. Not allowed:
# FileAttachment, Sound, Movie, Screen, 3D, RichMedia, Projection (they carry or play payloads).
ALLOWED_ANNOTATIONS = frozenset(
    {
        "/Text", "/Link", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine",
        "/Highlight", "/Underline", "/Squiggly", "/StrikeOut", "/Caret", "/Stamp", "/Ink",
        "/Popup", "/Widget", "/PrinterMark", "/TrapNet", "/Watermark", "/Redact",
    }
)  # fmt: skip
ACTION_WORDS = {
    "/Launch": "a launch action (runs a program)",
    "/GoToE": "a link into an embedded file",
    "/GoToR": "a link that opens another file",
    "/JavaScript": "JavaScript",
    "/SubmitForm": "a form that sends data away",
    "/ImportData": "a form that imports data",
}
ACTION_KEYS = frozenset({"/A", "/PA", "/Next", "/OpenAction"})
ACTION, ACTIONS, ANNOTATION = "action", "actions (/AA)", "annotation"
MAX_OBJECTS = 200_000

WHITESPACE_BYTES = frozenset(b"\0\t\n\f\r ")
_OBJECT = re.compile(rb"(?<![0-9])(\d+)\s+(\d+)\s+obj(?![A-Za-z])")
_STREAM = re.compile(rb">>\s*stream\r?\n")
# URL standard (WHATWG): leading C0 controls and spaces are stripped, tabs and newlines removed
# anywhere, and the scheme is matched without regard to case. Viewers are laxer still, so the
# scheme must be clean after that, or the link is refused.
_REMOVED_ANYWHERE = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# Between objects: only cross-reference tables, trailers, startxref, comments and whitespace.
_SYNTAX = [
    re.compile(rb"(?<![0-9])\d+\s+\d+\s+obj(?![A-Za-z]).*?endobj", re.S),
    re.compile(rb"trailer\s*<<.*?>>\s*(?=startxref)", re.S),
    re.compile(rb"startxref\s+\d+"),
    re.compile(rb"xref\s+(?:\d+\s+\d+\s+(?:\d{10}\s\d{5}\s[nf]\s*)*)*"),
    re.compile(rb"%[^\r\n]*"),
]


def stream_bodies(content: bytes) -> list[tuple[int, int]]:
    """(start, end) of each stream's data: after 'stream' and its end of line, up to 'endstream'."""
    bodies: list[tuple[int, int]] = []
    position = 0
    for match in _STREAM.finditer(content):
        if match.start() < position:
            continue
        end = content.find(b"endstream", match.end())
        if end < 0:
            break
        bodies.append((match.end(), end))
        position = end
    return bodies


def refuse_foreign_bytes(skeleton: bytes) -> None:
    """skeleton (the file without its stream data) must be PDF syntax from end to end: bytes
    between objects, in any revision, are another file riding along."""
    rest = skeleton
    for pattern in _SYNTAX:
        rest = pattern.sub(b" ", rest)
    if rest.strip(b"\0\t\n\f\r "):
        raise Refused(
            "The PDF holds data that is not part of any page or object (another file may be "
            "hidden in it), so it was not accepted. Save it again and upload that copy."
        )


def _uri_refusal(value) -> Refused | None:
    from pypdf.generic import ByteStringObject, TextStringObject

    if isinstance(value, ByteStringObject):
        raw = bytes(value)
    elif isinstance(value, TextStringObject):
        raw = value.original_bytes  # the bytes a viewer reads, not pypdf's decoding of them
    else:
        return Refused("The PDF has a link without an address, so it was not accepted.")
    text = _REMOVED_ANYWHERE.sub("", raw.decode("latin-1")).strip(_C0_AND_SPACE)
    match = _SCHEME.match(text)
    if match and match.group(1).lower() in ALLOWED_SCHEMES:
        return None
    shown = f"a {match.group(1).lower()}: link" if match else "a link that is not a web address"
    return Refused(
        f"The PDF contains {shown}, which the portal does not accept: only https, http and "
        "mailto links may be in it. Remove the link, save the PDF again and upload that."
    )


def _judge_action(action) -> None:
    kind = action.get("/S")
    if kind == "/URI":
        refusal = _uri_refusal(action.get("/URI"))
        if refusal:
            raise refusal
        return
    if kind == "/GoTo" or (kind == "/Named" and action.get("/N") in ALLOWED_NAMED):
        return
    words = ACTION_WORDS.get(str(kind), f"an action of a kind the portal does not accept ({kind})")
    raise Refused(
        f"The PDF contains {words}. Only links to web pages, email addresses and pages of the "
        "same document are accepted: save or print it again as a plain PDF and upload that."
    )


def _judge_dictionary(item, place: str | None) -> None:
    from pypdf.generic import NameObject, TextStringObject

    kind = item.get("/S")
    if (
        (place == ACTION and "/S" in item)
        or item.get("/Type") == "/Action"
        or (isinstance(kind, NameObject) and kind in ACTION_TYPES)
    ):
        _judge_action(item)
    if place == ANNOTATION or item.get("/Type") == "/Annot":
        subtype = item.get("/Subtype")
        if subtype not in ALLOWED_ANNOTATIONS:
            raise Refused(
                f"The PDF contains an annotation of a kind the portal does not accept "
                f"({subtype}). Save or print it again as a plain PDF and upload that."
            )
    base = item.get("/Base")  # the catalog's URI dictionary: the base of relative links
    if isinstance(base, TextStringObject | bytes):
        refusal = _uri_refusal(base)
        if refusal:
            raise refusal


def _visit(root, place: str | None, expected: dict[str, set[int]], budget: list[int]) -> None:
    """Judge root's direct contents; note which objects its references put in an action's or an
    annotation's place, for judging in that place."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    stack = [(root, place)]
    while stack:
        item, place = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise Refused("The PDF has too many objects to check.")
        if isinstance(item, IndirectObject):
            if place is not None:
                expected[place].add(item.idnum)
        elif isinstance(item, DictionaryObject):
            _judge_dictionary(item, place)
            for key, value in item.items():
                if place == ACTIONS or key in ACTION_KEYS:
                    stack.append((value, ACTION))
                elif key == "/AA":
                    stack.append((value, ACTIONS))
                elif key == "/Annots":
                    stack.append((value, ANNOTATION))
                else:
                    stack.append((value, None))
        elif isinstance(item, ArrayObject):
            stack.extend((value, place) for value in item)


def _skip_whitespace(data: bytes, position: int) -> int:
    while position < len(data) and data[position] in WHITESPACE_BYTES:
        position += 1
    return position


def _every_object(content: bytes, bodies: list[tuple[int, int]], reader):
    """(number, object) for each object written in the file, in every revision, and each
    object held in an object stream."""
    from pypdf.generic import StreamObject, read_object

    source = io.BytesIO(content)
    starts = iter(sorted(start for start, _ in bodies))
    bodies_by_start = dict(bodies)
    next_body = next(starts, None)
    count = 0
    for match in _OBJECT.finditer(content):
        while next_body is not None and bodies_by_start[next_body] <= match.start():
            next_body = next(starts, None)
        if next_body is not None and next_body <= match.start():
            continue  # inside stream data
        count += 1
        if count > MAX_OBJECTS:
            raise Refused("The PDF has too many objects to check.")
        source.seek(_skip_whitespace(content, match.end()))
        obj = read_object(source, reader)
        yield int(match.group(1)), obj
        if isinstance(obj, StreamObject) and obj.get("/Type") == "/ObjStm":
            yield from _objects_in_stream(obj, reader)


def _objects_in_stream(stream, reader):
    from pypdf.generic import read_object

    data = stream.get_data()
    first, count = int(stream["/First"]), int(stream["/N"])
    if count > MAX_OBJECTS:
        raise Refused("The PDF has too many objects to check.")
    numbers = data[:first].split()
    source = io.BytesIO(data)
    for index in range(count):
        number, offset = int(numbers[2 * index]), int(numbers[2 * index + 1])
        source.seek(_skip_whitespace(data, first + offset))
        yield number, read_object(source, reader)


def _objects_by_cross_reference(reader):
    """(number, object) for each object the cross-reference tables name, read where they say:
    what a viewer reads, even where scanning the file would take it for stream data."""
    from pypdf.generic import IndirectObject

    numbers = {(n, g) for g, entries in reader.xref.items() for n in entries}
    numbers |= {(n, 0) for n in reader.xref_objStm}
    if len(numbers) > MAX_OBJECTS:
        raise Refused("The PDF has too many objects to check.")
    for number, generation in sorted(numbers):
        yield number, IndirectObject(number, generation, reader).get_object()


def judge_every_object(content: bytes, bodies: list[tuple[int, int]], reader) -> None:
    """Refused when any object of any revision holds an action, a link or an annotation outside
    the allow-lists."""
    from itertools import chain

    budget = [MAX_OBJECTS * 10]
    expected: dict[str, set[int]] = {ACTION: set(), ACTIONS: set(), ANNOTATION: set()}
    objects: dict[int, list] = {}
    found = chain(_every_object(content, bodies, reader), _objects_by_cross_reference(reader))
    for number, obj in found:
        objects.setdefault(number, []).append(obj)
        _visit(obj, None, expected, budget)
    judged: set[tuple[int, str]] = set()
    while True:  # until no reference puts a new object in a new place (cycles end here)
        pending = [(n, p) for p, numbers in expected.items() for n in numbers]
        pending = [key for key in pending if key not in judged]
        if not pending:
            return
        for number, place in pending:
            judged.add((number, place))
            for obj in objects.get(number, []):
                _visit(obj, place, expected, budget)
