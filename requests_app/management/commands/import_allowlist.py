"""Load an allow list kept before the portal existed: one domain a line, all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal_kit.errors import ActionRefused
from requests_app.domains import domain_unicode
from requests_app.management.commands.export_allowlist import iso_date
from requests_app.management.operator import operator_label
from requests_app.services.allow_list import AllowListImportRefused, allow_list_import


class Command(BaseCommand):
    help = (
        "Import domains federated before the portal existed onto the allow list: one domain a "
        "line, blank lines and # comments skipped. If any line is refused, nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a UTF-8 text file, one domain a line")
        parser.add_argument(
            "--effective-date",
            type=iso_date,
            metavar="YYYY-MM-DD",
            help="when federation took effect (default: today)",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            # utf-8-sig: files saved by Excel or Notepad may start with a byte order mark.
            text = path.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"Could not read {path}: {error.strerror}.") from error
        except UnicodeDecodeError as error:
            raise CommandError(
                f"{path} is not UTF-8 text: save it as UTF-8 and try again."
            ) from error
        try:
            result = allow_list_import(
                lines=text.splitlines(),
                actor=None,
                effective_date=options["effective_date"],
                actor_label=operator_label("import_allowlist"),
            )
        except AllowListImportRefused as error:
            count = len(error.refusals)
            lines = "line was" if count == 1 else "lines were"
            raise CommandError(
                "\n".join(
                    [f"Nothing was imported: {count} {lines} refused."]
                    + [str(refusal) for refusal in error.refusals]
                )
            ) from error
        except ActionRefused as error:
            raise CommandError(str(error)) from error
        count = len(result.domains)
        self.stdout.write(
            f"Imported {count} domain{'' if count == 1 else 's'} onto the allow list, effective "
            f"from {result.effective_date:%d %B %Y}:"
        )
        for name in result.domains:
            shown = domain_unicode(name)
            self.stdout.write(f"  {name} ({shown})" if shown != name else f"  {name}")
