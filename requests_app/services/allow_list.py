"""The allow list's writes: domains join it when a request is federated or from an import of
domains federated before the portal existed; every export is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused

from .. import selectors
from ..allow_list_formats import export_format_named, render_allow_list
from ..audit import audit
from ..domains import DomainError
from ..models import AllowListEntry, AllowListSource, FederationRequest
from .domain_names import clean_domain

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def allow_list_add(
    *,
    names: list[str],
    request: FederationRequest | None,
    effective_date: date,
    actor: User | None,
    source: str = AllowListSource.PORTAL,
) -> None:
    """Put names on the allow list; call inside the caller's transaction (a domain already
    there is an IntegrityError, which rolls the whole change back)."""
    AllowListEntry.objects.bulk_create(
        AllowListEntry(
            domain=name,
            request=request,
            effective_date=effective_date,
            added_by=actor,
            source=source,
        )
        for name in names
    )


@dataclass(frozen=True)
class AllowListExport:
    filename: str
    content_type: str
    text: str
    warnings: list[str]


def allow_list_export(
    *, fmt: str, actor: User | None, actor_label: str = "", on_date: date | None = None
) -> AllowListExport:
    """The allow list from the database in fmt, its export in the audit log.

    on_date keeps only the domains in effect by then; without it, every entry, and a warning
    when some take effect after today. Raises ValueError for an unknown format.
    """
    export_format = export_format_named(fmt)
    rows = selectors.allow_list_rows(on_date=on_date)
    text, warnings = render_allow_list(rows, fmt)
    today = timezone.localdate()
    if on_date is None:
        future = [
            row.effective_date for row in rows if row.effective_date and row.effective_date > today
        ]
        if future:
            first = min(future)
            warnings.append(
                f"{len(future):,} of these domains take effect after today, the first on "
                f"{first:%d %B %Y}. Export with a date to leave them out until then."
            )
    suffix = "" if fmt in ("csv", "json") else f"-{fmt}"
    filename = (
        f"nhsmail-allow-list{suffix}-{(on_date or today).isoformat()}.{export_format.extension}"
    )
    audit(None, actor, "allowlist.exported", message=f"{fmt}: {filename}", actor_label=actor_label)
    return AllowListExport(filename, export_format.content_type, text, warnings)


@dataclass(frozen=True)
class LineRefusal:
    line_number: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"Line {self.line_number}: {self.reason}"


class AllowListImportRefused(ActionRefused):
    """The import refused one or more lines, so nothing was imported; .refusals says which."""

    def __init__(self, refusals: list[LineRefusal]):
        self.refusals = list(refusals)
        count = len(self.refusals)
        lines = "line was" if count == 1 else "lines were"
        super().__init__(
            f"Nothing was imported: {count} {lines} refused. "
            + " ".join(str(refusal) for refusal in self.refusals)
        )


@dataclass(frozen=True)
class ImportResult:
    domains: list[str]  # A-labels, in the order of the file
    effective_date: date


def _clean_import_lines(lines: list[str]) -> tuple[list[str], list[LineRefusal]]:
    names: list[str] = []
    first_line_of: dict[str, int] = {}
    refusals: list[LineRefusal] = []
    for number, line in enumerate(lines, start=1):
        # A file saved by Excel or Notepad may start with a byte order mark.
        text = line.lstrip("\ufeff").split("#", 1)[0].strip()
        if not text:
            continue
        try:
            name = clean_domain(text, reveal_reference=True)  # staff and operators only
        except DomainError as error:
            refusals.append(LineRefusal(number, text, str(error)))
            continue
        if name in first_line_of:
            refusals.append(
                LineRefusal(
                    number,
                    text,
                    f"“{text}” is already on line {first_line_of[name]}. List each domain once.",
                )
            )
            continue
        first_line_of[name] = number
        names.append(name)
    return names, refusals


def allow_list_import(
    *,
    lines: list[str],
    actor: User | None,
    effective_date: date | None = None,
    actor_label: str = "",
) -> ImportResult:
    """Put the domains in lines on the allow list, all or none; one domain a line.

    Blank lines and # comments are skipped; every domain meets the web form's rules. actor is
    the user (who needs permission to federate), or None from the command line, where
    actor_label says who ran it. Raises AllowListImportRefused listing every refused line.
    """
    if actor is not None:
        ensure_may(actor, "federate")
    effective_date = effective_date or timezone.localdate()
    try:
        with transaction.atomic():
            names, refusals = _clean_import_lines(lines)
            if refusals:
                raise AllowListImportRefused(refusals)
            if not names:
                raise ActionRefused(
                    "There are no domains to import: every line is blank or a # comment."
                )
            allow_list_add(
                names=names,
                request=None,
                effective_date=effective_date,
                actor=actor,
                source=AllowListSource.IMPORT,
            )
            audit(
                None,
                actor,
                "allowlist.imported",
                message=(
                    f"Imported {len(names)} domain{'' if len(names) == 1 else 's'}, effective "
                    f"from {effective_date:%d %B %Y}: {', '.join(names)}."
                ),
                actor_label=actor_label,
            )
    except IntegrityError:
        # Another import or a federation added one of these domains after it was checked.
        raise ActionRefused(
            "Someone else put one of these domains on the allow list a moment ago, so nothing "
            "was imported. Run the import again to see which."
        ) from None
    return ImportResult(domains=names, effective_date=effective_date)
