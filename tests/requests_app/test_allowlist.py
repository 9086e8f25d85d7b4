"""The allow list's exports (CSV, JSON, Teams PowerShell, Entra B2B policy) and its import."""

import csv
import getpass
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import astuple
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal_kit.errors import ActionRefused
from requests_app.allow_list_formats import (
    CSV_COLUMNS,
    ENTRA_B2B_POLICY_CHARACTER_LIMIT,
    EXPORT_FORMATS,
    FORMATS,
    TEAMS_ALLOWED_DOMAINS_LIMIT,
    AllowListRow,
    render_allow_list,
)
from requests_app.models import AllowListEntry, AuditEvent, State
from requests_app.services import allow_list
from requests_app.services.allow_list import (
    AllowListImportRefused,
    allow_list_export,
    allow_list_import,
)
from tests.factories import FederationRequestFactory

ROOT = Path(__file__).resolve().parents[2]
IDN_UNICODE = "bücher.example.org.uk"
IDN_A_LABEL = "xn--bcher-kva.example.org.uk"
SHUFFLED = [
    "zeta.example.org.uk",
    "Alpha.Example.org.uk",
    "mid.example.org.uk",
    "alpha.example.org.uk.",
]
SORTED_UNIQUE = ["alpha.example.org.uk", "mid.example.org.uk", "zeta.example.org.uk"]


def domains_in(text: str, fmt: str) -> list[str]:
    """The domains an export lists, in its order, read the way its consumer reads it."""
    if fmt == "csv":
        return [row["domain"] for row in csv.DictReader(io.StringIO(text))]
    if fmt == "json":
        return [item["domain"] for item in json.loads(text)]
    if fmt == "teams-powershell":
        return re.findall(r'^\$list\.Add\("([^"]*)"\)$', text, flags=re.MULTILINE)
    policy = json.loads(text)
    return policy["B2BManagementPolicy"]["InvitationsAllowedAndBlockedDomainsPolicy"][
        "AllowedDomains"
    ]


def add_entry(domain: str, *, effective_date: date, request=None, source="import"):
    return AllowListEntry.objects.create(
        domain=domain, effective_date=effective_date, request=request, source=source
    )


# -- the formats ----------------------------------------------------------------------------


def test_formats_have_a_content_type_and_extension_each():
    assert FORMATS == ("csv", "json", "teams-powershell", "entra-b2b-json")
    assert {name: (f.content_type, f.extension) for name, f in EXPORT_FORMATS.items()} == {
        "csv": ("text/csv; charset=utf-8", "csv"),
        "json": ("application/json", "json"),
        "teams-powershell": ("text/plain; charset=utf-8", "ps1"),
        "entra-b2b-json": ("application/json", "json"),
    }


def test_csv_has_a_header_and_one_row_a_domain_with_its_details():
    rows = [
        AllowListRow("zeta.example.org.uk", date(2024, 5, 1), "portal", "FR-000042"),
        "alpha.example.org.uk",
        AllowListRow(IDN_UNICODE, date(2023, 1, 31), "import"),
        AllowListRow("ZETA.example.org.uk", date(2030, 1, 1), "import"),  # first row kept
    ]

    text, warnings = render_allow_list(rows, "csv")

    assert warnings == []
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text)))[1:] == [
        ["alpha.example.org.uk", "alpha.example.org.uk", "", "", ""],
        [IDN_A_LABEL, IDN_UNICODE, "2023-01-31", "import", ""],
        ["zeta.example.org.uk", "zeta.example.org.uk", "2024-05-01", "portal", "FR-000042"],
    ]


def test_json_is_a_list_of_objects_with_the_same_fields_and_nulls_for_unknowns():
    rows = [
        AllowListRow("zeta.example.org.uk", date(2024, 5, 1), "portal", "FR-000042"),
        "alpha.example.org.uk",
    ]

    text, warnings = render_allow_list(rows, "json")

    assert warnings == []
    assert json.loads(text) == [
        {
            "domain": "alpha.example.org.uk",
            "domain_unicode": "alpha.example.org.uk",
            "effective_date": None,
            "source": None,
            "request_reference": None,
        },
        {
            "domain": "zeta.example.org.uk",
            "domain_unicode": "zeta.example.org.uk",
            "effective_date": "2024-05-01",
            "source": "portal",
            "request_reference": "FR-000042",
        },
    ]


