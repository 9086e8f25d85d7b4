"""Form fields and bases several faces use."""

import re
from datetime import date
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


DATE_PARTS = ("day", "month", "year")


class DatePartsWidget(forms.Widget):
    """The NHS.UK date input: day, month and year in three boxes (name_day, name_month,
    name_year), drawn by requests_app/includes/field.html."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> tuple[str, ...]:
        return tuple(str(data.get(f"{name}_{part}", "")).strip() for part in DATE_PARTS)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return not any(f"{name}_{part}" in data for part in DATE_PARTS)


class DatePartsField(forms.Field):
    """A date typed as the NHS.UK date input asks for it, with its error messages: what names
    the date in them ("Date it started")."""

    widget = DatePartsWidget

    def __init__(self, *, what: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.what = what

    def prepare_value(self, value: Any) -> dict[str, str]:
        if isinstance(value, date):
            return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}
        if isinstance(value, tuple | list) and len(value) == len(DATE_PARTS):
            return dict(zip(DATE_PARTS, (str(part) for part in value), strict=True))
        return dict.fromkeys(DATE_PARTS, "")

    def to_python(self, value: Any) -> date | None:
        parts = dict(zip(DATE_PARTS, value or ("", "", ""), strict=True))
        if not any(parts.values()):
            return None  # "required" says what to enter
        missing = [part for part in DATE_PARTS if not parts[part]]
        if missing:
            raise forms.ValidationError(f"{self.what} must include a {' and a '.join(missing)}")
        # Plain ASCII digits only: int() would also take "+2", "1_5" and other scripts' digits.
        shapes = {"day": r"[0-9]{1,2}", "month": r"[0-9]{1,2}", "year": r"(19|20)[0-9]{2}"}
        try:
            if not all(re.fullmatch(shapes[part], parts[part]) for part in DATE_PARTS):
                raise ValueError("not a day, month and year")
            return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except ValueError:
            raise forms.ValidationError(f"{self.what} must be a real date") from None
