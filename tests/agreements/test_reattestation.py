"""The annual re-attestation with frozen time: the notice REATTESTATION_NOTICE_DAYS before the
term ends, reminders every REATTESTATION_REMINDER_DAYS, the SPOC's answer, the signatory's
confirmation, staff verification renewing the term; and the no-answer path to the list for
suspension. On PostgreSQL (the constraints and row locks are the database's)."""

import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from pypdf import PdfWriter

from agreements import tasks
from agreements.emails import send_reattestation_email
from agreements.models import (
    CriterionAnswer,
    EvidenceCriterion,
    EvidenceItem,
    EvidenceStatus,
    Reattestation,
    ReattestationStatus,
)
from agreements.selectors import (
    add_months,
    current_term_end,
    reattestations_answered,
    reattestations_due,
    reattestations_overdue,
)
from agreements.services import evidence, reattestation
from agreements.services.reattestation import REATTESTATION_EMAIL_TASK
from federation_portal.celery import app
from portal_kit.errors import ActionRefused
from requests_app.models import AuditEvent, Contact, ContactRole, OutboxMessage, State
from requests_app.services import lifecycle, suspension
from tests.accounts.helpers import sign_in
from tests.factories import FederationRequestFactory, complete_check_run, request_in
from tests.helpers import reload

pytestmark = pytest.mark.django_db

FEDERATED_ON = date(2027, 1, 15)
TERM_ENDS = date(2028, 1, 15)  # AGREEMENT_TERM_MONTHS (12) after the effective date
NOTICE_ON = date(2027, 12, 16)  # REATTESTATION_NOTICE_DAYS (30) before it ends


def at(day: date, hour: int = 8):
    """Freeze the clock on day, at hour UTC (winter: the same day in London)."""
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=UTC), tick=False)


def pdf(name: str = "dmarc-report.pdf") -> SimpleUploadedFile:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def queued(kind: str) -> list[dict]:
    rows = OutboxMessage.objects.filter(task_name=REATTESTATION_EMAIL_TASK).order_by("pk")
    return [row.kwargs for row in rows if row.kwargs["kind"] == kind]


def trail_since(req, first_pk: int) -> list[tuple[str, str]]:
    return [
        (event.action, event.actor_label)
        for event in AuditEvent.objects.filter(request_id=req.pk, pk__gt=first_pk).order_by("pk")
    ]


def last_event_pk() -> int:
    event = AuditEvent.objects.order_by("-pk").first()
    return event.pk if event else 0


@pytest.fixture
def req(feedback_user):
    """A request federated on FEDERATED_ON through the service, with a named signatory."""
    with at(FEDERATED_ON):
        request = request_in(State.EVIDENCE_VERIFIED, feedback_user)
        Contact.objects.create(
            request=request,
            role=ContactRole.SIGNATORY,
            name="Dana Director",
            job_title="Director of Digital",
            email=f"signatory{request.pk}@partner.example",
        )
        lifecycle.request_federate(request_id=request.pk, actor=feedback_user)
    return reload(request)


def email_of(req, role: str) -> str:
    return req.contacts.get(role=role, removed_at__isnull=True).email


def daily(day: date, hour: int = 8) -> dict:
    with at(day, hour):
        return reattestation.reattestation_daily()


# -- the term and the notice ------------------------------------------------------------------


def test_the_term_runs_from_the_effective_date_and_months_end_clamps():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 11, 30), 12) == date(2028, 11, 30)
    assert add_months(date(2027, 12, 15), 1) == date(2028, 1, 15)


