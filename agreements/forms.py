"""The public verify page's form."""

from django import forms

from portal_kit.forms import UploadForm


class VerifyForm(UploadForm):
    """Anyone's copy of a signed agreement, to check on the verify page."""

    file = forms.FileField(
        label="The signed agreement (PDF)",
        error_messages={"required": "Choose the PDF to check"},
    )
