"""The allow list's export formats for Teams, Entra and spreadsheets: pure rendering.

Formats, all with domains as lower-case A-labels, sorted, each once, text ending in a newline:

- ``csv``: header ``domain,domain_unicode,effective_date,source,request_reference``; one row a
  domain; the date is ISO 8601 (YYYY-MM-DD); a column the portal does not know is empty.
- ``json``: a list of objects with the same five keys; unknown values are ``null``.
- ``teams-powershell``: a script for a session opened with ``Connect-MicrosoftTeams`` that adds
  every domain to the tenant's allowed domains (``Set-CsTenantFederationConfiguration
  -AllowedDomainsAsAList @{Add=$list}``); it never removes one.
- ``entra-b2b-json``: exactly ``{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":
  {"AllowedDomains":[...]}}}``, compact, the definition of Entra's B2B management policy.
"""

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import idna

from .domains import domain_unicode

# Microsoft Teams external access: the allowed domains list holds at most 4,000 domains.
TEAMS_ALLOWED_DOMAINS_LIMIT = 4000
# Entra B2B "Allow or block invitations": "The maximum size of the entire policy is 25 KB
# (25,000 characters), which includes the allowlist or blocklist and any other parameters".
ENTRA_B2B_POLICY_CHARACTER_LIMIT = 25_000

CSV_COLUMNS = ("domain", "domain_unicode", "effective_date", "source", "request_reference")


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str
    content_type: str
    extension: str


EXPORT_FORMATS: dict[str, ExportFormat] = {
    export_format.name: export_format
    for export_format in (
        ExportFormat("csv", "Spreadsheet (CSV)", "text/csv; charset=utf-8", "csv"),
        ExportFormat("json", "JSON", "application/json", "json"),
        ExportFormat(
            "teams-powershell",
            "Microsoft Teams PowerShell script",
            "text/plain; charset=utf-8",
            "ps1",
        ),
        ExportFormat(
            "entra-b2b-json", "Entra B2B management policy (JSON)", "application/json", "json"
        ),
    )
}
FORMATS: tuple[str, ...] = tuple(EXPORT_FORMATS)

# One LDH label, no hyphen at either end (RFC 1035, RFC 5891 for the xn-- A-labels).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_A_LABEL_DOMAIN = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+")


@dataclass(frozen=True)
class AllowListRow:
    """One domain on the allow list with what the portal knows about it."""

    domain: str
    effective_date: date | None = None
    source: str = ""
    request_reference: str = ""


def _a_label(name: str) -> str:
    """The domain as a lower-case A-label; ValueError for anything that is not a domain name.

    Exports put domains inside PowerShell strings and policies, so nothing but letters, digits,
    hyphens and dots may pass, whatever a caller hands in.
    """
    text = name.strip().removesuffix(".")
    if not text.isascii():
        try:
            text = idna.encode(text, uts46=True, transitional=False).decode("ascii")
        except UnicodeError as error:  # idna.IDNAError is a UnicodeError
            raise ValueError(f"“{name}” is not a valid domain name.") from error
    text = text.lower()
    if not _A_LABEL_DOMAIN.fullmatch(text):
        raise ValueError(f"“{name}” is not a valid domain name.")
    return text


def _prepare(domains: Iterable[str | AllowListRow]) -> list[AllowListRow]:
    """Rows with A-label domains, sorted by domain, the first row of each domain kept."""
    rows: dict[str, AllowListRow] = {}
    for item in domains:
        row = item if isinstance(item, AllowListRow) else AllowListRow(domain=item)
        name = _a_label(row.domain)
        if name not in rows:
            rows[name] = AllowListRow(
                domain=name,
                effective_date=row.effective_date,
                source=row.source,
                request_reference=row.request_reference,
            )
    return [rows[name] for name in sorted(rows)]


def _row_values(row: AllowListRow) -> dict:
    return {
        "domain": row.domain,
        "domain_unicode": domain_unicode(row.domain),
        "effective_date": row.effective_date.isoformat() if row.effective_date else None,
        "source": row.source or None,
        "request_reference": row.request_reference or None,
    }


def _render_csv(rows: list[AllowListRow]) -> tuple[str, list[str]]:
    buffer = io.StringIO()
    # RFC 4180 line endings, which spreadsheets expect.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = _row_values(row)
        writer.writerow(
            ["" if values[column] is None else values[column] for column in CSV_COLUMNS]
        )
    return buffer.getvalue(), []


def _render_json(rows: list[AllowListRow]) -> tuple[str, list[str]]:
    text = json.dumps([_row_values(row) for row in rows], indent=2, ensure_ascii=False)
    return text + "\n", []