def test_teams_powershell_builds_a_list_and_adds_it_to_the_federation_configuration():
    text, warnings = render_allow_list(["b.example.org.uk", "a.example.org.uk"], "teams-powershell")

    assert warnings == []
    code = [line for line in text.splitlines() if not line.startswith("#")]
    assert code == [
        "$list = New-Object Collections.Generic.List[String]",
        '$list.Add("a.example.org.uk")',
        '$list.Add("b.example.org.uk")',
        "Set-CsTenantFederationConfiguration -AllowedDomainsAsAList @{Add=$list}",
    ]
    assert "# NHSmail Microsoft Teams federation allow list: 2 domains." in text.splitlines()
    assert "WARNING" not in text
    assert text.isascii()


def test_entra_b2b_json_is_exactly_the_policy_definition():
    text, warnings = render_allow_list(["b.example.org.uk", "a.example.org.uk"], "entra-b2b-json")

    assert warnings == []
    assert text == (
        '{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":'
        '{"AllowedDomains":["a.example.org.uk","b.example.org.uk"]}}}\n'
    )
    assert json.loads(text) == {
        "B2BManagementPolicy": {
            "InvitationsAllowedAndBlockedDomainsPolicy": {
                "AllowedDomains": ["a.example.org.uk", "b.example.org.uk"]
            }
        }
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_lists_domains_sorted_once_each_in_lower_case(fmt):
    text, _ = render_allow_list(SHUFFLED, fmt)

    assert domains_in(text, fmt) == SORTED_UNIQUE


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_lists_an_international_domain_as_its_a_label(fmt):
    text, _ = render_allow_list([IDN_UNICODE, "zz.example.org.uk", IDN_A_LABEL], fmt)

    assert domains_in(text, fmt) == [IDN_A_LABEL, "zz.example.org.uk"]
    if fmt in ("teams-powershell", "entra-b2b-json"):
        assert "bücher" not in text  # Teams and Entra take A-labels only


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_allow_list_says_so(fmt):
    text, warnings = render_allow_list([], fmt)

    assert warnings == ["The allow list is empty."]
    assert domains_in(text, fmt) == []


def test_teams_powershell_warns_past_the_teams_limit_in_the_warnings_and_the_script():
    domains = [
        f"partner{number}.example.org.uk" for number in range(TEAMS_ALLOWED_DOMAINS_LIMIT + 1)
    ]

    text, warnings = render_allow_list(domains, "teams-powershell")

    assert TEAMS_ALLOWED_DOMAINS_LIMIT == 4000
    assert len(warnings) == 1
    assert "4,001 domains" in warnings[0] and "4,000" in warnings[0]
    assert f"# WARNING: {warnings[0]}" in text.splitlines()
    assert len(domains_in(text, "teams-powershell")) == 4001


def test_teams_powershell_does_not_warn_at_exactly_the_limit():
    domains = [f"partner{number}.example.org.uk" for number in range(TEAMS_ALLOWED_DOMAINS_LIMIT)]

    text, warnings = render_allow_list(domains, "teams-powershell")

    assert warnings == []
    assert "WARNING" not in text


def test_entra_b2b_json_warns_over_25_000_characters():
    # 28-character names: 31 characters each in the policy with quotes and comma.
    domains = [f"partner-{number:05d}.example.org.uk" for number in range(815)]

    text, warnings = render_allow_list(domains, "entra-b2b-json")

    size = len(text.rstrip("\n"))
    # Between 25,000 and 25,600 (25 KiB), so a limit counted in KiB would not warn here.
    assert ENTRA_B2B_POLICY_CHARACTER_LIMIT < size <= 25 * 1024
    assert warnings == [
        f"The Entra B2B policy is {size:,} characters, over Entra's 25,000-character (25 KB) "
        "limit for the whole policy: Entra will refuse it."
    ]


def test_entra_b2b_json_does_not_warn_under_25_000_characters():
    domains = [f"partner-{number:05d}.example.org.uk" for number in range(775)]

    text, warnings = render_allow_list(domains, "entra-b2b-json")

    assert 24_000 < len(text.rstrip("\n")) <= ENTRA_B2B_POLICY_CHARACTER_LIMIT
    assert warnings == []


@pytest.mark.parametrize(
    "bad", ['evil.example.org.uk")\nRemove-Item C:\\ #', "$(whoami).example.org.uk", "example"]
)
def test_something_that_is_not_a_domain_never_reaches_an_export(bad):
    with pytest.raises(ValueError, match="not a valid domain name"):
        render_allow_list(["good.example.org.uk", bad], "teams-powershell")


def test_an_unknown_format_is_refused_naming_the_formats():
    with pytest.raises(ValueError, match="csv, json, teams-powershell, entra-b2b-json"):
        render_allow_list(["a.example.org.uk"], "xml")


# -- export from the database ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_reads_the_allow_list_with_a_filename_and_content_type_and_is_audited(
    db, fmt, feedback_user
):
    today = timezone.localdate()
    add_entry("b.example.org.uk", effective_date=today)
    add_entry("a.example.org.uk", effective_date=today)

    filename, content_type, text, warnings = astuple(
        allow_list_export(fmt=fmt, actor=feedback_user)
    )

    assert filename.endswith(f"-{today.isoformat()}.{EXPORT_FORMATS[fmt].extension}")
    assert filename.startswith("nhsmail-allow-list")
    assert content_type == EXPORT_FORMATS[fmt].content_type
    assert domains_in(text, fmt) == ["a.example.org.uk", "b.example.org.uk"]
    assert warnings == []
    event = AuditEvent.objects.get(action="allowlist.exported")
    assert (event.actor, event.request, event.message) == (
        feedback_user,
        None,
        f"{fmt}: {filename}",
    )


