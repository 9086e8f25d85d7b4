"""factory_boy factories; a request can be built straight into any state for tests."""

import datetime
import hashlib
import io

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from pypdf import PdfWriter

from agreements.models import Agreement, EvidenceCriterion, EvidenceItem, EvidenceStatus
from requests_app.models import (
    CheckRun,
    CheckRunState,
    Contact,
    ContactRole,
    DomainCheck,
    FederationRequest,
    Organisation,
    RequestedDomain,
    State,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@nhs.net")
    is_staff = True
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or []:
            self.groups.add(Group.objects.get(name=name))


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Example Health Partner {n}")
    ods_code = factory.Sequence(lambda n: f"X{n:04d}")
    has_nhsmail_presence = False


class FederationRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FederationRequest
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    requester_name = "Robin Requester"
    requester_email = factory.Sequence(lambda n: f"requester{n}@partner{n}.example")
    state = State.SUBMITTED

    @factory.post_generation
    def reference(self, create, extracted, **kwargs):
        self.reference = extracted or f"FR-{self.pk:06d}"
        FederationRequest.objects.filter(pk=self.pk).update(reference=self.reference)

    @factory.post_generation
    def domains(self, create, extracted, **kwargs):
        names = extracted if extracted is not None else [f"partner{self.pk}.example.org.uk"]
        for name in names:
            RequestedDomain.objects.create(request=self, name=name)

    @factory.post_generation
    def contacts(self, create, extracted, **kwargs):
        if extracted is False:
            return
        Contact.objects.create(
            request=self,
            role=ContactRole.SPOC,
            name="Sam Spoc",
            job_title="IT Manager",
            email=f"spoc{self.pk}@partner.example",
            phone="01234 567890",
        )
        Contact.objects.create(
            request=self,
            role=ContactRole.TECHNICAL,
            name="Tess Tech",
            job_title="Teams Administrator",
            email=f"tech{self.pk}@partner.example",
        )

    @factory.post_generation
    def checked(self, create, extracted, **kwargs):
        """A completed check run, every domain passing, as review needs (checked=False: none)."""
        if extracted is False:
            return
        complete_check_run(self)


def complete_check_run(req, *, statuses: dict[str, str] | None = None, **fields) -> CheckRun:
    """A completed check run of req's domains, passing unless statuses ({check id: status})."""
    statuses = {"mx": "pass", "spf": "pass", "dmarc": "pass", **(statuses or {})}
    now = timezone.now()
    run = CheckRun.objects.create(
        request=req,
        requested_at=fields.pop("requested_at", now),
        completed_at=fields.pop("completed_at", now),
        state=CheckRunState.COMPLETE,
        **fields,
    )
    ranks = ["pass", "warn", "error", "fail"]  # results.verdict: error is never a pass
    verdict = max((s for s in statuses.values() if s in ranks), key=ranks.index, default="pass")
    for name in req.domains.values_list("name", flat=True):
        DomainCheck.objects.create(
            run=run,
            domain=name,
            checked_at=now,
            verdict=verdict,
            results=[
                {"id": check, "status": status, "summary": f"{check}: {status}", "details": {}}
                for check, status in statuses.items()
            ],
        )
    return run


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agreement

    request = factory.SubFactory(FederationRequestFactory)
    requested_by = factory.SubFactory(UserFactory)


class EvidenceItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvidenceItem

    request = factory.SubFactory(FederationRequestFactory)
    criterion = factory.LazyFunction(lambda: EvidenceCriterion.objects.first())
    file = factory.django.FileField(filename="evidence.pdf", data=b"%PDF-1.4 test")
    original_filename = "evidence.pdf"
    sha256 = "0" * 64


def blank_pdf(pages: int = 1) -> bytes:
    """A valid PDF of blank A4 pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def request_in(state: State, staff, **factory_arguments) -> FederationRequest:
    """A request in state with what that state implies: a sent agreement, a signed copy,
    verified evidence for every required criterion once signed."""
    req = FederationRequestFactory(state=state, **factory_arguments)
    if state in (State.FPA_SENT, State.SIGNED, State.EVIDENCE_VERIFIED, State.FEDERATED):
        content = blank_pdf()
        agreement = AgreementFactory(
            request=req,
            requested_by=staff,
            pdf=ContentFile(content, name="fpa.pdf"),
            pdf_sha256=hashlib.sha256(content).hexdigest(),
            rendered_at=timezone.now(),
            sent_at=timezone.now(),
        )
        if state != State.FPA_SENT:
            signed = blank_pdf(pages=2)
            agreement.signed_copy.save("signed.pdf", ContentFile(signed), save=False)
            agreement.signed_copy_sha256 = hashlib.sha256(signed).hexdigest()
            agreement.signatory_name = "Dana Director"
            agreement.signatory_job_title = "Director of Digital"
            agreement.signatory_is_director = True
            agreement.signed_on = datetime.date(2026, 2, 14)
            agreement.save()
            # Another member of the team verified it: staff may then federate (four eyes).
            verifier = UserFactory(username=f"vera.verifier.{req.pk}", groups=["Feedback team"])
            for criterion in EvidenceCriterion.objects.filter(required=True):
                EvidenceItemFactory(
                    request=req,
                    criterion=criterion,
                    status=EvidenceStatus.VERIFIED,
                    verified_by=verifier,
                    verified_at=timezone.now(),
                )
    return req
