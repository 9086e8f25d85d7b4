"""Print the request lifecycle as a Mermaid diagram, or keep a document's copy of it current."""

import difflib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from requests_app.lifecycle_diagram import (
    END_MARKER,
    START_MARKER,
    document_block,
    lifecycle_block,
    lifecycle_mermaid,
    replace_block,
)


class Command(BaseCommand):
    help = (
        "Print the request lifecycle (drawn from FederationRequest's transitions) as a Mermaid "
        f"stateDiagram-v2. --write PATH replaces the block between {START_MARKER} and "
        f"{END_MARKER} in PATH; --check PATH exits 1 when that block differs from the code."
    )

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--write", metavar="PATH", help="redraw the block in this document")
        action.add_argument("--check", metavar="PATH", help="fail if this document's is stale")

    def handle(self, *args, write, check, **options):
        if not (write or check):
            self.stdout.write(lifecycle_mermaid(), ending="")
            return
        path = Path(write or check)
        text = self._read(path)
        try:
            if write:
                path.write_text(replace_block(text), encoding="utf-8")
                self.stdout.write(f"{path}: lifecycle diagram redrawn.")
                return
            written = document_block(text)
        except ValueError as error:
            raise CommandError(f"{path}: {error}", returncode=2) from error
        expected = lifecycle_block()
        if written != expected:
            diff = difflib.unified_diff(
                written.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile=f"{path} (written)",
                tofile="the state machine",
            )
            raise CommandError(
                f"{path}: the lifecycle diagram differs from the state machine. "
                f"Run: manage.py lifecycle_diagram --write {path}\n{''.join(diff)}"
            )
        self.stdout.write(f"{path}: lifecycle diagram is current.")

    def _read(self, path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}", returncode=2) from error
