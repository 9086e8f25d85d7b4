"""The organisation's forms on the portal: contacts, signing, evidence, re-attestation."""

from typing import Any, Self

from django import forms
from django.http import HttpRequest
from django.utils import timezone

from agreements.models import CriterionAnswer, EvidenceCriterion
from agreements.services.signing import ATTESTATIONS
from portal_kit.forms import DatePartsField, LimitedFileField, SingleLineField, UploadForm
from portal_kit.uploads import upload_too_large
from requests_app.models import ContactRole
from requests_app.services.contacts import ContactDetails


class ContactForm(forms.Form):
    """A person named on a request: a technical contact, or a proposed SPOC."""

    name = SingleLineField(
        label="Full name", max_length=200, error_messages={"required": "Enter their full name"}
    )
    job_title = SingleLineField(
        label="Job title", max_length=200, error_messages={"required": "Enter their job title"}
    )
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        error_messages={
            "required": "Enter their email address",
            "invalid": "Enter an email address in the correct format, like name@example.org.uk",
        },
    )
    phone = SingleLineField(label="Phone number (optional)", max_length=40, required=False)

    def details(self) -> ContactDetails:
        data = self.cleaned_data
        return ContactDetails(
            name=data["name"], job_title=data["job_title"], email=data["email"], phone=data["phone"]
        )


class SignForm(forms.Form):
    """The signatory's signature on the issued FPA."""

    name = SingleLineField(
        label="Your full name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": "Type your full name"},
    )
    job_title = SingleLineField(
        label="Your job title",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
        error_messages={"required": "Type your job title"},
    )
    director_confirmed = forms.BooleanField(
        label="I hold a Director-level role in my organisation",
        error_messages={"required": "The agreement must be signed at Director level"},
    )
    attest_read = forms.BooleanField(
        label=ATTESTATIONS["read"], error_messages={"required": "Confirm you have read it"}
    )
    attest_authorised = forms.BooleanField(
        label=ATTESTATIONS["authorised"],
        error_messages={"required": "Confirm you are authorised to sign"},
    )
    attest_dcb1596 = forms.BooleanField(
        label=ATTESTATIONS["dcb1596"],
        error_messages={"required": "Confirm your organisation meets DCB1596"},
    )
    document_sha256 = forms.RegexField(
        regex=r"^[0-9a-f]{64}$",
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "The page was damaged in transit. Reload it and sign again.",
            "required": "The page was damaged in transit. Reload it and sign again.",
        },
    )

    def attestations(self) -> list[str]:
        return [key for key in ATTESTATIONS if self.cleaned_data.get(f"attest_{key}")]


class NewContactForm(ContactForm):
    """Adding someone: a technical contact, or the Director-level signatory of the agreement."""

    role = forms.ChoiceField(
        label="Their role",
        choices=[
            (ContactRole.TECHNICAL, "Technical contact"),
            (
                ContactRole.SIGNATORY,
                "Signatory (Director level): signs the agreement in the portal",
            ),
        ],
        initial=ContactRole.TECHNICAL,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose their role"},
    )
    field_order = ["role", "name", "job_title", "email", "phone"]


class EvidenceUploadForm(UploadForm):
    """A contact's evidence for one criterion, on the portal."""

    file = forms.FileField(
        label="Evidence file",
        error_messages={"required": "Choose the file to upload"},
    )


class OffboardingAskForm(forms.Form):
    """The SPOC or signatory asks to end the agreement."""

    reason = forms.CharField(
        label="Why is your organisation ending the agreement?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say why your organisation is ending the agreement"},
    )
    notice_date = DatePartsField(
        what="The date your domains leave the allow list",
        label="The date your domains leave NHSmail's allow list",
        help_text="Today or later, for example 31 3 2027. Until then Teams federation with "
        "NHSmail carries on.",
        error_messages={"required": "Enter the date your domains leave the allow list"},
    )

    def clean_notice_date(self):
        notice_date = self.cleaned_data["notice_date"]
        if notice_date < timezone.localdate():
            raise forms.ValidationError(
                "The date your domains leave the allow list must be today or in the future"
            )
        return notice_date


