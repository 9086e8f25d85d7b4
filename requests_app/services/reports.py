"""Reports staff download (the overview's tables as CSV): each download is an export of the
portal's data, audited like the allow list's."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from portal_kit.tables import Cell, csv_text

from ..audit import audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class ReportExport:
    filename: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def report_export(
    *,
    filename: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    actor: User,
) -> ReportExport:
    """A table as CSV, its export in the audit log (who, which file, how many rows, its hash)."""
    export = ReportExport(filename=filename, text=csv_text(headers, rows))
    audit(
        None,
        actor,
        "report.exported",
        message=f"{filename}: {len(rows)} row{'' if len(rows) == 1 else 's'}, "
        f"SHA-256 {export.sha256}.",
    )
    return export
