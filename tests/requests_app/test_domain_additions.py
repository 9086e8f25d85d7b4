"""Adding a domain to a federated request: the SPOC asks (the domain is held and checked),
staff approve (an amended agreement) or refuse; signing it puts the domain on the allow list and
the change set adds exactly it; a suspension or offboarding cancels an open ask; an amended
agreement left unsigned expires. The request stays federated throughout."""

import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from agreements.emails import send_amendment_email
from agreements.models import Agreement
from agreements.pdf import agreement_domains
from agreements.selectors import amendment_out_for_signature, current_agreement
from agreements.services.agreements import agreement_render
from agreements.services.amendments import amendment_record_signature, domain_addition_approve
from agreements.services.reminders import agreement_reminders
from portal_kit.errors import ActionRefused, AnswerNeeded
from requests_app.emails import send_domain_addition_email
from requests_app.models import (
    AdditionState,
    AllowListEntry,
    AuditEvent,
    CheckRun,
    CheckRunPurpose,
    ContactRole,
    DomainAddition,
    OutboxMessage,
    RemediationCase,
    State,
)
from requests_app.selectors import allow_list_change_set, allow_list_rows
from requests_app.services.allow_list import (
    allow_list_change_set_applied,
    allow_list_change_set_export,
)
from requests_app.services.check_runs import check_run_record, check_run_start
from requests_app.services.domain_additions import (
    ADDITION_EMAIL_TASK,
    domain_addition_refuse,
    domain_addition_request,
    domain_additions_expire,
)
from requests_app.services.domain_changes import domain_remove, domain_remove_by_contact
from requests_app.services.lifecycle import request_federate
from requests_app.services.suspension import request_suspend
from tests.factories import FederationRequestFactory, UserFactory, blank_pdf, request_in
from tests.helpers import reload, submit_lakeside_care

pytestmark = pytest.mark.django_db

KEPT = "harbourside.example.org.uk"
NEW = "harbourside-new.example.org.uk"


@pytest.fixture
def federated(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=[KEPT])
    request_federate(request_id=req.pk, actor=feedback_user)
    return reload(req)


@pytest.fixture
def sender(db):
    """Another member of the team, who sends agreements."""
    return UserFactory(username="sasha.sender", groups=["Feedback team"])


def spoc_email(req) -> str:
    return req.contacts.get(role=ContactRole.SPOC, removed_at__isnull=True).email


def ask(req, name=NEW):
    return domain_addition_request(request_id=req.pk, actor_email=spoc_email(req), domain=name)


def finish_checks(addition, verdict="pass"):
    run = addition.check_run
    for name in run.names:
        report = {
            "domain": name,
            "checked_at": timezone.now().isoformat(),
            "verdict": verdict,
            "checks": [{"id": "dmarc", "status": verdict, "summary": f"DMARC: {verdict}"}],
        }
        check_run_record(run_id=run.pk, domain=name, report_dict=report)


def addition_rows(req) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(request=req, action__startswith="domain.")
        .order_by("pk")
        .values_list(
            "action", "from_state", "to_state", "actor__username", "actor_label", "message"
        )
    )


def approved(req, feedback_user):
    addition = ask(req)
    finish_checks(addition)
    agreement = domain_addition_approve(
        addition_id=addition.pk, actor=feedback_user, notes="DMARC and SPF pass."
    )
    agreement_render(agreement_id=agreement.pk)  # WeasyPrint, then sent
    return DomainAddition.objects.get(pk=addition.pk), Agreement.objects.get(pk=agreement.pk)


def pdf_text(agreement) -> str:
    with agreement.pdf.open("rb") as handle:
        content = handle.read()
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


def record_applied(actor):
    export = allow_list_change_set_export(fmt="csv", actor=actor)
    return allow_list_change_set_applied(fmt="csv", sha256=export.sha256, actor=actor)


def record_signed(addition, actor, **overrides):
    return amendment_record_signature(
        addition_id=addition.pk,
        actor=actor,
        signed_copy=SimpleUploadedFile("signed.pdf", blank_pdf(2), "application/pdf"),
        signatory_name="Dana Director",
        signatory_job_title="Director of Digital",
        signed_on=timezone.localdate(),
        signatory_is_director=True,
        matches_issued=True,
        **overrides,
    )


# -- asking -------------------------------------------------------------------------------------


