"""The agreement and evidence services: issue, render, send, sign, evidence, verify."""

import datetime
import hashlib
import io
import subprocess
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfWriter

from agreements.models import (
    CURRENT_TEMPLATE_VERSION,
    Agreement,
    EvidenceCriterion,
    EvidenceItem,
    EvidenceStatus,
)
from agreements.selectors import current_agreement
from agreements.services.agreements import (
    EMAIL_TASK,
    RENDER_TASK,
    agreement_issue,
    agreement_render,
    request_send_agreement,
)
from agreements.services.evidence import (
    evidence_add,
    evidence_return,
    evidence_verify,
    request_verify_evidence,
)
from agreements.services.notices import REQUEST_EMAIL_TASK
from agreements.services.signatures import request_record_signature
from portal_kit.errors import ActionRefused
from requests_app.models import (
    AllowListEntry,
    AuditEvent,
    FederationRequest,
    OutboxMessage,
    State,
)
from requests_app.services.lifecycle import (
    SEND_EMAIL_TASK,
    request_federate,
    request_reject,
    request_review,
)
from tests.agreements.corpus import build_pdf, pdf_with_link, small_zip, uri
from tests.factories import (
    AgreementFactory,
    EvidenceItemFactory,
    FederationRequestFactory,
    UserFactory,
)
from tests.helpers import assert_untouched, audit_trail, outbox_rows, reload

pytestmark = pytest.mark.django_db

UNPRIVILEGED = ["outsider_user", "service_desk_user"]
SIGNED_ON = datetime.date(2026, 2, 14)