def test_export_csv_carries_the_request_reference_and_dates(db):
    request = FederationRequestFactory(
        state=State.FEDERATED, reference="FR-000042", domains=["partner.example.org.uk"]
    )
    add_entry(
        "partner.example.org.uk", effective_date=date(2024, 5, 1), request=request, source="portal"
    )
    add_entry(IDN_A_LABEL, effective_date=date(2020, 2, 3))

    text = allow_list_export(fmt="csv", actor=None).text

    assert list(csv.DictReader(io.StringIO(text))) == [
        {
            "domain": "partner.example.org.uk",
            "domain_unicode": "partner.example.org.uk",
            "effective_date": "2024-05-01",
            "source": "portal",
            "request_reference": "FR-000042",
        },
        {
            "domain": IDN_A_LABEL,
            "domain_unicode": IDN_UNICODE,
            "effective_date": "2020-02-03",
            "source": "import",
            "request_reference": "",
        },
    ]


def test_export_warns_about_domains_not_yet_in_effect_and_on_date_leaves_them_out(db):
    today = timezone.localdate()
    add_entry("now.example.org.uk", effective_date=today)
    add_entry("later.example.org.uk", effective_date=today + timedelta(days=7))

    _, _, text, warnings = astuple(allow_list_export(fmt="entra-b2b-json", actor=None))
    assert domains_in(text, "entra-b2b-json") == ["later.example.org.uk", "now.example.org.uk"]
    assert len(warnings) == 1
    assert warnings[0].startswith("1 of these domains take effect after today")

    filename, _, text, warnings = astuple(
        allow_list_export(fmt="entra-b2b-json", actor=None, on_date=today)
    )
    assert domains_in(text, "entra-b2b-json") == ["now.example.org.uk"]
    assert warnings == []
    assert filename == f"nhsmail-allow-list-entra-b2b-json-{today.isoformat()}.json"


# -- export_allowlist -----------------------------------------------------------------------


