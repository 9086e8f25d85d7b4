"""The Feedback team's forms: the lifecycle's actions and evidence (raising a request on an
organisation's behalf is requests_app.forms.RaiseOnBehalfForm, which the API uses too)."""

from django import forms
from django.utils import timezone

from agreements.models import EvidenceCriterion
from portal_kit.forms import LimitedFileField, SingleLineField, UploadForm


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[
            ("accept", "The domains meet the initial review criteria"),
            ("reject", "The domains do not meet the criteria: reject the request"),
        ],
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        label="Review notes",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What was checked and what was found. If you reject, the requester sees this.",
    )
    override_reason = forms.CharField(
        label="Why accept despite domain checks that failed or could not be made? (only then)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed to accept a request whose latest checks show a failure or a check that "
        "could not be made (not a pass either); kept in the audit log.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000
    )


class FederateForm(forms.Form):
    effective_date = forms.DateField(
        label="Effective date",
        help_text="The date the domains join the allow list (YYYY-MM-DD).",
        initial=timezone.localdate,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        input_formats=["%Y-%m-%d"],
    )


class SignatureForm(UploadForm):
    signed_copy = LimitedFileField(label="Signed agreement (PDF)")
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


class AmendmentSignatureForm(SignatureForm):
    """The amended agreement adding a domain, signed outside the portal (the signatory is one
    of the request's contacts already)."""

    signatory_email = None


class DomainAdditionApproveForm(forms.Form):
    notes = forms.CharField(
        label="Review notes",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What was checked and what was found; kept in the audit log.",
    )
    override_reason = forms.CharField(
        label="Why approve despite domain checks that failed or could not be made? (only then)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class EvidenceForm(UploadForm):
    criterion = forms.ModelChoiceField(
        label="DCB1596 criterion", queryset=EvidenceCriterion.objects.all()
    )
    file = LimitedFileField(label="Evidence (PDF)")
    notes = forms.CharField(
        label="Notes (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class SuspendForm(ReasonForm):
    effective_date = forms.DateField(
        label="Off the allow list from",
        help_text="Today or later (YYYY-MM-DD). The domains stay recorded; reinstating puts "
        "them back.",
        initial=timezone.localdate,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        input_formats=["%Y-%m-%d"],
    )


class DomainRemoveForm(SuspendForm):
    """Staff take one of a request's domains off the agreement and the allow list."""

    field_order = ["domain", "effective_date", "reason"]

    domain = forms.TypedChoiceField(label="Domain", coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args, domains, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].choices = [(d.pk, d.display_name) for d in domains]
        self.fields["effective_date"].help_text = (
            "Today or later (YYYY-MM-DD). The domain stays recorded on the request and may be "
            "requested afresh."
        )


class OffboardForm(forms.Form):
    """The Feedback team's decision on an organisation's ask to end its agreement."""

    decision = forms.ChoiceField(
        label="Decision",
        choices=[
            ("offboard", "Confirm: end the agreement, the domains leave the allow list"),
            ("decline", "Decline the ask: the agreement stands"),
        ],
        widget=forms.RadioSelect,
    )
    decline_reason = forms.CharField(
        label="Why decline? (only then)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The organisation is emailed this reason.",
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "decline" and not data.get("decline_reason", "").strip():
            self.add_error(
                "decline_reason", "Give the reason for declining; the organisation is told it."
            )
        return data