def test_the_notice_opens_exactly_notice_days_before_the_term_ends_and_emails(req, mailoutbox):
    assert current_term_end(req) == TERM_ENDS

    assert daily(date(2027, 12, 15))["opened"] == 0  # 31 days before
    assert not Reattestation.objects.exists()

    first = last_event_pk()
    assert daily(NOTICE_ON)["opened"] == 1
    assert daily(NOTICE_ON, hour=18)["opened"] == 0  # the job again the same day: still one

    opened = Reattestation.objects.get()
    assert (opened.request, opened.term_ends_on, opened.status) == (
        req,
        TERM_ENDS,
        ReattestationStatus.OPEN,
    )
    assert trail_since(req, first) == [("reattestation.opened", "system")]
    (job,) = queued("notice")
    with at(NOTICE_ON):
        assert tasks.reattestation_email(**job) is True
        assert tasks.reattestation_email(**job) is False  # sent once
    (message,) = mailoutbox
    assert sorted(message.to) == sorted(
        [email_of(req, ContactRole.SPOC), email_of(req, ContactRole.SIGNATORY)]
    )
    assert req.requester_email not in message.to
    assert (
        message.subject == f"Please re-attest the agreement for {req.reference} by 15 January 2028"
    )
    assert reverse("portal:reattestation", args=[req.reference]) in message.body
    assert (
        "Minimum DMARC" in message.body or EvidenceCriterion.objects.first().title in message.body
    )


def test_the_database_holds_one_open_reattestation_per_request(req):
    Reattestation.objects.create(request=req, term_ends_on=TERM_ENDS)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reattestation.objects.create(request=req, term_ends_on=date(2029, 1, 15))


def test_no_notice_for_a_request_no_longer_federated(req, feedback_user):
    with at(date(2027, 6, 1)):
        suspension.request_suspend(request_id=req.pk, actor=feedback_user, reason="DMARC p=none.")

    assert daily(NOTICE_ON)["opened"] == 0
    assert not Reattestation.objects.exists()


# -- reminders --------------------------------------------------------------------------------


def test_reminders_every_reminder_days_until_answered_and_only_while_federated(
    req, feedback_user, mailoutbox
):
    daily(NOTICE_ON)
    days = settings.REATTESTATION_REMINDER_DAYS
    assert daily(NOTICE_ON + timedelta(days=days - 1))["reminders"] == 0
    assert daily(NOTICE_ON + timedelta(days=days))["reminders"] == 1
    assert daily(NOTICE_ON + timedelta(days=days), hour=18)["reminders"] == 0  # once per period
    assert daily(NOTICE_ON + timedelta(days=2 * days))["reminders"] == 1

    assert [job["key"] for job in queued("reminder")] == [
        f"reattestation:{Reattestation.objects.get().pk}:reminder:1",
        f"reattestation:{Reattestation.objects.get().pk}:reminder:2",
    ]
    with at(date(2027, 12, 30)):
        assert tasks.reattestation_email(**queued("reminder")[0]) is True
    (message,) = mailoutbox
    assert message.subject.startswith(
        f"Reminder: please re-attest the agreement for {req.reference}"
    )

    # Suspended meanwhile: no reminder is queued, and one queued before is not sent.
    with at(date(2028, 1, 2)):
        suspension.request_suspend(request_id=req.pk, actor=feedback_user, reason="Checks failed.")
        assert tasks.reattestation_email(**queued("reminder")[1]) is False
    assert daily(NOTICE_ON + timedelta(days=3 * days))["reminders"] == 0
    assert len(queued("reminder")) == 2
    assert len(mailoutbox) == 1


def test_no_reminder_once_the_signatory_has_confirmed(req):
    daily(NOTICE_ON)
    current = Reattestation.objects.get()
    Reattestation.objects.filter(pk=current.pk).update(status=ReattestationStatus.CONFIRMED)

    assert daily(date(2027, 12, 30))["reminders"] == 0


# -- the answer, the confirmation, the verification -------------------------------------------


def answer_data(changed: EvidenceCriterion | None = None) -> dict:
    data = {"contacts_confirmed": "on"}
    for criterion in EvidenceCriterion.objects.all():
        is_changed = changed is not None and criterion.pk == changed.pk
        data[f"answer_{criterion.pk}"] = (
            CriterionAnswer.CHANGED if is_changed else CriterionAnswer.STILL_MET
        )
        if is_changed:
            data[f"file_{criterion.pk}"] = pdf()
    return data