def test_the_spoc_asks_the_domain_is_held_and_checked_not_listed(federated):
    spoc = spoc_email(federated)

    addition = domain_addition_request(
        request_id=federated.pk,
        actor_email=spoc.upper(),
        domain="  Harbourside-New.Example.org.uk ",
    )

    assert addition.state == AdditionState.REQUESTED
    held = addition.domain
    assert (held.name, held.is_live, held.pending_addition) == (NEW, True, True)
    assert [d.name for d in federated.domains.kept()] == [KEPT]  # not covered yet
    assert not AllowListEntry.objects.filter(domain=NEW).exists()
    assert [r.domain for r in allow_list_rows()] == [KEPT]
    assert reload(federated).state == State.FEDERATED
    run = CheckRun.objects.get(pk=addition.check_run_id)
    assert (run.purpose, run.names) == (CheckRunPurpose.ADDITION, [NEW, KEPT])
    assert addition_rows(federated) == [
        (
            "domain.addition_requested",
            "",
            "",
            None,
            spoc.lower(),
            f"{NEW} asked to be added; its domain checks are queued.",
        )
    ]
    assert {"addition_id": addition.pk, "kind": "requested"} in list(
        OutboxMessage.objects.filter(task_name=ADDITION_EMAIL_TASK).values_list("kwargs", flat=True)
    )


def test_the_held_domain_is_refused_to_another_request_in_the_public_forms_words(federated):
    ask(federated)

    with pytest.raises(ActionRefused) as refused:
        submit_lakeside_care(domains=[NEW])

    assert f"“{NEW}” is already in another request that is still open." in str(refused.value)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        (KEPT, "is already one of this request's domains"),
        ("nhs.net", "is NHSmail itself"),
        ("*.example.org.uk", "is a wildcard"),
        ("someone@example.org.uk", "contains an @"),
        ("co.uk", "is a public suffix"),
    ],
)
def test_a_domain_the_public_form_would_refuse_is_refused(federated, typed, says):
    with pytest.raises(ActionRefused, match=says):
        ask(federated, typed)
    assert not DomainAddition.objects.exists()
    assert addition_rows(federated) == []


def test_a_domain_live_on_another_request_is_refused_with_the_same_sentence(federated):
    FederationRequestFactory(state=State.SUBMITTED, domains=[NEW])

    with pytest.raises(ActionRefused) as refused:
        ask(federated)

    assert f"“{NEW}” is already in another request that is still open." in str(refused.value)


def test_a_second_ask_waits_for_the_first(federated):
    ask(federated)

    with pytest.raises(ActionRefused, match=f"{NEW} is being added already"):
        ask(federated, "another.example.org.uk")
    with pytest.raises(ActionRefused, match=f"{NEW} is being added already"):
        ask(federated)  # the same domain asked twice
    assert DomainAddition.objects.count() == 1


def test_only_the_spoc_may_ask(federated):
    technical = federated.contacts.get(role=ContactRole.TECHNICAL).email
    with pytest.raises(ActionRefused, match="Only the request's SPOC can add a domain"):
        domain_addition_request(request_id=federated.pk, actor_email=technical, domain=NEW)
    with pytest.raises(ActionRefused, match="That request does not exist"):
        domain_addition_request(
            request_id=federated.pk, actor_email="stranger@elsewhere.example", domain=NEW
        )
    assert addition_rows(federated) == []


@pytest.mark.parametrize("state", [State.SUSPENDED, State.SIGNED, State.REVOKED])
def test_no_ask_unless_federated(feedback_user, state):
    req = request_in(state, feedback_user, domains=[KEPT])
    with pytest.raises(ActionRefused, match="only while the agreement is in force"):
        ask(req)
    assert not DomainAddition.objects.exists()


# -- staff review ---------------------------------------------------------------------------------


def test_staff_refuse_with_a_reason_and_the_domain_is_let_go(federated, feedback_user):
    addition = ask(federated)

    domain_addition_refuse(addition_id=addition.pk, actor=feedback_user, reason="Not yours.")

    addition = DomainAddition.objects.get(pk=addition.pk)
    assert (addition.state, addition.decided_by, addition.closed_reason) == (
        AdditionState.REFUSED,
        feedback_user,
        "Not yours.",
    )
    assert addition.domain.is_live is False
    assert addition_rows(federated)[-1] == (
        "domain.addition_refused",
        "",
        "",
        "fiona.feedback",
        "fiona.feedback",
        f"{NEW} is not added: Not yours.",
    )
    assert send_domain_addition_email(addition_id=addition.pk, kind="refused")
    [message] = mail.outbox
    assert message.subject == f"{NEW} is not added to your federation with NHSmail " + (
        f"({federated.reference})"
    )
    assert "Why: Not yours." in message.body
    ask(federated)  # may be asked for afresh


