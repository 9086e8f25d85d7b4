"""The workbench's pages as the tests read them: URLs, messages, links and forms."""

import html
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import blank_pdf

CHANGELIST_URL = reverse("admin:requests_app_federationrequest_changelist")
RAISE_URL = reverse("admin:requests_app_federationrequest_raise")


def text(response) -> str:
    """The page as a person reads it: entities decoded, runs of whitespace made one space."""
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def shown_messages(response) -> list[tuple[str, str]]:
    """(level, sentence) for each message in the admin's message list."""
    match = re.search(r'<ul class="messagelist">(.*?)</ul>', response.content.decode(), re.S)
    if not match:
        return []
    return [
        (level, html.unescape(sentence).strip())
        for level, sentence in re.findall(r'<li class="(\w+)">(.*?)</li>', match.group(1), re.S)
    ]


def action_links(response) -> set[str]:
    return set(re.findall(r'id="action-([\w-]+)"', response.content.decode()))


def listed_references(response) -> list[str]:
    return re.findall(
        r'<th class="field-reference"><a href="[^"]*">(FR-\d+)</a></th>',
        response.content.decode(),
    )


def change_url(req) -> str:
    return reverse("admin:requests_app_federationrequest_change", args=[req.pk])


def act_url(req, action: str) -> str:
    return reverse("admin:requests_app_federationrequest_act", args=[req.pk, action])


def file_url(req, kind: str, file_pk: int) -> str:
    return reverse("admin:requests_app_federationrequest_file", args=[req.pk, kind, file_pk])


def evidence_url(req, item, verb: str) -> str:
    return reverse("admin:requests_app_federationrequest_evidence", args=[req.pk, item.pk, verb])


def pdf_upload(name: str = "signed FPA.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, blank_pdf(), content_type="application/pdf")


def download(response) -> bytes:
    # The test client closes the file once the content is read; closing the response again
    # would send request_finished and close the test's database connection.
    return b"".join(response.streaming_content)


def signature_form() -> dict:
    return {
        "signed_copy": pdf_upload(),
        "signatory_name": "Dana Director",
        "signatory_job_title": "Director of Digital",
        "signed_on": "2026-02-14",
        "signatory_is_director": "on",
        "matches_issued": "on",
    }
