from django import forms
from django.utils import timezone

from portal_kit.forms import DatePartsField

from .models import Category


class SupportRequestForm(forms.Form):
    request = forms.TypedChoiceField(
        label="Which federation request is it about?",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the federation request it is about"},
    )
    category = forms.ChoiceField(
        label="What do you need help with?",
        choices=Category.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what you need help with"},
    )
    description = forms.CharField(
        label="Describe the problem",
        help_text="What happens, what you expected, and any error message you see.",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Describe the problem"},
    )
    affected_users = forms.CharField(
        label="Who is affected? (optional)",
        help_text="The NHSmail and your own users it happens to, or how many.",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    started_on = DatePartsField(
        what="Date it started",
        label="When did it start?",
        help_text="For example, 27 11 2026",
        error_messages={"required": "Enter the date it started"},
    )
    own_it_tried = forms.BooleanField(
        label="Our own IT team has tried to fix this first",
        error_messages={"required": "Confirm that your own IT team has tried to fix this first"},
    )

    def __init__(self, *args, requests=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["request"].choices = [
            (req.pk, f"{req.reference}: {req.organisation.name}") for req in requests
        ]
        if len(self.fields["request"].choices) == 1:
            self.fields["request"].initial = self.fields["request"].choices[0][0]

    def clean_started_on(self):
        started = self.cleaned_data["started_on"]
        if started > timezone.localdate():
            raise forms.ValidationError("Date it started must be today or in the past")
        return started


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write your reply"},
    )
