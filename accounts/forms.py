"""The contacts' sign-in form."""

from django import forms


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