def test_refusing_and_approving_need_their_permissions(federated, outsider_user):
    addition = ask(federated)
    finish_checks(addition)
    with pytest.raises(ActionRefused, match="permission to refuse domain additions"):
        domain_addition_refuse(addition_id=addition.pk, actor=outsider_user, reason="No.")
    with pytest.raises(ActionRefused, match="permission to approve domain additions"):
        domain_addition_approve(addition_id=addition.pk, actor=outsider_user, notes="Fine.")
    assert DomainAddition.objects.get(pk=addition.pk).state == AdditionState.REQUESTED
    assert [row[0] for row in addition_rows(federated)] == ["domain.addition_requested"]


def test_approval_waits_for_the_domains_checks_and_a_reason_to_override_a_failure(
    federated, feedback_user
):
    addition = ask(federated)
    with pytest.raises(ActionRefused, match=f"The domain checks of {NEW} have not completed"):
        domain_addition_approve(addition_id=addition.pk, actor=feedback_user, notes="Fine.")
    finish_checks(addition, verdict="fail")
    with pytest.raises(AnswerNeeded, match=f"The latest domain checks of {NEW} failed"):
        domain_addition_approve(addition_id=addition.pk, actor=feedback_user, notes="Fine.")
    assert not Agreement.objects.filter(domain_addition=addition).exists()

    domain_addition_approve(
        addition_id=addition.pk,
        actor=feedback_user,
        notes="Fine.",
        override_reason="DMARC fixed today, ticket 77.",
    )

    assert addition_rows(federated)[-1][0::5] == (
        "domain.addition_approved",
        f"{NEW}: Fine.\nApproved despite its latest checks: DMARC fixed today, ticket 77.",
    )


def test_approval_sends_an_amended_agreement_listing_every_domain(federated, feedback_user):
    addition, agreement = approved(federated, feedback_user)

    assert addition.state == AdditionState.APPROVED
    assert agreement.sent_at is not None and addition.agreement_sent_at == agreement.sent_at
    assert amendment_out_for_signature(federated) == agreement
    # Until signed, the agreement in force is the first one.
    assert current_agreement(federated) != agreement
    assert reload(federated).state == State.FEDERATED
    text = pdf_text(agreement)
    assert "Amended agreement." in " ".join(text.split())
    section = text.split("2. Domains to federate")[1].split("3. Named contacts")[0]
    rows = [line.split() for line in section.splitlines() if line.strip()[:1].isdigit()]
    assert rows == [["1", NEW], ["2", KEPT]]
    assert list(
        AuditEvent.objects.filter(request=federated).order_by("pk").values_list("action", flat=True)
    )[-4:] == [
        "domain.addition_approved",
        "agreement.requested",
        "agreement.rendered",
        "agreement.amendment_sent",
    ]
    assert OutboxMessage.objects.filter(
        task_name="agreements.tasks.amendment_email", kwargs={"agreement_id": agreement.pk}
    ).exists()
    assert not AllowListEntry.objects.filter(domain=NEW).exists()


def test_a_removed_domain_is_not_listed_in_the_amended_agreement(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=["gone.example.org.uk", KEPT])
    request_federate(request_id=req.pk, actor=feedback_user)
    domain_remove(
        request_id=req.pk,
        domain_id=req.domains.get(name="gone.example.org.uk").pk,
        actor=feedback_user,
        effective_date=timezone.localdate(),
        reason="Retired.",
    )
    addition, agreement = approved(reload(req), feedback_user)

    assert agreement_domains(agreement) == [NEW, KEPT]
    section = pdf_text(agreement).split("2. Domains to federate")[1].split("3. Named contacts")[0]
    assert NEW in section and KEPT in section
    assert "gone.example.org.uk" not in section


# -- signed: on the allow list ----------------------------------------------------------------


def test_the_signed_amendment_puts_exactly_the_domain_on_the_allow_list(federated, feedback_user):
    record_applied(feedback_user)  # the tenant holds the first domain
    addition, agreement = approved(federated, feedback_user)
    assert allow_list_change_set().add == []

    record_signed(addition, feedback_user)

    addition = DomainAddition.objects.get(pk=addition.pk)
    assert addition.state == AdditionState.ADDED
    assert addition.domain.pending_addition is False
    assert [d.name for d in federated.domains.kept()] == [NEW, KEPT]
    entry = AllowListEntry.objects.get(domain=NEW)
    assert (entry.request_id, entry.effective_date) == (federated.pk, timezone.localdate())
    change_set = allow_list_change_set()
    assert (change_set.add, change_set.remove) == ([NEW], [])
    assert reload(federated).state == State.FEDERATED
    assert current_agreement(federated) == agreement  # the amended one is now in force
    assert list(
        AuditEvent.objects.filter(request=federated).order_by("pk").values_list("action", flat=True)
    )[-2:] == [
        "agreement.amendment_signed",
        "domain.added",
    ]
    assert addition_rows(federated)[-1][0::5] == (
        "domain.added",
        f"{NEW} on the allow list from {timezone.localdate():%d %B %Y}. The amended agreement "
        f"was signed (SHA-256 {reload_agreement(agreement).signed_copy_sha256}).",
    )
    assert send_domain_addition_email(addition_id=addition.pk, kind="added")
    assert mail.outbox[-1].subject == f"{NEW} is on NHSmail's allow list ({federated.reference})"