def test_answer_confirmation_and_verification_renew_the_term(
    req, client, feedback_user, mailoutbox
):
    daily(NOTICE_ON)
    current = Reattestation.objects.get()
    page = reverse("portal:reattestation", args=[req.reference])
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    first = last_event_pk()

    with at(date(2027, 12, 20)):
        sign_in(client, email_of(req, ContactRole.SPOC))
        request_page = client.get(reverse("portal:request", args=[req.reference])).content.decode()
        assert page in request_page  # the task list links to it
        assert "Re-attest the agreement (term ending 15 January 2028)" in request_page
        form = client.get(page).content.decode()
        assert "Send the answer to the signatory" in form
        assert f'href="{reverse("portal:request", args=[req.reference])}#contacts"' in form
        refused = client.post(page, {"contacts_confirmed": "on"})  # no criterion answered
        assert "Say whether “" in refused.content.decode()
        response = client.post(page, answer_data(changed=dmarc))
        assert response.status_code == 302
        assert reload(req).state == State.FEDERATED

    current.refresh_from_db()
    assert current.status == ReattestationStatus.ANSWERED
    assert current.answered_by_email == email_of(req, ContactRole.SPOC)
    changed = current.answers.get(criterion=dmarc)
    assert changed.answer == CriterionAnswer.CHANGED
    assert changed.evidence.status == EvidenceStatus.PENDING  # awaits staff, as any evidence
    assert current.answers.filter(answer=CriterionAnswer.STILL_MET).count() == (
        EvidenceCriterion.objects.count() - 1
    )

    with at(date(2027, 12, 21)):
        client.logout()
        sign_in(client, email_of(req, ContactRole.SIGNATORY))
        shown = client.get(page).content.decode()
        assert "I confirm, as signatory" in shown
        assert client.post(page, {"confirmed": "on"}).status_code == 302

    current.refresh_from_db()
    assert current.status == ReattestationStatus.CONFIRMED
    assert current.signatory_name == "Dana Director"
    assert list(reattestations_answered()) == [current]

    with at(date(2027, 12, 22)):
        with pytest.raises(ActionRefused, match="Verify the new evidence first"):
            reattestation.reattestation_verify(reattestation_id=current.pk, actor=feedback_user)
        evidence.evidence_verify(item_id=changed.evidence.pk, actor=feedback_user)
        reattestation.reattestation_verify(reattestation_id=current.pk, actor=feedback_user)

    current.refresh_from_db()
    assert current.status == ReattestationStatus.VERIFIED
    assert current.renewed_until == date(2029, 1, 15)  # one term on from the old end
    assert current_term_end(req) == date(2029, 1, 15)
    spoc, signatory = email_of(req, ContactRole.SPOC), email_of(req, ContactRole.SIGNATORY)
    assert trail_since(req, first) == [
        ("evidence.uploaded", spoc),
        ("reattestation.answered", spoc),
        ("reattestation.confirmed", signatory),
        ("evidence.verified", "fiona.feedback"),
        ("reattestation.verified", "fiona.feedback"),
    ]
    verified = AuditEvent.objects.get(request=req, action="reattestation.verified")
    assert verified.message == (
        "Re-attestation verified; the term that ended on 15 January 2028 is renewed until "
        "15 January 2029."
    )
    (renewed,) = queued("renewed")
    with at(date(2027, 12, 22)):
        tasks.reattestation_email(**renewed)
    assert mailoutbox[-1].subject == (
        f"The agreement for {req.reference} is renewed until 15 January 2029"
    )

    # The next term's notice: 30 days before the renewed end, and not before.
    assert daily(date(2028, 12, 15))["opened"] == 0
    assert daily(date(2028, 12, 16))["opened"] == 1
    assert Reattestation.objects.get(status=ReattestationStatus.OPEN).term_ends_on == date(
        2029, 1, 15
    )


