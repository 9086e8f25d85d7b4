"""The allow list's writes: domains join it when a request is federated (or reinstated) or from
an import of domains federated before the portal existed, and leave it, from a date, when a
request is suspended or revoked; nothing is deleted. Every export, and every change set staff
apply to the tenant, is audited."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused

from .. import selectors
from ..allow_list_formats import (
    export_format_named,
    parse_tenant_allow_list,
    render_allow_list,
    render_change_set,
)
from ..audit import audit
from ..domains import DomainError
from ..models import AllowListApplication, AllowListEntry, AllowListSource, FederationRequest
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


def allow_list_end(
    *,
    request: FederationRequest,
    effective_to: date,
    actor: User | None,
    reason: str,
    names: list[str] | None = None,
) -> list[str]:
    """Take request's domains (only those in names, when given) off the allow list from
    effective_to (entries end, nothing is deleted); call inside the caller's transaction.
    Returns the domains ended."""
    entries = AllowListEntry.objects.filter(request=request).listed(effective_to)
    if names is not None:
        entries = entries.filter(domain__in=names)
    names = sorted(entries.values_list("domain", flat=True))
    entries.update(
        effective_to=effective_to, ended_at=timezone.now(), ended_by=actor, end_reason=reason
    )
    return names


def allow_list_restore(
    *, request: FederationRequest, effective_date: date, actor: User | None
) -> list[str]:
    """Put request's domains back on the allow list from effective_date: an end not yet reached
    is called off, an ended entry is followed by a new one. Returns the domains restored."""
    names = sorted(request.domains.kept().filter(is_live=True).values_list("name", flat=True))
    # Ends still to come (a suspension from a later date) are called off, for the domains the
    # request still covers: a domain removed from it from a later date stays removed...
    AllowListEntry.objects.filter(
        request=request, domain__in=names, effective_to__gt=effective_date
    ).update(effective_to=None, ended_at=None, ended_by=None, end_reason="")
    # ...and domains whose entry has ended start a new one.
    listed = set(
        AllowListEntry.objects.filter(request=request)
        .listed(effective_date)
        .values_list("domain", flat=True)
    )
    allow_list_add(
        names=[name for name in names if name not in listed],
        request=request,
        effective_date=effective_date,
        actor=actor,
    )
    return names


@dataclass(frozen=True)
class AllowListExport:
    filename: str
    content_type: str
    text: str
    warnings: list[str]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class ChangeSetExport(AllowListExport):
    """A change set's export, with the domains it adds and removes."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


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


def _change_set_export(fmt: str) -> tuple[ChangeSetExport, selectors.ChangeSet]:
    export_format = export_format_named(fmt)
    change_set = selectors.allow_list_change_set()
    text, warnings = render_change_set(
        add=change_set.add, remove=change_set.remove, current=change_set.current, fmt=fmt
    )
    suffix = "" if fmt in ("csv", "json") else f"-{fmt}"
    filename = (
        f"nhsmail-allow-list-changes{suffix}-{timezone.localdate().isoformat()}."
        f"{export_format.extension}"
    )
    export = ChangeSetExport(
        filename,
        export_format.content_type,
        text,
        warnings,
        add=tuple(change_set.add),
        remove=tuple(change_set.remove),
    )
    return export, change_set


def allow_list_change_set_export(*, fmt: str, actor: User | None) -> ChangeSetExport:
    """What the tenant must add and remove to match the allow list in effect today, since the
    last change set staff recorded as applied; audited with its SHA-256."""
    export, change_set = _change_set_export(fmt)
    audit(
        None,
        actor,
        "allowlist.change_set_exported",
        message=f"{fmt}: +{len(change_set.add)} -{len(change_set.remove)}, "
        f"SHA-256 {export.sha256}.",
    )
    return export


def allow_list_change_set_applied(*, fmt: str, sha256: str, actor: User) -> AllowListApplication:
    """Record that staff applied the change set whose export had sha256 to the tenant. Refused
    when the allow list has changed since that export (the file applied is not this one)."""
    ensure_may(actor, "apply_change_set")
    with transaction.atomic():
        # One recording at a time: the next change set is judged from the newest.
        AllowListApplication.objects.select_for_update().order_by("-pk").first()
        export, change_set = _change_set_export(fmt)
        if sha256.strip().lower() != export.sha256:
            raise ActionRefused(
                "That SHA-256 is not the current change set's: the allow list has changed since "
                "it was exported, or it is another file. Export the change set again, apply it, "
                "then record it."
            )
        application: AllowListApplication = AllowListApplication.objects.create(
            applied_by=actor,
            export_format=fmt,
            export_sha256=export.sha256,
            domains=sorted(change_set.current),
            added=len(change_set.add),
            removed=len(change_set.remove),
        )
        audit(
            None,
            actor,
            "allowlist.change_set_applied",
            message=f"{fmt}: +{len(change_set.add)} -{len(change_set.remove)}, "
            f"SHA-256 {export.sha256}. Added: {', '.join(change_set.add) or 'none'}. "
            f"Removed: {', '.join(change_set.remove) or 'none'}.",
        )
    return application


@dataclass(frozen=True)
class Reconciliation:
    """The tenant's allowed domains against the allow list in effect today."""

    source: str
    on_tenant_only: list[str]  # allowed there, not federated here
    missing_on_tenant: list[str]  # federated here, not allowed there
    matched: int
    unreadable: tuple[str, ...]
    allows_all_known: bool


def allow_list_reconcile(*, text: str, actor: User | None) -> Reconciliation:
    """Compare what the tenant holds (Get-CsTenantFederationConfiguration's output or Entra's
    policy JSON, as staff copied it) with the allow list in effect today; audited with the
    text's SHA-256. Raises ActionRefused when the text cannot be read."""
    ensure_may(actor, "apply_change_set")
    try:
        tenant = parse_tenant_allow_list(text)
    except ValueError as error:
        raise ActionRefused(str(error)) from None
    current = {row.domain for row in selectors.allow_list_rows(on_date=timezone.localdate())}
    result = Reconciliation(
        source=tenant.source,
        on_tenant_only=sorted(tenant.domains - current),
        missing_on_tenant=sorted(current - tenant.domains),
        matched=len(tenant.domains & current),
        unreadable=tenant.unreadable,
        allows_all_known=tenant.allows_all_known,
    )
    audit(
        None,
        actor,
        "allowlist.reconciled",
        message=f"{tenant.source}: {result.matched} match, {len(result.on_tenant_only)} on the "
        f"tenant only, {len(result.missing_on_tenant)} missing there, "
        f"{len(result.unreadable)} unreadable. SHA-256 of the text "
        f"{hashlib.sha256(text.encode()).hexdigest()}.",
    )
    return result