def reload_agreement(agreement):
    return Agreement.objects.get(pk=agreement.pk)


def test_recording_needs_the_permission_and_an_amendment_out(federated, feedback_user):
    service_desk = UserFactory(username="sid.desk", groups=["Service desk"])
    addition, _ = approved(federated, feedback_user)
    with pytest.raises(ActionRefused, match="permission to record signed agreements"):
        record_signed(addition, service_desk)
    record_signed(addition, feedback_user)
    with pytest.raises(ActionRefused, match="a signed copy is recorded only while"):
        record_signed(addition, feedback_user)  # twice: the second is refused
    assert AllowListEntry.objects.filter(domain=NEW).count() == 1


# -- the agreement stops being in force, or the amendment lapses --------------------------------


def test_a_suspension_cancels_the_open_addition(federated, feedback_user):
    addition, _ = approved(federated, feedback_user)

    request_suspend(request_id=federated.pk, actor=feedback_user, reason="Checks failing.")

    addition = DomainAddition.objects.get(pk=addition.pk)
    assert addition.state == AdditionState.CANCELLED
    assert addition.domain.is_live is False
    assert addition_rows(federated)[-1] == (
        "domain.addition_cancelled",
        "",
        "",
        "fiona.feedback",
        "fiona.feedback",
        f"{NEW} is not added: The request was suspended: Checks failing.",
    )
    with pytest.raises(ActionRefused, match="only while its amended agreement is out"):
        record_signed(addition, feedback_user)
    assert not AllowListEntry.objects.filter(domain=NEW).exists()


def test_an_unsigned_amendment_expires_judged_when_recording_and_by_the_job(
    federated, feedback_user, settings
):
    addition, _ = approved(federated, feedback_user)
    later = timezone.now() + timedelta(days=settings.FPA_EXPIRY_DAYS, hours=1)
    with time_machine.travel(later, tick=False):
        with pytest.raises(ActionRefused, match="has expired"):
            record_signed(addition, feedback_user)
        assert domain_additions_expire() == 1
        assert domain_additions_expire() == 0  # once

    addition = DomainAddition.objects.get(pk=addition.pk)
    assert addition.state == AdditionState.EXPIRED
    assert addition.domain.is_live is False
    row = addition_rows(federated)[-1]
    assert (row[0], row[4], row[5]) == (
        "domain.addition_expired",
        "system",
        f"{NEW} is not added: the amended agreement was not signed in time.",
    )
    assert not AllowListEntry.objects.filter(domain=NEW).exists()
    assert send_domain_addition_email(addition_id=addition.pk, kind="expired")
    assert "was not signed in time, so it has expired" in " ".join(mail.outbox[-1].body.split())


def test_an_unsigned_amendment_is_reminded_once_a_period_until_it_lapses(
    federated, feedback_user, settings
):
    settings.FPA_REMINDER_DAYS = 7
    addition, agreement = approved(federated, feedback_user)
    sent = addition.agreement_sent_at

    def reminders_at(days: float) -> int:
        with time_machine.travel(sent + timedelta(days=days), tick=False):
            return agreement_reminders()["amendment_reminders"]

    assert reminders_at(6) == 0  # not yet a week
    assert reminders_at(7.5) == 1
    assert reminders_at(8) == 0  # once a period
    assert reminders_at(14.5) == 1
    assert reminders_at(settings.FPA_EXPIRY_DAYS + 0.5) == 0  # lapsed: expiry, not a reminder
    queued = OutboxMessage.objects.filter(
        task_name="agreements.tasks.amendment_email", kwargs__agreement_id=agreement.pk
    ).order_by("pk")
    assert [row.kwargs.get("reminder", 0) for row in queued] == [0, 1, 2]
    assert list(
        AuditEvent.objects.filter(request=federated, action="reminder.amendment")
        .order_by("pk")
        .values_list("actor_label", "message")
    ) == [
        ("system", f"Reminder 1 to sign the amendment adding {NEW}."),
        ("system", f"Reminder 2 to sign the amendment adding {NEW}."),
    ]

    assert send_amendment_email(agreement_id=agreement.pk, reminder=1)
    assert not send_amendment_email(agreement_id=agreement.pk, reminder=1)  # sent once
    reminder = mail.outbox[-1]
    assert reminder.subject.startswith("Reminder: sign the amended Federation Partnering Agreement")
    expires = timezone.localdate(sent + timedelta(days=settings.FPA_EXPIRY_DAYS))
    assert f"It expires on\n{expires:%-d %B %Y}" in reminder.body