def _render_teams_powershell(rows: list[AllowListRow]) -> tuple[str, list[str]]:
    # Kept to ASCII: Windows PowerShell 5.1 reads a file without a BOM in the ANSI code page.
    warnings = []
    count = len(rows)
    lines = [
        f"# NHSmail Microsoft Teams federation allow list: {count:,} domains.",
        "# Run in a PowerShell session opened with Connect-MicrosoftTeams.",
        "# Adds these domains to the tenant's allowed domains; it removes none.",
    ]
    if count > TEAMS_ALLOWED_DOMAINS_LIMIT:
        warning = (
            f"The allow list has {count:,} domains, more than the "
            f"{TEAMS_ALLOWED_DOMAINS_LIMIT:,} Microsoft Teams accepts on its allowed domains "
            "list: Teams will not take them all."
        )
        warnings.append(warning)
        lines.append(f"# WARNING: {warning}")
    lines.append("$list = New-Object Collections.Generic.List[String]")
    lines.extend(f'$list.Add("{row.domain}")' for row in rows)
    lines.append("Set-CsTenantFederationConfiguration -AllowedDomainsAsAList @{Add=$list}")
    return "\n".join(lines) + "\n", warnings


def _render_entra_b2b_json(rows: list[AllowListRow]) -> tuple[str, list[str]]:
    policy = {
        "B2BManagementPolicy": {
            "InvitationsAllowedAndBlockedDomainsPolicy": {
                "AllowedDomains": [row.domain for row in rows]
            }
        }
    }
    text = json.dumps(policy, separators=(",", ":"))
    warnings = []
    if len(text) > ENTRA_B2B_POLICY_CHARACTER_LIMIT:
        warnings.append(
            f"The Entra B2B policy is {len(text):,} characters, over Entra's "
            f"{ENTRA_B2B_POLICY_CHARACTER_LIMIT:,}-character (25 KB) limit for the whole policy: "
            "Entra will refuse it."
        )
    return text + "\n", warnings


_RENDERERS = {
    "csv": _render_csv,
    "json": _render_json,
    "teams-powershell": _render_teams_powershell,
    "entra-b2b-json": _render_entra_b2b_json,
}


def export_format_named(fmt: str) -> ExportFormat:
    try:
        return EXPORT_FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"There is no allow list format “{fmt}”. Choose one of: {', '.join(FORMATS)}."
        ) from None


def render_allow_list(domains: Iterable[str | AllowListRow], fmt: str) -> tuple[str, list[str]]:
    """Render domains (strings or AllowListRow) in fmt; return (text, warnings for people).

    Raises ValueError for an unknown format or something that is not a domain name.
    """
    export_format_named(fmt)
    rows = _prepare(domains)
    text, warnings = _RENDERERS[fmt](rows)
    if not rows:
        warnings = ["The allow list is empty.", *warnings]
    return text, warnings


# -- change sets: what the tenant must add and remove to match the allow list ------------------

CHANGE_CSV_COLUMNS = ("domain", "domain_unicode", "change")


def _change_rows(add: Iterable[str], remove: Iterable[str]) -> list[dict]:
    changes = [(_a_label(name), "add") for name in add] + [
        (_a_label(name), "remove") for name in remove
    ]
    return [
        {"domain": name, "domain_unicode": domain_unicode(name), "change": change}
        for name, change in sorted(set(changes))
    ]


def _ps_list(variable: str, names: list[str]) -> list[str]:
    return [
        f"${variable} = New-Object Collections.Generic.List[String]",
        *(f'${variable}.Add("{name}")' for name in names),
    ]


def render_change_set(
    *, add: Iterable[str], remove: Iterable[str], current: Iterable[str], fmt: str
) -> tuple[str, list[str]]:
    """The change set (add, remove) in fmt; Entra's policy has no change form, so for it the
    whole document of current. Raises ValueError as render_allow_list does."""
    export_format_named(fmt)
    if fmt == "entra-b2b-json":
        return render_allow_list(current, fmt)
    rows = _change_rows(add, remove)
    warnings = [] if rows else ["Nothing has changed since the last change set applied."]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CHANGE_CSV_COLUMNS)
        writer.writerows([row[column] for column in CHANGE_CSV_COLUMNS] for row in rows)
        return buffer.getvalue(), warnings
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n", warnings
    adds = [row["domain"] for row in rows if row["change"] == "add"]
    removes = [row["domain"] for row in rows if row["change"] == "remove"]
    # Teams: -AllowedDomainsAsAList takes a hashtable of Add and Remove lists (Microsoft's
    # Set-CsTenantFederationConfiguration reference); an empty list is left out.
    lines = [
        f"# NHSmail Microsoft Teams federation allow list: {len(adds):,} to add, "
        f"{len(removes):,} to remove.",
        "# Run in a PowerShell session opened with Connect-MicrosoftTeams.",
    ]
    parts = []
    if adds:
        lines += _ps_list("add", adds)
        parts.append("Add=$add")
    if removes:
        lines += _ps_list("remove", removes)
        parts.append("Remove=$remove")
    if parts:
        lines.append(
            "Set-CsTenantFederationConfiguration -AllowedDomainsAsAList @{" + "; ".join(parts) + "}"
        )
    else:
        lines.append("# Nothing to change.")
    return "\n".join(lines) + "\n", warnings


