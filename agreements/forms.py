"""Staff forms for the agreement and its evidence (admin)."""

from django import forms
from django.conf import settings

from requests_app.forms import SingleLineField

from .models import EvidenceCriterion
from .upload_handlers import too_large_message, upload_too_large


class PdfField(forms.FileField):
    """A file field that refuses an oversized upload before anything else looks at it."""

    def validate(self, value):
        super().validate(value)
        if value and value.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(too_large_message())


class UploadForm(forms.Form):
    """A form with a file: told when the upload was cut off at the size limit (the file is
    then missing), it says so instead of "this field is required"."""

    def __init__(self, *args, too_large: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large

    @classmethod
    def for_request(cls, request):
        """Bound to a POST (and told whether its upload was cut off), else an empty form."""
        if request.method == "POST":
            return cls(request.POST, request.FILES, too_large=upload_too_large(request))
        return cls()

    def clean(self):
        cleaned = super().clean()
        if self.too_large:
            for name, field in self.fields.items():
                if isinstance(field, forms.FileField):
                    self._errors.pop(name, None)
            raise forms.ValidationError(too_large_message())
        return cleaned


class SignatureForm(UploadForm):
    signed_copy = PdfField(label="Signed agreement (PDF)")
    signatory_name = SingleLineField(label="Signatory's full name", max_length=200)
    signatory_job_title = SingleLineField(label="Signatory's job title", max_length=200)
    signatory_email = forms.EmailField(
        label="Signatory's email address (optional)",
        required=False,
        help_text="Named on the request as its signatory: they may then propose a new SPOC and "
        "raise support requests.",
    )
    signed_on = forms.DateField(
        label="Signed on",
        help_text="The date on the signature (YYYY-MM-DD).",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        input_formats=["%Y-%m-%d"],
    )
    signatory_is_director = forms.BooleanField(
        label="I have checked that the signatory holds a Director-level role",
        error_messages={"required": "The agreement must be signed at Director level."},
    )
    matches_issued = forms.BooleanField(
        label="I have compared the signed copy with the agreement as issued: it is the same "
        "agreement, unchanged",
        error_messages={"required": "Compare the signed copy with the issued agreement first."},
    )


class EvidenceForm(UploadForm):
    criterion = forms.ModelChoiceField(
        label="DCB1596 criterion", queryset=EvidenceCriterion.objects.all()
    )
    file = PdfField(label="Evidence (PDF)")
    notes = forms.CharField(
        label="Notes (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class EvidenceUploadForm(UploadForm):
    """A contact's evidence for one criterion, on the portal."""

    file = forms.FileField(
        label="Evidence file",
        error_messages={"required": "Choose the file to upload"},
    )


class VerifyForm(UploadForm):
    """Anyone's copy of a signed agreement, to check on the verify page."""

    file = forms.FileField(
        label="The signed agreement (PDF)",
        error_messages={"required": "Choose the PDF to check"},
    )
