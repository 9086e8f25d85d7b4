"""Form fields and bases several faces use."""

from typing import Any, Self

from django import forms
from django.conf import settings
from django.http import HttpRequest

from .uploads import too_large_message, upload_too_large


class SingleLineField(forms.CharField):
    """Text that belongs on one line: a name, a job title. Refuses line breaks and control
    characters, which a crafted post could otherwise carry into an email's headers."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if any(ord(character) < 32 or ord(character) == 127 for character in value):
            raise forms.ValidationError(f"Enter {str(self.label).lower()} on one line")


class LimitedFileField(forms.FileField):
    """A file field that refuses an oversized upload before anything else looks at it."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and value.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(too_large_message())


class UploadForm(forms.Form):
    """A form with a file: told when the upload was cut off at the size limit (the file is
    then missing), it says so instead of "this field is required"."""

    def __init__(self, *args: Any, too_large: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.too_large = too_large

    @classmethod
    def for_request(cls, request: HttpRequest) -> Self:
        """Bound to a POST (and told whether its upload was cut off), else an empty form."""
        if request.method == "POST":
            return cls(request.POST, request.FILES, too_large=upload_too_large(request))
        return cls()

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.too_large:
            for name, field in self.fields.items():
                if isinstance(field, forms.FileField):
                    self.errors.pop(name, None)
            raise forms.ValidationError(too_large_message())
        return cleaned
