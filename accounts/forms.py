from django import forms

from requests_app.forms import SingleLineField
from requests_app.services import ContactDetails


class SignInForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="The address your organisation named as a contact on its federation request.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.org.uk",
        },
    )


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
        return ContactDetails(data["name"], data["job_title"], data["email"], data["phone"])
