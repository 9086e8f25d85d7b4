"""The sealed agreement validates against the test CA, and not after a one-byte change."""

import io

import pytest
from pypdf import PdfWriter

from agreements import sandbox, sealing
from agreements.dev_seal import make_seal_ca
from tests.helpers import use_seal


@pytest.fixture
def sealed_settings(settings, seal_paths):
    use_seal(settings, seal_paths)
    return settings


def plain_pdf(pages: int = 2) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_a_sealed_pdf_is_genuine(sealed_settings):
    sealed = sealing.seal(plain_pdf(), reason="Signed in the portal")
    result = sealing.verify(sealed)
    assert result.genuine, result.summary


def test_one_changed_byte_is_reported_as_altered(sealed_settings):
    sealed = bytearray(sealing.seal(plain_pdf(), reason="Signed in the portal"))
    position = sealed.index(b"/MediaBox") + 12  # inside the signed content
    sealed[position] = ord("7") if sealed[position] != ord("7") else ord("8")

    result = sealing.verify(bytes(sealed))

    assert not result.genuine
    assert "altered" in result.summary


def test_a_pdf_without_the_seal_is_foreign(sealed_settings):
    result = sealing.verify(plain_pdf())
    assert not result.genuine and "not sealed by this portal" in result.summary


def test_a_seal_by_another_certificate_is_not_ours(sealed_settings, tmp_path, settings):
    other = make_seal_ca(tmp_path / "other", label="Impostor")
    use_seal(settings, other)
    forged = sealing.seal(plain_pdf(), reason="Looks official")
    use_seal(settings, make_seal_ca(tmp_path / "ours", label="Ours"))

    assert not sealing.verify(forged).genuine


def test_sealing_needs_a_certificate(settings):
    settings.SEAL_KEY_FILE = ""
    with pytest.raises(sealing.SealingUnavailable):
        sealing.seal(plain_pdf(), reason="x")


def test_the_seal_is_checked_in_the_sandbox_and_a_starved_check_is_not_genuine(
    sealed_settings, monkeypatch
):
    sealed = sealing.seal(plain_pdf(), reason="Signed in the portal")
    monkeypatch.setattr(sandbox, "SANDBOX_MEMORY_BYTES", 16 * 1024 * 1024)

    result = sealing.verify(sealed)

    assert not result.genuine and "could not be checked safely" in result.summary
