"""The request form (the public page, and the service desk's raise-on-behalf page in the
workbench builds on it) and the requester's withdraw form."""

import re

from django import forms

from portal_kit.forms import SingleLineField

from .models import ods_code_validator
from .services.contacts import ContactDetails
from .services.domain_names import clean_domain_list
from .services.lifecycle import MAX_DOMAINS_PER_REQUEST


class RequestForm(forms.Form):
    # Whether a refusal may name the request that already holds a domain (staff only).
    reveal_domain_holders = False

    organisation_name = SingleLineField(
        label="Organisation name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
        error_messages={"required": "Enter your organisation's name"},
    )
    ods_code = forms.CharField(
        label="ODS code (optional)",
        max_length=6,
        required=False,
        help_text="Your organisation's code in the NHS Organisation Data Service, like RR8.",
    )
    has_nhsmail_presence = forms.TypedChoiceField(
        label="Does your organisation already use NHSmail?",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Select yes if your organisation already uses NHSmail"},
    )
    domains = forms.CharField(
        label="Domains to federate",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "none"}),
        help_text="The email domains your Teams users sign in with, one per line, like "
        "example.org.uk.",
        error_messages={"required": "Enter at least one domain"},
    )
    justification = forms.CharField(
        label="Why do you need federation?",
        initial="Teams federation",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": "Say why you need federation"},
    )
    # WCAG 2.2 SC 1.3.5: fields about the person filling the form in say what they hold.
    requester_name = SingleLineField(
        label="Your full name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": "Enter your full name"},
    )
    requester_email = forms.EmailField(
        label="Your email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter your email address in the correct format, like name@example.org.uk",
        },
    )

    # WCAG 2.2 SC 3.3.7: the requester is usually the SPOC too, and need not type it twice.
    requester_is_spoc = forms.BooleanField(
        label="I am the SPOC (use what I typed about myself above)", required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for prefix, described in (("spoc", "the SPOC's"), ("technical", "the technical contact's")):
            self.fields[f"{prefix}_name"] = SingleLineField(
                label="Full name",
                max_length=200,
                error_messages={"required": f"Enter {described} full name"},
            )
            self.fields[f"{prefix}_job_title"] = SingleLineField(
                label="Job title",
                max_length=200,
                error_messages={"required": f"Enter {described} job title"},
            )
            self.fields[f"{prefix}_email"] = forms.EmailField(
                label="Email address",
                error_messages={
                    "required": f"Enter {described} email address",
                    "invalid": f"Enter {described} email address in the correct format, "
                    "like name@example.org.uk",
                },
            )
            self.fields[f"{prefix}_phone"] = SingleLineField(
                label="Phone number (optional)", max_length=40, required=False
            )
        # The Director-level signatory, if known: all three answers, or none ("I don't know
        # yet"); the SPOC can name them later. They are invited to sign once the FPA is sent.
        self.fields["signatory_name"] = SingleLineField(
            label="Full name", max_length=200, required=False
        )
        self.fields["signatory_job_title"] = SingleLineField(
            label="Job title", max_length=200, required=False
        )
        self.fields["signatory_email"] = forms.EmailField(
            label="Email address",
            required=False,
            error_messages={
                "invalid": "Enter the signatory's email address in the correct format, "
                "like name@example.org.uk"
            },
        )

    SIGNATORY_FIELDS = {
        "signatory_name": "Enter the signatory's full name",
        "signatory_job_title": "Enter the signatory's job title",
        "signatory_email": "Enter the signatory's email address",
    }

    def clean(self):
        cleaned = super().clean()
        # An answer that failed its own check was still given: no second error for it.
        given = [
            name for name in self.SIGNATORY_FIELDS if cleaned.get(name) or self.has_error(name)
        ]
        if given:
            for name, message in self.SIGNATORY_FIELDS.items():
                if name not in given:
                    self.add_error(
                        name, f"{message}, or leave all three empty if you do not know yet"
                    )
        return cleaned

    def full_clean(self):
        # "I am the SPOC": the SPOC's name and email are the requester's, as typed above.
        if self.is_bound and self._requester_is_spoc():
            self.data = self.data.copy()
            self.data["spoc_name"] = self.data.get("requester_name", "")
            self.data["spoc_email"] = self.data.get("requester_email", "")
        super().full_clean()

    def _requester_is_spoc(self) -> bool:
        """The box as its own widget reads it ("false" and "0" are not ticked)."""
        field = self.fields.get("requester_is_spoc")
        if field is None:
            return False
        name = self.add_prefix("requester_is_spoc")
        return bool(field.widget.value_from_datadict(self.data, self.files, name))

    def clean_ods_code(self):
        code = self.cleaned_data["ods_code"].strip().upper()
        if code:
            ods_code_validator(code)
        return code

    def clean_domains(self):
        raw = [
            line for line in re.split(r"[\r\n,;]+", self.cleaned_data["domains"]) if line.strip()
        ]
        if not raw:
            raise forms.ValidationError("Enter at least one domain")
        if len(raw) > MAX_DOMAINS_PER_REQUEST:
            raise forms.ValidationError(
                f"Enter at most {MAX_DOMAINS_PER_REQUEST} domains in one request"
            )
        names, errors = clean_domain_list(raw, reveal_reference=self.reveal_domain_holders)
        if errors:
            raise forms.ValidationError(errors)
        return names

    def contact(self, prefix: str) -> ContactDetails:
        data = self.cleaned_data
        return ContactDetails(
            name=data[f"{prefix}_name"].strip(),
            job_title=data[f"{prefix}_job_title"].strip(),
            email=data[f"{prefix}_email"].strip(),
            phone=data[f"{prefix}_phone"].strip(),
        )

    def service_arguments(self) -> dict:
        """The form's answers as request_submit's keyword arguments."""
        data = self.cleaned_data
        return {
            "organisation_name": data["organisation_name"],
            "ods_code": data["ods_code"],
            "has_nhsmail_presence": data["has_nhsmail_presence"],
            "domains": data["domains"],
            "justification": data["justification"],
            "requester_name": data["requester_name"],
            "requester_email": data["requester_email"],
            "spoc": self.contact("spoc"),
            "technical_contact": self.contact("technical"),
            "signatory": self.signatory(),
        }

    def signatory(self) -> ContactDetails | None:
        data = self.cleaned_data
        if not data.get("signatory_name"):
            return None
        return ContactDetails(
            name=data["signatory_name"].strip(),
            job_title=data["signatory_job_title"].strip(),
            email=data["signatory_email"].strip(),
        )

    def field_groups(self):
        """Fields in the fieldsets the page shows, each with its legend."""
        return [
            ("Your organisation", ["organisation_name", "ods_code", "has_nhsmail_presence"]),
            ("What to federate", ["domains", "justification"]),
            ("About you", ["requester_name", "requester_email"]),
            (
                "Single point of contact (SPOC)",
                ["requester_is_spoc", "spoc_name", "spoc_job_title", "spoc_email", "spoc_phone"],
            ),
            (
                "Technical contact",
                ["technical_name", "technical_job_title", "technical_email", "technical_phone"],
            ),
            (
                "Signatory: a Director who signs the agreement (optional)",
                ["signatory_name", "signatory_job_title", "signatory_email"],
            ),
        ]


class RaiseOnBehalfForm(RequestForm):
    """The service desk's form (the workbench page and the API's POST /api/v1/requests/)."""

    reveal_domain_holders = True
    requester_is_spoc = None  # the service desk is not the organisation's SPOC

    on_behalf_reason = forms.CharField(
        label="Why is the service desk raising this request?",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: the organisation has no NHSmail presence; ticket number.",
    )

    def service_arguments(self) -> dict:
        return {
            **super().service_arguments(),
            "on_behalf_reason": self.cleaned_data["on_behalf_reason"],
        }


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="Why are you withdrawing the request? (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