def test_staff_return_it_with_a_reason_and_the_spoc_answers_again(req, feedback_user):
    daily(NOTICE_ON)
    current = Reattestation.objects.get()
    answers = {c.pk: CriterionAnswer.STILL_MET for c in EvidenceCriterion.objects.all()}
    spoc = email_of(req, ContactRole.SPOC)
    with at(date(2027, 12, 20)):
        reattestation.reattestation_answer(
            reattestation_id=current.pk, actor_email=spoc, contacts_confirmed=True, answers=answers
        )
        reattestation.reattestation_return(
            reattestation_id=current.pk, actor=feedback_user, reason="The SPOC has left."
        )

    current.refresh_from_db()
    assert (current.status, current.returned_reason) == (
        ReattestationStatus.OPEN,
        "The SPOC has left.",
    )
    (returned,) = queued("returned")
    assert returned["reattestation_id"] == current.pk
    with at(date(2027, 12, 21)):
        reattestation.reattestation_answer(
            reattestation_id=current.pk, actor_email=spoc, contacts_confirmed=True, answers=answers
        )
    assert reload_status(current) == ReattestationStatus.ANSWERED


def reload_status(current) -> str:
    return Reattestation.objects.get(pk=current.pk).status


# -- the no-answer path -----------------------------------------------------------------------


def test_no_answer_by_the_term_end_lists_it_for_suspension_and_suspends_nothing(
    req, client, feedback_user
):
    daily(NOTICE_ON)
    current = Reattestation.objects.get()
    with at(date(2028, 1, 14)):
        assert list(reattestations_due()) == [current]
        assert list(reattestations_overdue()) == []
    assert daily(date(2028, 1, 14))["overdue"] == 0

    first = last_event_pk()
    # The list judges the date itself, before the job has marked anything.
    with at(date(2028, 1, 15)):
        assert list(reattestations_overdue()) == [current]
        assert list(reattestations_due()) == []
    assert daily(date(2028, 1, 15))["overdue"] == 1
    assert daily(date(2028, 1, 16))["overdue"] == 0  # marked once

    assert reload(req).state == State.FEDERATED  # staff decide
    current.refresh_from_db()
    assert current.overdue_at is not None
    assert [action for action, _ in trail_since(req, first)] == ["reattestation.overdue"]

    with at(date(2028, 1, 16)):
        client.force_login(feedback_user)
        changelist = reverse("admin:agreements_reattestation_changelist")
        page = client.get(changelist).content.decode()
        assert "0 due: waiting for the organisation&#x27;s answer" in page
        assert "1 overdue: the term ended unanswered (for suspension)" in page
        listed = client.get(changelist + "?campaign=overdue").content.decode()
        assert req.reference in listed
        assert req.reference not in client.get(changelist + "?campaign=due").content.decode()


def test_a_late_answer_is_taken_and_leaves_the_list_once_the_signatory_confirms(req):
    daily(NOTICE_ON)
    daily(date(2028, 1, 20))
    current = Reattestation.objects.get()
    answers = {c.pk: CriterionAnswer.STILL_MET for c in EvidenceCriterion.objects.all()}
    with at(date(2028, 1, 21)):
        reattestation.reattestation_answer(
            reattestation_id=current.pk,
            actor_email=email_of(req, ContactRole.SPOC),
            contacts_confirmed=True,
            answers=answers,
        )
        assert list(reattestations_overdue()) == [current]  # the signatory has not confirmed
        reattestation.reattestation_confirm(
            reattestation_id=current.pk,
            actor_email=email_of(req, ContactRole.SIGNATORY),
            confirmed=True,
        )
        assert list(reattestations_overdue()) == []
        assert list(reattestations_answered()) == [reload_reattestation(current)]
    answered = AuditEvent.objects.get(request=req, action="reattestation.answered")
    assert answered.message.endswith("After the term ended.")


def reload_reattestation(current):
    return Reattestation.objects.get(pk=current.pk)


# -- who may do what --------------------------------------------------------------------------


