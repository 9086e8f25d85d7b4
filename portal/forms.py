"""The organisation's forms on the portal: contacts, signing, evidence."""

from django import forms
from django.utils import timezone

from agreements.services.signing import ATTESTATIONS
from portal_kit.forms import DatePartsField, SingleLineField, UploadForm
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
