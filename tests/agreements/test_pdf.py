"""The Federation Partnering Agreement PDF, read back the way a person would: pdftotext."""

import io
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import weasyprint
from django.utils import dateformat, timezone
from pypdf import PdfReader

from agreements.models import EvidenceCriterion
from agreements.pdf import render_agreement_pdf
from tests.factories import AgreementFactory

A4_POINTS = (595.28, 841.89)
IDN_A_LABEL = "xn--bcher-kva.example.org.uk"
IDN_UNICODE = "bücher.example.org.uk"


@dataclass
class Rendered:
    pdf: bytes
    path: Path
    text: str  # pdftotext -layout, pages separated by form feeds

    @property
    def pages(self) -> list[str]:
        return self.text.split("\f")[: len(PdfReader(io.BytesIO(self.pdf)).pages)]


def render(agreement, tmp_path) -> Rendered:
    pdf = render_agreement_pdf(agreement)
    path = tmp_path / "fpa.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
    )
    return Rendered(pdf=pdf, path=path, text=result.stdout.decode("utf-8"))


@pytest.fixture
def agreement(db):
    return AgreementFactory(
        template_version="FPA-TEST.7",
        request__reference="FR-000123",
        request__organisation__name="Northshire Community Health Partnership",
        request__organisation__ods_code="RX9",
        request__domains=["northshire.example.org.uk", IDN_A_LABEL],
    )


def test_names_the_parties_reference_version_and_issue_date(agreement, tmp_path):
    before = timezone.localdate()
    rendered = render(agreement, tmp_path)
    after = timezone.localdate()

    assert "Federation Partnering Agreement" in rendered.text
    assert "Northshire Community Health Partnership (ODS code RX9)" in rendered.text
    assert "NHS England" in rendered.text
    assert re.search(r"Request reference\s+FR-000123", rendered.text)
    assert re.search(r"Template version\s+FPA-TEST\.7", rendered.text)
    issued = {dateformat.format(day, "j F Y") for day in (before, after)}
    assert any(re.search(rf"Issued on\s+{day}", rendered.text) for day in issued)


def test_lists_every_domain_with_internationalised_names_in_unicode(agreement, tmp_path):
    rendered = render(agreement, tmp_path)

    assert "northshire.example.org.uk" in rendered.text
    assert IDN_UNICODE in rendered.text
    assert IDN_A_LABEL not in rendered.text  # people read the U-label, not the punycode


def test_names_the_spoc_and_technical_contacts(agreement, tmp_path):
    spoc_email = agreement.request.contacts.get(role="spoc").email

    rendered = render(agreement, tmp_path)

    assert re.search(r"Single point of contact\s+Sam Spoc", rendered.text)
    assert spoc_email in rendered.text
    assert "01234 567890" in rendered.text
    assert re.search(r"Technical contact\s+Tess Tech", rendered.text)


def test_says_when_no_spoc_is_named_yet(db, tmp_path):
    agreement = AgreementFactory(request__contacts=False)

    rendered = render(agreement, tmp_path)

    assert "Not yet named" in rendered.text
    assert "Technical contact" not in rendered.text


def test_lists_each_dcb1596_criterion_as_required_or_if_applicable(agreement, tmp_path):
    EvidenceCriterion.objects.create(
        code="phishing-exercise",
        title="Quarterly phishing exercise",
        description="Staff take part in a phishing exercise every quarter.",
        accepted_evidence="The last exercise's report.",
        required=False,
        position=99,
    )

    rendered = render(agreement, tmp_path)

    assert "DCB1596 secure email standard" in rendered.text
    criteria = list(EvidenceCriterion.objects.all())
    assert any(criterion.required for criterion in criteria)
    for criterion in criteria:
        marker = "Required" if criterion.required else "If applicable"
        assert re.search(rf"{re.escape(criterion.title)}\s+{marker}\b", rendered.text), (
            criterion.title
        )


def test_states_the_support_and_contact_terms(agreement, tmp_path):
    rendered = render(agreement, tmp_path)
    text = " ".join(rendered.text.split())  # clauses wrap; compare as running text

    assert "contacts their own organisation's IT support first" in text
    assert "the SPOC raises a ticket with the NHSmail helpdesk" in text
    assert "tells NHSmail when its SPOC changes" in text
    assert "Only the contacts named in section 3 may ask NHSmail" in text
    assert "NHSmail may suspend federation" in text


def test_every_page_has_the_reference_version_and_page_x_of_y(agreement, tmp_path):
    rendered = render(agreement, tmp_path)
    pages = rendered.pages
    total = len(pages)

    assert total >= 2  # a multi-page agreement is what makes the running header matter
    assert f"Page 1 of {total}" in pages[0]
    for number, page in enumerate(pages, 1):
        assert f"Page {number} of {total}" in page
        assert "Reference FR-000123 · Template version FPA-TEST.7" in page


def test_ends_with_a_blank_director_level_signatory_block(agreement, tmp_path):
    rendered = render(agreement, tmp_path)
    last_page = rendered.pages[-1]

    assert "Director-level signatory" in last_page
    block = " ".join(last_page.split("Director-level signatory", 1)[1].split())
    assert "Signed for and on behalf of Northshire Community Health Partnership" in block
    # The four fields are printed as labels with nothing after them: lines to fill in by hand.
    for label in ["Name", "Job title", "Signature", "Date"]:
        assert re.search(rf"^\s*{label}\s*$", last_page, re.MULTILINE), label


def test_is_a4_on_every_page(agreement, tmp_path):
    rendered = render(agreement, tmp_path)

    for page in PdfReader(io.BytesIO(rendered.pdf)).pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert size == pytest.approx(A4_POINTS, abs=1)


def test_html_in_the_organisation_name_is_printed_not_interpreted(db, tmp_path):
    agreement = AgreementFactory(request__organisation__name="<b>Evil</b> & Co")

    rendered = render(agreement, tmp_path)

    text = " ".join(rendered.text.split())  # the name may wrap at a line end
    assert "<b>Evil</b> & Co" in text
    # Every place the name is printed shows the markup, none renders it as bold "Evil & Co".
    assert text.count("Evil") == text.count("<b>Evil</b> & Co")
    assert "&lt;" not in text and "&amp;" not in text  # escaped once, not twice


def test_all_text_including_header_and_footer_is_in_embedded_dejavu_sans(agreement, tmp_path):
    # Page-margin text does not inherit the body font; without font-family in @page the
    # header and footer come out in a serif face.
    rendered = render(agreement, tmp_path)
    listing = subprocess.run(
        ["pdffonts", str(rendered.path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]

    fonts = [line.split() for line in listing if line.strip()]
    assert fonts
    for columns in fonts:
        name, embedded = columns[0], columns[-5]
        assert name.split("+")[-1].startswith("DejaVu-Sans"), name
        assert embedded == "yes", name


def test_rendering_fetches_nothing_and_carries_no_script(agreement, tmp_path, monkeypatch):
    # The worker renders without network access: no web fonts, images or stylesheets by URL.
    fetched, documents = [], []
    real_html = weasyprint.HTML

    def refuse(url, *args, **kwargs):
        fetched.append(url)
        raise OSError(f"the FPA must not fetch {url}")

    def recording_html(*args, **kwargs):
        documents.append(kwargs.get("string", ""))
        kwargs["url_fetcher"] = refuse
        return real_html(*args, **kwargs)

    monkeypatch.setattr(weasyprint, "HTML", recording_html)

    rendered = render(agreement, tmp_path)

    assert "Federation Partnering Agreement" in rendered.text
    assert len(documents) == 1
    assert fetched == []
    assert "<script" not in documents[0].lower()