def run_export(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("export_allowlist", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_export_command_prints_the_format_to_stdout(db):
    add_entry("b.example.org.uk", effective_date=date(2024, 1, 1))
    add_entry(IDN_A_LABEL, effective_date=date(2024, 1, 1))

    stdout, stderr = run_export("--format", "entra-b2b-json")

    assert json.loads(stdout) == {
        "B2BManagementPolicy": {
            "InvitationsAllowedAndBlockedDomainsPolicy": {
                "AllowedDomains": ["b.example.org.uk", IDN_A_LABEL]
            }
        }
    }
    assert stderr == ""


def test_export_command_writes_the_export_to_a_file_and_it_is_audited(db, tmp_path):
    add_entry("b.example.org.uk", effective_date=date(2024, 1, 1))
    add_entry("a.example.org.uk", effective_date=date(2024, 1, 1))
    target = tmp_path / "allow-list.csv"

    stdout, _ = run_export("--format", "csv", "--output", str(target))

    event = AuditEvent.objects.get(action="allowlist.exported")
    assert (event.actor, event.request) == (None, None)
    assert event.actor_label == f"{getpass.getuser()} (manage.py export_allowlist)"
    assert event.message == f"csv: nhsmail-allow-list-{timezone.localdate().isoformat()}.csv"
    expected = allow_list_export(fmt="csv", actor=None).text
    assert target.read_bytes() == expected.encode("utf-8")  # CRLF rows kept as they are
    assert domains_in(target.read_bytes().decode("utf-8"), "csv") == [
        "a.example.org.uk",
        "b.example.org.uk",
    ]
    assert stdout == f"Wrote the allow list as csv to {target}.\n"


def test_export_command_puts_warnings_on_stderr_not_in_the_script(db):
    AllowListEntry.objects.bulk_create(
        AllowListEntry(
            domain=f"partner{number}.example.org.uk",
            effective_date=date(2024, 1, 1),
            source="import",
        )
        for number in range(TEAMS_ALLOWED_DOMAINS_LIMIT + 1)
    )

    stdout, stderr = run_export("--format", "teams-powershell")

    assert stderr.startswith("Warning: The allow list has 4,001 domains")
    assert "Warning:" not in stdout
    assert len(domains_in(stdout, "teams-powershell")) == 4001


def test_export_command_refuses_a_bad_format(db):
    with pytest.raises(CommandError, match="there is no format “xml”; choose one of: csv"):
        run_export("--format", "xml")


def test_export_command_exits_non_zero_for_a_bad_format():
    completed = subprocess.run(
        [sys.executable, "manage.py", "export_allowlist", "--format", "xml"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "federation_portal.settings.test"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode != 0
    assert "there is no format “xml”" in completed.stderr
    assert completed.stdout == ""


def test_export_command_reports_a_file_it_cannot_write(db, tmp_path):
    with pytest.raises(CommandError, match="Could not write"):
        run_export("--format", "json", "--output", str(tmp_path / "missing" / "list.json"))


# -- the import -----------------------------------------------------------------------------


def test_import_puts_every_domain_on_the_allow_list_and_audits_it(db, feedback_user):
    lines = [
        "# Federated before the portal, from the old spreadsheet",
        "",
        "Alpha.Example.org.uk",
        f"  {IDN_UNICODE}  # the bookshop",
        "beta.example.org.uk.",
    ]

    result = allow_list_import(lines=lines, actor=feedback_user, effective_date=date(2022, 4, 1))

    assert result.domains == ["alpha.example.org.uk", IDN_A_LABEL, "beta.example.org.uk"]
    entries = list(AllowListEntry.objects.order_by("domain"))
    assert [entry.domain for entry in entries] == [
        "alpha.example.org.uk",
        "beta.example.org.uk",
        IDN_A_LABEL,
    ]
    for entry in entries:
        assert (entry.source, entry.request, entry.added_by) == ("import", None, feedback_user)
        assert entry.effective_date == date(2022, 4, 1)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.request) == (
        "allowlist.imported",
        feedback_user,
        None,
    )
    assert event.actor_label == "fiona.feedback"
    assert event.message == (
        "Imported 3 domains, effective from 01 April 2022: "
        f"alpha.example.org.uk, {IDN_A_LABEL}, beta.example.org.uk."
    )


def test_import_refuses_everything_when_any_line_is_refused_and_says_which(db, feedback_user):
    add_entry("federated.example.org.uk", effective_date=date(2021, 1, 1))
    FederationRequestFactory(reference="FR-000007", domains=["pending.example.org.uk"])
    lines = [
        "good.example.org.uk",  # 1: would be fine on its own
        "org.uk",  # 2: a public suffix
        "nhs.net",  # 3: NHSmail itself
        "*.wild.example.org.uk",  # 4: a wildcard
        "# a comment",  # 5
        "Good.Example.org.uk",  # 6: line 1 again
        "federated.example.org.uk",  # 7: already federated
        "pending.example.org.uk",  # 8: in a live request
        "also-good.example.org.uk",  # 9
    ]

    with pytest.raises(AllowListImportRefused) as refused:
        allow_list_import(lines=lines, actor=feedback_user, effective_date=date(2022, 4, 1))

    refusals = refused.value.refusals
    assert [refusal.line_number for refusal in refusals] == [2, 3, 4, 6, 7, 8]
    reasons = {refusal.line_number: refusal.reason for refusal in refusals}
    assert "public suffix" in reasons[2]
    assert "NHSmail itself" in reasons[3]
    assert "wildcard" in reasons[4]
    assert reasons[6] == "“Good.Example.org.uk” is already on line 1. List each domain once."
    assert "already federated" in reasons[7]
    assert "FR-000007" in reasons[8]
    assert str(refused.value).startswith("Nothing was imported: 6 lines were refused. Line 2: ")
    assert isinstance(refused.value, ActionRefused)  # the admin shows it like any refusal
    assert list(AllowListEntry.objects.values_list("domain", flat=True)) == [
        "federated.example.org.uk"
    ]
    assert not AuditEvent.objects.filter(action="allowlist.imported").exists()


def test_import_of_a_file_without_domains_is_refused(db, feedback_user):
    with pytest.raises(ActionRefused, match="no domains to import"):
        allow_list_import(
            lines=["", "# nothing yet", "   "], actor=feedback_user, effective_date=None
        )
    assert not AuditEvent.objects.exists()


def test_import_needs_permission_to_federate(db, outsider_user):
    with pytest.raises(ActionRefused, match="permission to federate"):
        allow_list_import(lines=["a.example.org.uk"], actor=outsider_user, effective_date=None)
    assert not AllowListEntry.objects.exists()


def test_import_defaults_to_today(db, feedback_user):
    result = allow_list_import(lines=["a.example.org.uk"], actor=feedback_user, effective_date=None)

    assert result.effective_date == timezone.localdate()
    assert AllowListEntry.objects.get().effective_date == timezone.localdate()


def test_import_that_loses_a_race_imports_nothing(db, feedback_user, monkeypatch):
    # Another import added raced.example.org.uk after this one checked it.
    add_entry("raced.example.org.uk", effective_date=date(2021, 1, 1))
    monkeypatch.setattr(allow_list, "clean_domain", lambda raw, **options: raw.strip().lower())

    with pytest.raises(ActionRefused, match="Someone else put one of these domains"):
        allow_list_import(
            lines=["fresh.example.org.uk", "raced.example.org.uk"],
            actor=feedback_user,
            effective_date=None,
        )

    assert list(AllowListEntry.objects.values_list("domain", flat=True)) == ["raced.example.org.uk"]
    assert not AuditEvent.objects.exists()


# -- import_allowlist -----------------------------------------------------------------------


def run_import(*args):
    stdout = io.StringIO()
    call_command("import_allowlist", *args, stdout=stdout, stderr=io.StringIO())
    return stdout.getvalue()


def test_import_command_imports_a_file_and_says_what(db, tmp_path):
    source = tmp_path / "old-allow-list.txt"
    # Saved by Excel: a byte order mark and CRLF line endings.
    source.write_bytes(
        f"# old list\r\nb.example.org.uk\r\n\r\n{IDN_UNICODE}\r\n".encode("utf-8-sig")
    )

    stdout = run_import(str(source), "--effective-date", "2021-09-30")

    assert stdout == (
        "Imported 2 domains onto the allow list, effective from 30 September 2021:\n"
        "  b.example.org.uk\n"
        f"  {IDN_A_LABEL} ({IDN_UNICODE})\n"
    )
    assert sorted(AllowListEntry.objects.values_list("domain", "effective_date", "source")) == [
        ("b.example.org.uk", date(2021, 9, 30), "import"),
        (IDN_A_LABEL, date(2021, 9, 30), "import"),
    ]
    event = AuditEvent.objects.get(action="allowlist.imported")
    assert event.actor is None
    assert event.actor_label.endswith("(manage.py import_allowlist)")


def test_import_command_lists_every_refusal_and_imports_nothing(db, tmp_path):
    source = tmp_path / "old-allow-list.txt"
    source.write_text("fine.example.org.uk\nco.uk\nfine.example.org.uk\n", encoding="utf-8")

    with pytest.raises(CommandError) as refused:
        run_import(str(source))

    message = str(refused.value).splitlines()
    assert message[0] == "Nothing was imported: 2 lines were refused."
    assert message[1].startswith("Line 2: “co.uk” is a public suffix")
    assert (
        message[2] == "Line 3: “fine.example.org.uk” is already on line 1. List each domain once."
    )
    assert not AllowListEntry.objects.exists()


def test_import_command_reports_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="Could not read"):
        run_import(str(tmp_path / "no-such-file.txt"))


def test_import_command_refuses_a_date_that_is_not_iso(db, tmp_path):
    source = tmp_path / "list.txt"
    source.write_text("a.example.org.uk\n", encoding="utf-8")

    with pytest.raises(CommandError, match="not a date in the form YYYY-MM-DD"):
        run_import(str(source), "--effective-date", "30/09/2021")
    assert not AllowListEntry.objects.exists()
