"""Print or save the allow list for Teams, Entra or a spreadsheet; warnings go to stderr."""

import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from requests_app.allow_list_formats import FORMATS
from requests_app.management.operator import operator_label
from requests_app.services.allow_list import allow_list_export


def export_format(value: str) -> str:
    if value not in FORMATS:
        raise argparse.ArgumentTypeError(
            f"there is no format “{value}”; choose one of: {', '.join(FORMATS)}"
        )
    return value


def iso_date(value: str):
    try:
        parsed = parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise argparse.ArgumentTypeError(f"“{value}” is not a date in the form YYYY-MM-DD")
    return parsed


class Command(BaseCommand):
    help = "Export the allow list as csv, json, teams-powershell or entra-b2b-json."

    def add_arguments(self, parser):
        parser.add_argument(
            "--format",
            required=True,
            type=export_format,
            metavar="|".join(FORMATS),
            help="the format to write",
        )
        parser.add_argument(
            "--output", metavar="FILE", help="write to FILE instead of standard output"
        )
        parser.add_argument(
            "--on-date",
            type=iso_date,
            metavar="YYYY-MM-DD",
            help="only the domains in effect by this date (default: every entry)",
        )

    def handle(self, *args, **options):
        fmt = options["format"]
        try:
            export = allow_list_export(
                fmt=fmt,
                actor=None,
                actor_label=operator_label("export_allowlist"),
                on_date=options["on_date"],
            )
        except ValueError as error:  # an unknown format that did not come through the parser
            raise CommandError(str(error)) from error
        text = export.text
        for warning in export.warnings:
            self.stderr.write(f"Warning: {warning}")
        output = options["output"]
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            # newline="" keeps the CSV's CRLF line endings as they are.
            Path(output).write_text(text, encoding="utf-8", newline="")
        except OSError as error:
            raise CommandError(f"Could not write {output}: {error.strerror}.") from error
        self.stdout.write(f"Wrote the allow list as {fmt} to {output}.")