def pdf_bytes(title: str = "Federation Partnering Agreement") -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_upload(name: str = "signed FPA.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or pdf_bytes(), content_type="application/pdf")


def rendered_agreement(req, user) -> Agreement:
    content = pdf_bytes()
    return AgreementFactory(
        request=req,
        requested_by=user,
        pdf=ContentFile(content, name="fpa.pdf"),
        pdf_sha256=hashlib.sha256(content).hexdigest(),
        rendered_at=timezone.now(),
    )


def signature(**overrides) -> dict:
    values = {
        "signed_copy": pdf_upload(),
        "signatory_name": " Dana Director ",
        "signatory_job_title": " Director of Digital ",
        "signed_on": SIGNED_ON,
        "signatory_is_director": True,
        "matches_issued": True,
    }
    values.update(overrides)
    return values


def signed_copies_holding(content: bytes) -> list[Path]:
    folder = Path(settings.PRIVATE_MEDIA_ROOT) / "agreements" / "signed"
    return [path for path in folder.glob("*") if path.read_bytes() == content]


def required_criteria() -> list[EvidenceCriterion]:
    return list(EvidenceCriterion.objects.filter(required=True).order_by("position"))


def test_the_dcb1596_criteria_are_seeded_with_one_optional():
    assert EvidenceCriterion.objects.count() == 7
    assert list(
        EvidenceCriterion.objects.filter(required=False).values_list("code", flat=True)
    ) == ["ods-code"]


# -- agreement_issue -----------------------------------------------------------------------------


def test_issuing_an_agreement_queues_its_rendering(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)

    agreement = agreement_issue(request_id=req.pk, actor=feedback_user)

    assert agreement.request_id == req.pk
    assert agreement.requested_by == feedback_user
    assert agreement.template_version == CURRENT_TEMPLATE_VERSION
    assert not agreement.pdf
    assert reload(req).state == State.REVIEWED  # sent once rendered, not before
    assert audit_trail(req) == [("agreement.requested", "", "", feedback_user)]
    assert outbox_rows() == [(RENDER_TASK, {"agreement_id": agreement.pk})]


def test_an_agreement_being_prepared_is_not_issued_twice(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)
    agreement_issue(request_id=req.pk, actor=feedback_user)

    with pytest.raises(ActionRefused, match="already being prepared"):
        agreement_issue(request_id=req.pk, actor=feedback_user)

    assert req.agreements.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_an_agreement_whose_rendering_failed_can_be_issued_again(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)
    AgreementFactory(request=req, requested_by=feedback_user, failure="Rendering timed out.")

    agreement = agreement_issue(request_id=req.pk, actor=feedback_user)

    assert current_agreement(req) == agreement
    assert outbox_rows() == [(RENDER_TASK, {"agreement_id": agreement.pk})]


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_issuing_an_agreement_is_refused_without_permission(request, who):
    req = FederationRequestFactory(state=State.REVIEWED)
    with pytest.raises(ActionRefused, match="do not have permission to send agreements"):
        agreement_issue(request_id=req.pk, actor=request.getfixturevalue(who))
    assert_untouched(req, State.REVIEWED)
    assert Agreement.objects.count() == 0


@pytest.mark.parametrize("state", [s for s in State if s != State.REVIEWED])
def test_issuing_an_agreement_is_refused_before_review_or_after_sending(feedback_user, state):
    req = FederationRequestFactory(state=state)
    with pytest.raises(ActionRefused) as refusal:
        agreement_issue(request_id=req.pk, actor=feedback_user)
    assert f"is “{state.label}”; an agreement is sent only after the review" in str(refusal.value)
    assert_untouched(req, state)
    assert Agreement.objects.count() == 0


# -- agreement_render (real WeasyPrint) ----------------------------------------------------------


def test_rendering_stores_the_pdf_with_its_hash_and_sends_it(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED, domains=["xn--bcher-kva.example.org.uk"])
    agreement = agreement_issue(request_id=req.pk, actor=feedback_user)

    agreement = agreement_render(agreement_id=agreement.pk)

    stored = agreement.pdf.read()
    assert stored.startswith(b"%PDF-")
    assert agreement.pdf_sha256 == hashlib.sha256(stored).hexdigest()
    text = subprocess.run(
        ["pdftotext", "-layout", agreement.pdf.path, "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert req.reference in text
    assert req.organisation.name in text
    assert "bücher.example.org.uk" in text

    req = reload(req)
    assert req.state == State.FPA_SENT
    assert agreement.sent_at == req.fpa_sent_at
    assert audit_trail(req) == [
        ("agreement.requested", "", "", feedback_user),
        ("agreement.rendered", "", "", None),
        ("request.agreement_sent", State.REVIEWED, State.FPA_SENT, feedback_user),
    ]
    rendered = AuditEvent.objects.get(request=req, action="agreement.rendered")
    assert rendered.actor_label == "system"
    assert agreement.pdf_sha256 in rendered.message
    assert outbox_rows() == [
        (RENDER_TASK, {"agreement_id": agreement.pk}),
        (EMAIL_TASK, {"agreement_id": agreement.pk}),
    ]


def test_rendering_twice_sends_the_agreement_once(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)
    agreement = agreement_issue(request_id=req.pk, actor=feedback_user)
    first = agreement_render(agreement_id=agreement.pk)

    again = agreement_render(agreement_id=agreement.pk)

    assert again.pdf.name == first.pdf.name
    assert again.pdf_sha256 == first.pdf_sha256
    assert [action for action, *_ in audit_trail(req)] == [
        "agreement.requested",
        "agreement.rendered",
        "request.agreement_sent",
    ]
    assert [task for task, _ in outbox_rows()] == [RENDER_TASK, EMAIL_TASK]


def test_an_agreement_rendered_after_rejection_is_not_sent(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)
    agreement = agreement_issue(request_id=req.pk, actor=feedback_user)
    request_reject(request_id=req.pk, actor=feedback_user, reason="Withdrawn by the trust.")

    agreement = agreement_render(agreement_id=agreement.pk)

    assert agreement.pdf
    assert agreement.sent_at is None
    assert reload(req).state == State.REJECTED
    assert not AuditEvent.objects.filter(request=req, action="request.agreement_sent").exists()
    assert EMAIL_TASK not in [task for task, _ in outbox_rows()]


# -- request_send_agreement ----------------------------------------------------------------------


def test_sending_a_rendered_agreement_moves_the_request_to_agreement_sent(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)
    agreement = rendered_agreement(req, feedback_user)

    request_send_agreement(request_id=req.pk, actor=feedback_user)

    req = reload(req)
    agreement = Agreement.objects.get(pk=agreement.pk)
    assert req.state == State.FPA_SENT
    assert req.fpa_sent_at is not None
    assert agreement.sent_at == req.fpa_sent_at
    assert audit_trail(req) == [
        ("request.agreement_sent", State.REVIEWED, State.FPA_SENT, feedback_user)
    ]
    assert agreement.pdf_sha256 in AuditEvent.objects.get(request=req).message
    assert outbox_rows() == [(EMAIL_TASK, {"agreement_id": agreement.pk})]


@pytest.mark.parametrize(
    "agreement_fields",
    [
        None,  # no agreement issued at all
        {},  # issued, not rendered yet
        {"pdf_sha256": "ab" * 32},  # a hash without the file
        {"pdf": ContentFile(b"%PDF-1.4", name="fpa.pdf")},  # a file without its hash
    ],
)
def test_sending_needs_the_rendered_pdf(feedback_user, agreement_fields):
    req = FederationRequestFactory(state=State.REVIEWED)
    if agreement_fields is not None:
        AgreementFactory(request=req, requested_by=feedback_user, **agreement_fields)

    with pytest.raises(ActionRefused, match="The agreement has not been rendered yet"):
        request_send_agreement(request_id=req.pk, actor=feedback_user)

    assert_untouched(req, State.REVIEWED)
    assert not Agreement.objects.filter(sent_at__isnull=False).exists()


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_sending_is_refused_without_permission(request, who, feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)
    agreement = rendered_agreement(req, feedback_user)
    with pytest.raises(ActionRefused, match="do not have permission to send agreements"):
        request_send_agreement(request_id=req.pk, actor=request.getfixturevalue(who))
    assert_untouched(req, State.REVIEWED)
    assert Agreement.objects.get(pk=agreement.pk).sent_at is None


@pytest.mark.parametrize("state", [s for s in State if s != State.REVIEWED])
def test_sending_is_refused_from_any_other_state_naming_it(feedback_user, state):
    req = FederationRequestFactory(state=state)
    rendered_agreement(req, feedback_user)
    with pytest.raises(ActionRefused) as refusal:
        request_send_agreement(request_id=req.pk, actor=feedback_user)
    assert f"is now “{state.label}”, so it cannot be sent an agreement" in str(refusal.value)
    assert_untouched(req, state)


# -- request_record_signature --------------------------------------------------------------------


def test_recording_the_signed_copy_moves_the_request_to_signed(feedback_user):
    req = FederationRequestFactory(state=State.FPA_SENT)
    agreement = rendered_agreement(req, feedback_user)
    content = pdf_bytes()

    request_record_signature(
        request_id=req.pk, actor=feedback_user, **signature(signed_copy=pdf_upload(content=content))
    )

    req = reload(req)
    agreement = Agreement.objects.get(pk=agreement.pk)
    assert req.state == State.SIGNED
    assert req.signed_at is not None
    assert agreement.signed_copy.read() == content
    assert agreement.signed_copy_sha256 == hashlib.sha256(content).hexdigest()
    assert agreement.signatory_name == "Dana Director"
    assert agreement.signatory_job_title == "Director of Digital"
    assert agreement.signatory_is_director is True
    assert agreement.signed_on == SIGNED_ON
    assert agreement.received_at is not None
    assert "signed" not in Path(agreement.signed_copy.name).stem.lower()  # a random name
    assert audit_trail(req) == [("request.signed", State.FPA_SENT, State.SIGNED, feedback_user)]
    message = AuditEvent.objects.get(request=req).message
    assert "Signed by Dana Director, Director of Digital, on 14 February 2026" in message
    assert agreement.signed_copy_sha256 in message
    assert outbox_rows() == [
        (SEND_EMAIL_TASK, {"request_id": req.pk, "kind": "signed", "key": "signed"})
    ]


@pytest.mark.parametrize(
    "missing",
    [
        {"signatory_name": "   "},
        {"signatory_job_title": ""},
        {"signatory_is_director": False},
    ],
)
def test_signed_needs_the_signatory_and_director_confirmation(feedback_user, missing):
    req = FederationRequestFactory(state=State.FPA_SENT)
    agreement = rendered_agreement(req, feedback_user)

    with pytest.raises(ActionRefused) as refusal:
        request_record_signature(request_id=req.pk, actor=feedback_user, **signature(**missing))

    assert "confirming they hold a Director-level role" in str(refusal.value)
    assert_untouched(req, State.FPA_SENT)
    agreement = Agreement.objects.get(pk=agreement.pk)
    assert not agreement.signed_copy
    assert agreement.signatory_name == ""


def test_a_refused_signature_leaves_no_signed_copy_on_disk(feedback_user):
    req = FederationRequestFactory(state=State.FPA_SENT)
    rendered_agreement(req, feedback_user)
    content = pdf_bytes(title=f"Refused signature {uuid.uuid4()}")

    with pytest.raises(ActionRefused):
        request_record_signature(
            request_id=req.pk,
            actor=feedback_user,
            **signature(signed_copy=pdf_upload(content=content), signatory_is_director=False),
        )

    assert signed_copies_holding(content) == []


@pytest.mark.parametrize(
    ("upload", "key_phrase"),
    [
        (SimpleUploadedFile("signed.docx", b"PK\x03\x04 word document"), "must be a PDF;"),
        (SimpleUploadedFile("signed.pdf", b"%PDF-1.7 but not really"), "is incomplete"),
        # Issue 11: the staff's signed-elsewhere path judges links and polyglots as evidence does.
        (
            SimpleUploadedFile("signed.pdf", pdf_with_link(uri(b"(javascript:app.alert(1))"))),
            "a javascript: link",
        ),
        (SimpleUploadedFile("signed.pdf", build_pdf() + small_zip()), "after the PDF's last"),
    ],
)
def test_signed_needs_a_readable_pdf(feedback_user, upload, key_phrase):
    req = FederationRequestFactory(state=State.FPA_SENT)
    rendered_agreement(req, feedback_user)
    with pytest.raises(ActionRefused, match=key_phrase):
        request_record_signature(
            request_id=req.pk, actor=feedback_user, **signature(signed_copy=upload)
        )
    assert_untouched(req, State.FPA_SENT)


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_recording_a_signature_is_refused_without_permission(request, who, feedback_user):
    req = FederationRequestFactory(state=State.FPA_SENT)
    agreement = rendered_agreement(req, feedback_user)
    with pytest.raises(ActionRefused, match="do not have permission to record signed agreements"):
        request_record_signature(
            request_id=req.pk, actor=request.getfixturevalue(who), **signature()
        )
    assert_untouched(req, State.FPA_SENT)
    assert not Agreement.objects.get(pk=agreement.pk).signed_copy


@pytest.mark.parametrize("state", [s for s in State if s != State.FPA_SENT])
def test_recording_a_signature_is_refused_from_any_other_state_naming_it(feedback_user, state):
    req = FederationRequestFactory(state=state)
    agreement = rendered_agreement(req, feedback_user)
    with pytest.raises(ActionRefused) as refusal:
        request_record_signature(request_id=req.pk, actor=feedback_user, **signature())
    assert f"is “{state.label}”; a signed copy is recorded only while" in str(refusal.value)
    assert_untouched(req, state)
    assert not Agreement.objects.get(pk=agreement.pk).signed_copy


# -- evidence_add --------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [State.FPA_SENT, State.SIGNED])
def test_evidence_is_stored_against_a_criterion(feedback_user, state):
    req = FederationRequestFactory(state=state)
    criterion = EvidenceCriterion.objects.get(code="dmarc")
    content = pdf_bytes()

    item = evidence_add(
        request_id=req.pk,
        actor=feedback_user,
        criterion_id=criterion.pk,
        upload=pdf_upload("DMARC record.pdf", content),
        notes="From the trust's IT team.",
    )

    item = EvidenceItem.objects.get(pk=item.pk)
    assert item.status == EvidenceStatus.PENDING
    assert item.criterion == criterion
    assert item.original_filename == "DMARC record.pdf"
    assert item.sha256 == hashlib.sha256(content).hexdigest()
    assert item.file.read() == content
    assert item.uploaded_by == feedback_user
    assert reload(req).state == state
    assert audit_trail(req) == [("evidence.uploaded", "", "", feedback_user)]
    assert "DMARC record.pdf" in AuditEvent.objects.get(request=req).message


@pytest.mark.parametrize("who", [*UNPRIVILEGED, None])
def test_adding_evidence_is_refused_without_permission(request, who):
    actor = request.getfixturevalue(who) if who else None
    req = FederationRequestFactory(state=State.SIGNED)
    with pytest.raises(ActionRefused, match="do not have permission to add evidence"):
        evidence_add(
            request_id=req.pk,
            actor=actor,
            criterion_id=required_criteria()[0].pk,
            upload=pdf_upload(),
        )
    assert_untouched(req, State.SIGNED)
    assert EvidenceItem.objects.count() == 0


@pytest.mark.parametrize("state", [s for s in State if s not in (State.FPA_SENT, State.SIGNED)])
def test_adding_evidence_is_refused_outside_the_signing_stages(feedback_user, state):
    req = FederationRequestFactory(state=state)
    with pytest.raises(ActionRefused) as refusal:
        evidence_add(
            request_id=req.pk,
            actor=feedback_user,
            criterion_id=required_criteria()[0].pk,
            upload=pdf_upload(),
        )
    assert f"request {req.reference} is “{state.label}”" in str(refusal.value)
    assert_untouched(req, state)
    assert EvidenceItem.objects.count() == 0


def test_evidence_must_be_a_pdf(feedback_user):
    req = FederationRequestFactory(state=State.SIGNED)
    with pytest.raises(ActionRefused, match="evidence was not accepted. The file must be a PDF"):
        evidence_add(
            request_id=req.pk,
            actor=feedback_user,
            criterion_id=required_criteria()[0].pk,
            upload=SimpleUploadedFile("dmarc.png", b"\x89PNG\r\n"),
        )
    assert EvidenceItem.objects.count() == 0


# -- evidence_verify and evidence_return ---------------------------------------------------------


def pending_item(req, code: str = "dmarc") -> EvidenceItem:
    return EvidenceItemFactory(request=req, criterion=EvidenceCriterion.objects.get(code=code))


def test_verifying_evidence_marks_the_item_verified(feedback_user):
    req = FederationRequestFactory(state=State.SIGNED)
    item = pending_item(req)

    evidence_verify(item_id=item.pk, actor=feedback_user, notes="p=reject published.")

    item = EvidenceItem.objects.get(pk=item.pk)
    assert item.status == EvidenceStatus.VERIFIED
    assert item.verified_by == feedback_user
    assert item.verified_at is not None
    assert item.notes == "p=reject published."
    assert reload(req).state == State.SIGNED
    assert audit_trail(req) == [("evidence.verified", "", "", feedback_user)]
    assert OutboxMessage.objects.count() == 0


def test_returning_evidence_keeps_the_request_signed_and_says_why(feedback_user):
    req = FederationRequestFactory(state=State.SIGNED)
    item = pending_item(req)

    evidence_return(item_id=item.pk, actor=feedback_user, reason="  The record is p=none.  ")

    item = EvidenceItem.objects.get(pk=item.pk)
    assert item.status == EvidenceStatus.RETURNED
    assert item.returned_reason == "The record is p=none."
    assert item.verified_by is None
    assert reload(req).state == State.SIGNED
    assert audit_trail(req) == [("evidence.returned", "", "", feedback_user)]
    assert "p=none" in AuditEvent.objects.get(request=req).message
    key = f"evidence_returned:{item.pk}"
    assert outbox_rows() == [
        (REQUEST_EMAIL_TASK, {"request_id": req.pk, "kind": "evidence_returned", "key": key})
    ]


def test_returning_evidence_needs_a_reason(feedback_user):
    req = FederationRequestFactory(state=State.SIGNED)
    item = pending_item(req)
    with pytest.raises(ActionRefused, match="Say what is wrong with the evidence"):
        evidence_return(item_id=item.pk, actor=feedback_user, reason="  ")
    assert EvidenceItem.objects.get(pk=item.pk).status == EvidenceStatus.PENDING
    assert_untouched(req, State.SIGNED)


@pytest.mark.parametrize("review", ["verify", "return"])
@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_reviewing_evidence_is_refused_without_permission(request, who, review):
    actor = request.getfixturevalue(who)
    req = FederationRequestFactory(state=State.SIGNED)
    item = pending_item(req)
    with pytest.raises(ActionRefused, match="do not have permission to verify evidence"):
        if review == "verify":
            evidence_verify(item_id=item.pk, actor=actor)
        else:
            evidence_return(item_id=item.pk, actor=actor, reason="Not good enough.")
    assert EvidenceItem.objects.get(pk=item.pk).status == EvidenceStatus.PENDING
    assert_untouched(req, State.SIGNED)


@pytest.mark.parametrize("review", ["verify", "return"])
@pytest.mark.parametrize("state", [s for s in State if s != State.SIGNED])
def test_reviewing_evidence_is_refused_unless_the_request_is_signed(feedback_user, state, review):
    req = FederationRequestFactory(state=state)
    item = pending_item(req)
    with pytest.raises(ActionRefused) as refusal:
        if review == "verify":
            evidence_verify(item_id=item.pk, actor=feedback_user)
        else:
            evidence_return(item_id=item.pk, actor=feedback_user, reason="Not good enough.")
    assert f"is “{state.label}”" in str(refusal.value)
    assert EvidenceItem.objects.get(pk=item.pk).status == EvidenceStatus.PENDING
    assert_untouched(req, state)


@pytest.mark.parametrize("status", [EvidenceStatus.VERIFIED, EvidenceStatus.RETURNED])
def test_evidence_already_reviewed_is_not_reviewed_again(feedback_user, status):
    req = FederationRequestFactory(state=State.SIGNED)
    item = EvidenceItemFactory(request=req, status=status)
    with pytest.raises(ActionRefused) as refusal:
        evidence_verify(item_id=item.pk, actor=feedback_user)
    assert f"is already {status.label.lower()}" in str(refusal.value)
    assert EvidenceItem.objects.get(pk=item.pk).status == status
    assert_untouched(req, State.SIGNED)


# -- request_verify_evidence ---------------------------------------------------------------------


def verify_all_required(req, *, except_code: str | None = None) -> None:
    for criterion in required_criteria():
        if criterion.code != except_code:
            EvidenceItemFactory(request=req, criterion=criterion, status=EvidenceStatus.VERIFIED)


def test_evidence_verified_when_every_required_criterion_is_verified(feedback_user):
    req = FederationRequestFactory(state=State.SIGNED)
    verify_all_required(req)  # the optional ODS code criterion is not needed

    request_verify_evidence(request_id=req.pk, actor=feedback_user)

    req = reload(req)
    assert req.state == State.EVIDENCE_VERIFIED
    assert req.evidence_verified_by == feedback_user
    assert req.evidence_verified_at is not None
    assert audit_trail(req) == [
        ("request.evidence_verified", State.SIGNED, State.EVIDENCE_VERIFIED, feedback_user)
    ]


@pytest.mark.parametrize(
    "unverified_status", [None, EvidenceStatus.PENDING, EvidenceStatus.RETURNED]
)
def test_evidence_verified_is_refused_naming_each_missing_criterion(
    feedback_user, unverified_status
):
    req = FederationRequestFactory(state=State.SIGNED)
    verify_all_required(req, except_code="tls")
    tls = EvidenceCriterion.objects.get(code="tls")
    if unverified_status:
        EvidenceItemFactory(request=req, criterion=tls, status=unverified_status)
    # Verified evidence for another request does not count for this one.
    EvidenceItemFactory(criterion=tls, status=EvidenceStatus.VERIFIED)

    with pytest.raises(ActionRefused) as refusal:
        request_verify_evidence(request_id=req.pk, actor=feedback_user)

    assert str(refusal.value) == f"Evidence is not yet verified for: {tls.title}."
    assert_untouched(req, State.SIGNED)


def test_evidence_verified_is_refused_with_no_evidence_listing_all_required(feedback_user):
    req = FederationRequestFactory(state=State.SIGNED)
    with pytest.raises(ActionRefused) as refusal:
        request_verify_evidence(request_id=req.pk, actor=feedback_user)
    message = str(refusal.value)
    for criterion in required_criteria():
        assert criterion.title in message
    assert "An active ODS code" not in message
    assert_untouched(req, State.SIGNED)


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_evidence_verified_is_refused_without_permission(request, who):
    req = FederationRequestFactory(state=State.SIGNED)
    verify_all_required(req)
    with pytest.raises(ActionRefused, match="do not have permission to verify evidence"):
        request_verify_evidence(request_id=req.pk, actor=request.getfixturevalue(who))
    assert_untouched(req, State.SIGNED)


@pytest.mark.parametrize("state", [s for s in State if s != State.SIGNED])
def test_evidence_verified_is_refused_from_any_other_state_naming_it(feedback_user, state):
    req = FederationRequestFactory(state=state)
    verify_all_required(req)
    with pytest.raises(ActionRefused) as refusal:
        request_verify_evidence(request_id=req.pk, actor=feedback_user)
    assert f"is now “{state.label}”, so it cannot be marked as evidence verified" in str(
        refusal.value
    )
    assert_untouched(req, state)


# -- the whole lifecycle through the services ----------------------------------------------------


def test_a_request_goes_from_review_to_the_allow_list_through_the_services(feedback_user):
    req = FederationRequestFactory(domains=["partner.example.org.uk"])
    request_review(request_id=req.pk, actor=feedback_user, notes="Checked.")
    agreement = agreement_issue(request_id=req.pk, actor=feedback_user)
    agreement_render(agreement_id=agreement.pk)
    request_record_signature(request_id=req.pk, actor=feedback_user, **signature())
    for criterion in required_criteria():
        item = evidence_add(
            request_id=req.pk, actor=feedback_user, criterion_id=criterion.pk, upload=pdf_upload()
        )
        evidence_verify(item_id=item.pk, actor=feedback_user)
    request_verify_evidence(request_id=req.pk, actor=feedback_user)
    # Four eyes: the verifier may not federate; another member of the team does.
    with pytest.raises(ActionRefused, match="someone else in the Feedback team must federate"):
        request_federate(request_id=req.pk, actor=feedback_user)
    assert reload(req).state == State.EVIDENCE_VERIFIED
    colleague = UserFactory(username="fred.federator", groups=["Feedback team"])
    request_federate(request_id=req.pk, actor=colleague)

    assert reload(req).state == State.FEDERATED
    assert list(AllowListEntry.objects.values_list("domain", flat=True)) == [
        "partner.example.org.uk"
    ]
    transitions = [
        (from_state, to_state) for _, from_state, to_state, _ in audit_trail(req) if to_state
    ]
    assert transitions == [
        (State.SUBMITTED, State.REVIEWED),
        (State.REVIEWED, State.FPA_SENT),
        (State.FPA_SENT, State.SIGNED),
        (State.SIGNED, State.EVIDENCE_VERIFIED),
        (State.EVIDENCE_VERIFIED, State.FEDERATED),
    ]


@pytest.mark.parametrize("verified", ["one item", "the request"])
def test_whoever_verified_evidence_may_not_federate(feedback_user, verified):
    req = FederationRequestFactory(state=State.EVIDENCE_VERIFIED)
    colleague = UserFactory(username="vera.verifier", groups=["Feedback team"])
    if verified == "one item":
        EvidenceItemFactory(request=req, status="verified", verified_by=feedback_user)
    else:
        FederationRequest.objects.filter(pk=req.pk).update(evidence_verified_by=feedback_user)

    with pytest.raises(ActionRefused, match="four eyes"):
        request_federate(request_id=req.pk, actor=feedback_user)

    assert reload(req).state == State.EVIDENCE_VERIFIED
    assert not AllowListEntry.objects.exists()
    request_federate(request_id=req.pk, actor=colleague)
    assert reload(req).state == State.FEDERATED


def test_a_signatory_with_an_email_address_becomes_the_requests_signatory_contact(
    feedback_user,
):
    req = FederationRequestFactory(state=State.FPA_SENT)
    agreement = AgreementFactory(request=req, requested_by=feedback_user)
    agreement_render(agreement_id=agreement.pk)

    request_record_signature(
        request_id=req.pk, actor=feedback_user, **signature(signatory_email="Dana@Partner.example")
    )

    signatory = req.contacts.get(role="signatory")
    assert (signatory.name, signatory.email) == ("Dana Director", "dana@partner.example")
    assert signatory.job_title == "Director of Digital"
    assert AuditEvent.objects.filter(request=req, action="contact.added").exists()