# -- what the tenant holds, read back for reconciliation ----------------------------------------

# Teams shows each entry of its allowed domains as "Domain=contoso.com" (the AllowedDomains
# property of Get-CsTenantFederationConfiguration, expanded or not), and its AllowedDomain
# objects list-formatted as "Domain : contoso.com".
_TEAMS_ENTRY = re.compile(r"\bDomain\s*(?:=|:[ \t]*)[ \t]*([^\s,;{}\"']+)", re.IGNORECASE)
# A property line of Format-List output ("BlockedDomains : ..."); a long value wraps onto
# lines that start with spaces.
_PROPERTY_LINE = re.compile(r"^(\w+)\s*:", re.MULTILINE)


def _allowed_section(text: str) -> str:
    """The AllowedDomains property's value when the whole configuration was pasted (so that
    BlockedDomains and the rest are not read as allowed); otherwise the text itself."""
    properties = list(_PROPERTY_LINE.finditer(text))
    names = [match.group(1).lower() for match in properties]
    if "alloweddomains" not in names:
        return text
    index = names.index("alloweddomains")
    start = properties[index].end()
    end = properties[index + 1].start() if index + 1 < len(properties) else len(text)
    # Format-List wraps a long value at the console's width, mid-name: join the lines again.
    return re.sub(r"\r?\n[ \t]+", "", text[start:end])


@dataclass(frozen=True)
class TenantAllowList:
    """The allowed domains a tenant reported, as A-labels, and what could not be read."""

    source: str  # "teams" or "entra"
    domains: frozenset[str]
    unreadable: tuple[str, ...] = ()
    allows_all_known: bool = False


def decode_tenant_text(data: bytes) -> str:
    """Text as PowerShell and browsers save it: UTF-8 (with or without a BOM) or UTF-16 with
    its BOM (Windows PowerShell 5.1's Out-File). Raises ValueError for anything else."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("The file is not text in UTF-8 or UTF-16.") from None


def _entra_domains(document: object) -> list[str]:
    """AllowedDomains from Entra's B2B policy: the definition itself, or a Graph policy object
    whose "definition" holds it as a JSON string."""
    if isinstance(document, dict) and isinstance(document.get("definition"), list):
        definitions = [json.loads(item) for item in document["definition"] if isinstance(item, str)]
        return [name for item in definitions for name in _entra_domains(item)]
    try:
        allowed = document["B2BManagementPolicy"]["InvitationsAllowedAndBlockedDomainsPolicy"][  # type: ignore[index]
            "AllowedDomains"
        ]
    except (KeyError, TypeError):
        raise ValueError(
            "This JSON is not Entra's B2B management policy: it has no "
            "B2BManagementPolicy.InvitationsAllowedAndBlockedDomainsPolicy.AllowedDomains."
        ) from None
    if not isinstance(allowed, list) or not all(isinstance(name, str) for name in allowed):
        raise ValueError("The policy's AllowedDomains is not a list of domain names.")
    return allowed


def parse_tenant_allow_list(text: str) -> TenantAllowList:
    """What a tenant holds, from the text staff copied out of it: Entra's policy JSON, or the
    output of Get-CsTenantFederationConfiguration (its AllowedDomains, in any of PowerShell's
    layouts). Raises ValueError when neither can be read."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"The JSON cannot be read: {error.msg} (line {error.lineno})."
            ) from None
        source, names = "entra", _entra_domains(document)
    else:
        section = _allowed_section(stripped)
        source, names = "teams", _TEAMS_ENTRY.findall(section)
        if not names and "allowallknowndomains" in section.lower().replace(" ", ""):
            return TenantAllowList("teams", frozenset(), allows_all_known=True)
        if not names:
            raise ValueError(
                "No allowed domains were found. Paste the output of "
                "Get-CsTenantFederationConfiguration (its AllowedDomains line), or Entra's "
                "B2B policy JSON."
            )
    domains, unreadable = set(), []
    for name in names:
        try:
            domains.add(_a_label(name))
        except ValueError:
            unreadable.append(name)
    return TenantAllowList(source, frozenset(domains), tuple(unreadable))