def test_only_the_signatory_confirms_and_only_the_spoc_answers(req, client):
    daily(NOTICE_ON)
    current = Reattestation.objects.get()
    answers = {c.pk: CriterionAnswer.STILL_MET for c in EvidenceCriterion.objects.all()}
    technical = email_of(req, ContactRole.TECHNICAL)
    with at(date(2027, 12, 20)):
        with pytest.raises(ActionRefused, match="Only the request's SPOC can answer"):
            reattestation.reattestation_answer(
                reattestation_id=current.pk,
                actor_email=technical,
                contacts_confirmed=True,
                answers=answers,
            )
        reattestation.reattestation_answer(
            reattestation_id=current.pk,
            actor_email=email_of(req, ContactRole.SPOC),
            contacts_confirmed=True,
            answers=answers,
        )
        with pytest.raises(ActionRefused, match="Only the request's signatory can confirm"):
            reattestation.reattestation_confirm(
                reattestation_id=current.pk, actor_email=technical, confirmed=True
            )
        with pytest.raises(ActionRefused, match="Only the request's signatory can confirm"):
            reattestation.reattestation_confirm(
                reattestation_id=current.pk,
                actor_email=email_of(req, ContactRole.SPOC),
                confirmed=True,
            )
        # Through the page: the technical contact sees no confirmation, and a post changes nothing.
        sign_in(client, technical)
        page = reverse("portal:reattestation", args=[req.reference])
        assert "I confirm, as signatory" not in client.get(page).content.decode()
        client.post(page, {"confirmed": "on"})
    assert reload_status(current) == ReattestationStatus.ANSWERED
    assert not AuditEvent.objects.filter(action="reattestation.confirmed").exists()


def test_another_organisations_request_is_a_404(req, client):
    daily(NOTICE_ON)
    other = FederationRequestFactory(state=State.SUBMITTED)
    with at(date(2027, 12, 20)):
        sign_in(client, email_of(other, ContactRole.SPOC))
        page = reverse("portal:reattestation", args=[req.reference])
        assert client.get(page).status_code == 404
        assert client.post(page, answer_data()).status_code == 404
    assert reload_status(Reattestation.objects.get()) == ReattestationStatus.OPEN


def test_staff_without_the_permission_may_not_verify(req, service_desk_user, feedback_user):
    daily(NOTICE_ON)
    current = Reattestation.objects.get()
    Reattestation.objects.filter(pk=current.pk).update(status=ReattestationStatus.CONFIRMED)

    with pytest.raises(ActionRefused, match="permission to verify re-attestations"):
        reattestation.reattestation_verify(reattestation_id=current.pk, actor=service_desk_user)
    with pytest.raises(ActionRefused, match="permission"):
        reattestation.reattestation_return(
            reattestation_id=current.pk, actor=service_desk_user, reason="No."
        )
    assert reload_status(current) == ReattestationStatus.CONFIRMED


def test_a_changed_criterion_needs_new_evidence_and_its_file_is_judged(req):
    daily(NOTICE_ON)
    current = Reattestation.objects.get()
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    answers = {c.pk: CriterionAnswer.STILL_MET for c in EvidenceCriterion.objects.all()}
    answers[dmarc.pk] = CriterionAnswer.CHANGED
    spoc = email_of(req, ContactRole.SPOC)
    with pytest.raises(ActionRefused, match="Upload the new evidence"):
        reattestation.reattestation_answer(
            reattestation_id=current.pk, actor_email=spoc, contacts_confirmed=True, answers=answers
        )
    hostile = SimpleUploadedFile("report.pdf", b"MZ\x90\x00 a renamed program")
    with pytest.raises(ActionRefused, match="not accepted"):
        reattestation.reattestation_answer(
            reattestation_id=current.pk,
            actor_email=spoc,
            contacts_confirmed=True,
            answers=answers,
            uploads={dmarc.pk: hostile},
        )
    assert reload_status(current) == ReattestationStatus.OPEN
    assert not EvidenceItem.objects.filter(request=req, status=EvidenceStatus.PENDING).exists()