def test_asking_again_expires_a_lapsed_amendment_first(federated, feedback_user, settings):
    addition, _ = approved(federated, feedback_user)
    later = timezone.now() + timedelta(days=settings.FPA_EXPIRY_DAYS, hours=1)
    with time_machine.travel(later, tick=False):
        again = ask(federated)

    addition = DomainAddition.objects.get(pk=addition.pk)
    assert addition.state == AdditionState.EXPIRED
    assert again.state == AdditionState.REQUESTED and again.domain.name == NEW


def test_a_pending_addition_is_not_what_the_request_covers(federated):
    ask(federated)
    assert [d.name for d in reload(federated).kept_domains] == [KEPT]


def test_removing_a_domain_cancels_an_amendment_that_lists_it(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=["gone.example.org.uk", KEPT])
    request_federate(request_id=req.pk, actor=feedback_user)
    addition, _ = approved(reload(req), feedback_user)

    domain_remove(
        request_id=req.pk,
        domain_id=req.domains.get(name="gone.example.org.uk").pk,
        actor=feedback_user,
        effective_date=timezone.localdate(),
        reason="Retired.",
    )

    addition = DomainAddition.objects.get(pk=addition.pk)
    assert addition.state == AdditionState.CANCELLED
    assert addition_rows(req)[-1][0::5] == (
        "domain.addition_cancelled",
        f"{NEW} is not added: gone.example.org.uk was removed while the amended agreement "
        "listing it was out for signature. Ask again for a fresh one.",
    )
    assert amendment_out_for_signature(req) is None


def test_removing_a_domain_leaves_an_ask_still_under_review(federated, feedback_user):
    from requests_app.services.domain_changes import domain_remove as remove

    second = request_in(
        State.EVIDENCE_VERIFIED, feedback_user, domains=["b.example.org.uk", "c.example.org.uk"]
    )
    request_federate(request_id=second.pk, actor=feedback_user)
    addition = ask(reload(second))
    remove(
        request_id=second.pk,
        domain_id=second.domains.get(name="b.example.org.uk").pk,
        actor=feedback_user,
        effective_date=timezone.localdate(),
        reason="Retired.",
    )
    assert DomainAddition.objects.get(pk=addition.pk).state == AdditionState.REQUESTED


def test_a_domain_only_asked_for_opens_no_remediation_case_when_its_checks_worsen(
    federated, feedback_user
):
    """It is not on the agreement yet: its checks are for the team's review, not a case."""
    addition = ask(federated)
    finish_checks(addition, "pass")
    run = check_run_start(request_id=federated.pk, actor=feedback_user)
    for name in run.names:
        verdict = "fail" if name == NEW else "pass"
        check_run_record(
            run_id=run.pk,
            domain=name,
            report_dict={
                "domain": name,
                "checked_at": timezone.now().isoformat(),
                "verdict": verdict,
                "checks": [{"id": "dmarc", "status": verdict, "summary": f"DMARC: {verdict}"}],
            },
        )

    run.refresh_from_db()
    assert NEW in run.names and run.state == "complete"
    assert run.worsened == []
    assert not RemediationCase.objects.filter(request=federated).exists()
    assert not AuditEvent.objects.filter(request=federated, action="checks.worsened").exists()


def test_the_spoc_removing_a_listed_domain_is_who_cancels_the_amendment(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=["gone.example.org.uk", KEPT])
    request_federate(request_id=req.pk, actor=feedback_user)
    addition, _ = approved(reload(req), feedback_user)

    domain_remove_by_contact(
        request_id=req.pk,
        domain_id=req.domains.get(name="gone.example.org.uk").pk,
        actor_email=spoc_email(req),
        effective_date=timezone.localdate(),
        reason="Retired.",
    )

    row = addition_rows(req)[-1]
    assert (row[0], row[3], row[4]) == ("domain.addition_cancelled", None, spoc_email(req))
    assert DomainAddition.objects.get(pk=addition.pk).state == AdditionState.CANCELLED