class DomainRemovalForm(forms.Form):
    """The SPOC takes one domain off the agreement and the allow list."""

    reason = forms.CharField(
        label="Why is this domain being removed?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say why the domain is being removed"},
    )
    effective_date = DatePartsField(
        what="The date the domain leaves the allow list",
        label="The date the domain leaves NHSmail's allow list",
        help_text="Today or later, for example 31 3 2027. Until then Teams federation with "
        "NHSmail carries on for it.",
        error_messages={"required": "Enter the date the domain leaves the allow list"},
    )

    def clean_effective_date(self):
        effective_date = self.cleaned_data["effective_date"]
        if effective_date < timezone.localdate():
            raise forms.ValidationError(
                "The date the domain leaves the allow list must be today or in the future"
            )
        return effective_date


class DomainAdditionForm(forms.Form):
    """The SPOC asks to add one domain to the agreement; the service applies the public form's
    domain rules (and says why a domain is refused)."""

    domain = SingleLineField(
        label="Domain to add",
        max_length=300,
        help_text="The email domain your Teams users sign in with, like example.org.uk.",
        error_messages={"required": "Enter the domain to add"},
    )


class ReattestationAnswerForm(UploadForm):
    """The SPOC's re-attestation: the contacts are current, and each DCB1596 criterion still
    met or changed (with new evidence). A field pair per criterion: answer_<id>, file_<id>."""

    contacts_confirmed = forms.BooleanField(
        label="The contacts listed for this request are current",
        error_messages={"required": "Confirm the contacts are current, or change them first"},
    )

    def __init__(self, *args: Any, criteria: list[EvidenceCriterion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for criterion in criteria:
            self.fields[f"answer_{criterion.pk}"] = forms.ChoiceField(
                label=criterion.title,
                choices=CriterionAnswer.choices,
                widget=forms.RadioSelect,
                required=criterion.required,
                error_messages={"required": f"Say whether “{criterion.title}” is still met"},
            )
            self.fields[f"file_{criterion.pk}"] = LimitedFileField(
                label=f"New evidence for {criterion.title} (only if it has changed)",
                required=False,
            )

    @classmethod
    def for_criteria(cls, request: HttpRequest, *, criteria: list[EvidenceCriterion]) -> Self:
        """Bound to a POST (and told whether its upload was cut off), else an empty form."""
        if request.method == "POST":
            return cls(
                request.POST,
                request.FILES,
                too_large=upload_too_large(request),
                criteria=criteria,
            )
        return cls(criteria=criteria)

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        for criterion in self.criteria:
            changed = self.cleaned_data.get(f"answer_{criterion.pk}") == CriterionAnswer.CHANGED
            if changed and not self.cleaned_data.get(f"file_{criterion.pk}"):
                self.add_error(
                    f"file_{criterion.pk}",
                    f"Upload the new evidence for “{criterion.title}”, which has changed",
                )
        return cleaned

    def answers(self) -> dict[int, str]:
        return {
            criterion.pk: self.cleaned_data[f"answer_{criterion.pk}"]
            for criterion in self.criteria
            if self.cleaned_data.get(f"answer_{criterion.pk}")
        }

    def uploads(self) -> dict[int, Any]:
        return {
            criterion.pk: self.cleaned_data[f"file_{criterion.pk}"]
            for criterion in self.criteria
            if self.cleaned_data.get(f"answer_{criterion.pk}") == CriterionAnswer.CHANGED
            and self.cleaned_data.get(f"file_{criterion.pk}")
        }

    def criterion_fields(self) -> list[tuple[EvidenceCriterion, Any, Any]]:
        """(criterion, its answer field, its file field), for the page."""
        return [
            (criterion, self[f"answer_{criterion.pk}"], self[f"file_{criterion.pk}"])
            for criterion in self.criteria
        ]


class ReattestationConfirmForm(forms.Form):
    """The signatory's confirmation of the SPOC's answer."""

    confirmed = forms.BooleanField(
        label=(
            "I confirm, as signatory, that the contacts are current and that what is "
            "re-attested here is true of my organisation"
        ),
        error_messages={"required": "Tick the box to confirm, as signatory"},
    )