def test_reinstatement_does_not_restart_the_term(req, feedback_user):
    with at(date(2027, 6, 1)):
        suspension.request_suspend(request_id=req.pk, actor=feedback_user, reason="DMARC p=none.")
    with at(date(2027, 6, 10)):
        complete_check_run(req)
        suspension.request_reinstate(request_id=req.pk, actor=feedback_user, reason="Fixed.")
    assert reload(req).effective_date == date(2027, 6, 10)
    assert current_term_end(reload(req)) == TERM_ENDS


def test_the_job_runs_daily_on_the_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["reattestation-daily"]
    assert entry["task"] == tasks.reattestation_daily.name
    assert entry["task"] in app.tasks


def test_a_notice_queued_for_a_request_suspended_since_is_not_sent(req, feedback_user, mailoutbox):
    daily(NOTICE_ON)
    (job,) = queued("notice")
    with at(date(2027, 12, 17)):
        suspension.request_suspend(request_id=req.pk, actor=feedback_user, reason="Checks failed.")
        assert send_reattestation_email(**job) is False
    assert mailoutbox == []


# -- the workbench ----------------------------------------------------------------------------


def test_staff_verify_and_return_from_the_reattestation_page(req, client, feedback_user):
    daily(NOTICE_ON)
    current = Reattestation.objects.get()
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    answers = {c.pk: CriterionAnswer.STILL_MET for c in EvidenceCriterion.objects.all()}
    answers[dmarc.pk] = CriterionAnswer.CHANGED
    with at(date(2027, 12, 20)):
        reattestation.reattestation_answer(
            reattestation_id=current.pk,
            actor_email=email_of(req, ContactRole.SPOC),
            contacts_confirmed=True,
            answers=answers,
            uploads={dmarc.pk: pdf()},
        )
        reattestation.reattestation_confirm(
            reattestation_id=current.pk,
            actor_email=email_of(req, ContactRole.SIGNATORY),
            confirmed=True,
        )
        client.force_login(feedback_user)
        # The new evidence is reviewed on the federated request's page, as any evidence.
        item = current.answers.get(criterion=dmarc).evidence
        request_page = client.get(
            reverse("admin:requests_app_federationrequest_change", args=[req.pk])
        ).content.decode()
        verify_item = reverse(
            "admin:requests_app_federationrequest_evidence", args=[req.pk, item.pk, "verify"]
        )
        assert verify_item in request_page
        page = client.get(
            reverse("admin:agreements_reattestation_change", args=[current.pk])
        ).content.decode()
        assert "Verify and renew the term" in page and "Return with a reason" in page
        decide = reverse("admin:agreements_reattestation_decide", args=[current.pk, "verify"])
        refused = client.post(decide, follow=True).content.decode()
        assert "Verify the new evidence first" in refused
        client.post(verify_item)
        done = client.post(decide, follow=True).content.decode()
        assert "the agreement is renewed until 15 January 2029" in done
    assert reload_status(current) == ReattestationStatus.VERIFIED

    daily(date(2028, 12, 16))
    following = Reattestation.objects.get(status=ReattestationStatus.OPEN)
    with at(date(2028, 12, 20)):
        reattestation.reattestation_answer(
            reattestation_id=following.pk,
            actor_email=email_of(req, ContactRole.SPOC),
            contacts_confirmed=True,
            answers={c.pk: CriterionAnswer.STILL_MET for c in EvidenceCriterion.objects.all()},
        )
        client.force_login(feedback_user)
        give_back = reverse("admin:agreements_reattestation_decide", args=[following.pk, "return"])
        assert client.post(give_back, {"reason": ""}).status_code == 200  # the reason is asked
        client.post(give_back, {"reason": "Name your new signatory first."})
    following.refresh_from_db()
    assert (following.status, following.returned_reason) == (
        ReattestationStatus.OPEN,
        "Name your new signatory first.",
    )
