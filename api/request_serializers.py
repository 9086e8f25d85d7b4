"""Federation requests as the API shows them, and the body that raises one.

The body is checked for shape here; its answers are judged by requests_app.forms.
RaiseOnBehalfForm, the service desk's own form, so the API refuses what the page refuses with the
same sentences (field errors named by the body's paths).
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from requests_app.forms import RaiseOnBehalfForm
from requests_app.models import CheckStatus, State
from requests_app.services.lifecycle import MAX_DOMAINS_PER_REQUEST

# Choice sets, named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] (several fields are "status").
STATE_CHOICES = [state.value for state in State]
CHECK_STATUSES = [status.value for status in CheckStatus]
AGREEMENT_STATUSES = ["none", "in_preparation", "failed", "sent", "signed", "expired"]
ALLOW_LIST_STATUSES = ["listed", "partly_listed", "not_listed"]
EVIDENCE_STATUSES = ["not_received", "pending", "verified", "returned"]


class OrganisationSerializer(serializers.Serializer):
    name = serializers.CharField()
    ods_code = serializers.CharField(help_text="The NHS ODS code, or empty.")


class DomainSerializer(serializers.Serializer):
    name = serializers.CharField(source="display_name", help_text="As people write it (U-label).")
    a_label = serializers.CharField(source="name", help_text="The IDNA A-label (ASCII).")
    status = serializers.SerializerMethodField(
        help_text="live: covered by the request; pending_addition: asked for after federation, "
        "held for it but not on the agreement or the allow list until its amended agreement is "
        "signed; removed; or closed (the request ended)."
    )
    removed_at = serializers.DateTimeField(allow_null=True)
    removed_from = serializers.DateField(allow_null=True, help_text="Off the allow list from.")

    def get_status(self, domain) -> str:
        if domain.removed_at is not None:
            return "removed"
        if not domain.is_live:
            return "closed"
        return "pending_addition" if domain.pending_addition else "live"


class RequestSummarySerializer(serializers.Serializer):
    reference = serializers.CharField()
    state = serializers.ChoiceField(choices=STATE_CHOICES)
    state_label = serializers.CharField(source="get_state_display")
    organisation = OrganisationSerializer()
    domains = serializers.SerializerMethodField(help_text="The domains it covers now (A-labels).")
    channel = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_changed_at = serializers.DateTimeField(
        allow_null=True, help_text="Its newest audit event: what updated_since compares with."
    )

    def get_domains(self, req) -> list[str]:
        return [domain.name for domain in req.kept_domains]


class ContactSerializer(serializers.Serializer):
    role = serializers.CharField()
    name = serializers.CharField()
    job_title = serializers.CharField()
    email = serializers.EmailField()


class AgreementStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AGREEMENT_STATUSES)
    requested_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    signed_on = serializers.DateField(allow_null=True)
    expired_at = serializers.DateTimeField(allow_null=True)


class AllowListStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=ALLOW_LIST_STATUSES,
        help_text="Whether the domains it covers are on the allow list today.",
    )
    listed_domains = serializers.ListField(child=serializers.CharField())


class DatesSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    agreement_sent_at = serializers.DateTimeField(source="fpa_sent_at", allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    evidence_verified_at = serializers.DateTimeField(allow_null=True)
    federated_at = serializers.DateTimeField(allow_null=True)
    effective_date = serializers.DateField(allow_null=True)
    suspended_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    last_changed_at = serializers.DateTimeField(allow_null=True)


class RequestDetailSerializer(serializers.Serializer):
    """One request; the view passes agreement and allow_list in, read through the selectors."""

    reference = serializers.CharField()
    state = serializers.ChoiceField(choices=STATE_CHOICES)
    state_label = serializers.CharField(source="get_state_display")
    channel = serializers.CharField()
    organisation = OrganisationSerializer()
    domains = DomainSerializer(many=True, source="domains.all")
    contacts = ContactSerializer(many=True, source="current_contacts")
    requester_name = serializers.CharField()
    requester_email = serializers.EmailField()
    justification = serializers.CharField()
    dates = DatesSerializer(source="*")
    agreement = AgreementStatusSerializer(source="agreement_status")
    allow_list = AllowListStatusSerializer(source="allow_list_status")


class TimelineEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    action = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor = serializers.CharField(source="actor_label")
    message = serializers.CharField()


class TimelineSerializer(serializers.Serializer):
    reference = serializers.CharField()
    events = TimelineEventSerializer(many=True)


class CheckResultSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Which check: mx, spf, dmarc, ...")
    status = serializers.ChoiceField(choices=CHECK_STATUSES)
    sentence = serializers.CharField(help_text="What was found, for people.")
    details = serializers.JSONField(help_text="What was found, for machines.")
    fix = serializers.CharField(help_text="How to fix it, or empty.")


class DomainChecksSerializer(serializers.Serializer):
    domain = serializers.CharField()
    verdict = serializers.ChoiceField(choices=CHECK_STATUSES)
    checked_at = serializers.DateTimeField()
    results = CheckResultSerializer(many=True)


class ChecksSerializer(serializers.Serializer):
    reference = serializers.CharField()
    completed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the latest completed run finished; null: none has."
    )
    domains = DomainChecksSerializer(many=True)


class EvidenceRowSerializer(serializers.Serializer):
    criterion = serializers.CharField(help_text="The DCB1596 criterion's code.")
    title = serializers.CharField()
    required = serializers.BooleanField()
    status = serializers.ChoiceField(choices=EVIDENCE_STATUSES)
    status_label = serializers.CharField()
    uploaded_at = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    returned_reason = serializers.CharField()


class EvidenceSerializer(serializers.Serializer):
    reference = serializers.CharField()
    criteria = EvidenceRowSerializer(many=True)


# -- raising a request ----------------------------------------------------------------------
#
# The body's text answers take any string here, blank too, so that the form judges them and
# refuses with its own sentences; the schema documents what the form accepts (lengths, formats),
# so a client (and schemathesis) knows what to send.


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 200})
class Answer(serializers.CharField):
    def __init__(self, **options):
        super().__init__(trim_whitespace=False, **options)

    def run_validation(self, data=empty):
        if data == "":
            return ""  # blank is the form's to refuse, in its words ("Enter your full name")
        return super().run_validation(data)


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 2000})
class LongAnswer(Answer):
    pass


@extend_schema_field({"type": "string", "format": "email", "maxLength": 254})
class EmailAnswer(Answer):
    pass


@extend_schema_field({"type": "string", "maxLength": 40})
class PhoneAnswer(Answer):
    pass


@extend_schema_field({"type": "string", "pattern": "^([A-Za-z0-9]{3,6})?$"})
class OdsCodeAnswer(Answer):
    pass


@extend_schema_field({"type": "string", "format": "idn-hostname", "minLength": 1, "maxLength": 253})
class DomainAnswer(Answer):
    pass


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "format": "idn-hostname", "minLength": 1, "maxLength": 253},
        "minItems": 1,
        "maxItems": MAX_DOMAINS_PER_REQUEST,
    }
)
class DomainsAnswer(serializers.ListField):
    """The list's length is the form's to judge too ("Enter at least one domain")."""


class NewOrganisationSerializer(serializers.Serializer):
    name = Answer()
    ods_code = OdsCodeAnswer(required=False, default="", help_text="Its NHS ODS code, like RR8.")
    has_nhsmail_presence = serializers.BooleanField()


class PersonSerializer(serializers.Serializer):
    name = Answer()
    email = EmailAnswer()


class NewContactSerializer(serializers.Serializer):
    name = Answer()
    job_title = Answer()
    email = EmailAnswer()
    phone = PhoneAnswer(required=False, default="")


class NewSignatorySerializer(serializers.Serializer):
    name = Answer()
    job_title = Answer()
    email = EmailAnswer()


class RaiseRequestSerializer(serializers.Serializer):
    """POST /api/v1/requests/: the service desk's form as JSON."""

    organisation = NewOrganisationSerializer()
    domains = DomainsAnswer(
        child=DomainAnswer(),
        help_text=f"Domain names (U- or A-labels), at most {MAX_DOMAINS_PER_REQUEST}.",
    )
    justification = LongAnswer(required=False, default="Teams federation")
    requester = PersonSerializer()
    spoc = NewContactSerializer()
    technical_contact = NewContactSerializer()
    signatory = NewSignatorySerializer(
        required=False, allow_null=True, default=None, help_text="The Director who signs, if known."
    )
    on_behalf_reason = LongAnswer(
        help_text="Why the request is raised on the organisation's behalf (a ticket number)."
    )


# The form's field -> the body's path, to name a form's error where the client sent the answer.
FORM_FIELD_PATHS = {
    "organisation_name": "organisation.name",
    "ods_code": "organisation.ods_code",
    "has_nhsmail_presence": "organisation.has_nhsmail_presence",
    "domains": "domains",
    "justification": "justification",
    "requester_name": "requester.name",
    "requester_email": "requester.email",
    "on_behalf_reason": "on_behalf_reason",
    **{
        f"{prefix}_{part}": f"{path}.{part}"
        for prefix, path in (("spoc", "spoc"), ("technical", "technical_contact"))
        for part in ("name", "job_title", "email", "phone")
    },
    **{f"signatory_{part}": f"signatory.{part}" for part in ("name", "job_title", "email")},
}


def raise_form(data: dict) -> RaiseOnBehalfForm:
    """The service desk's form, bound to a shape-checked body."""
    signatory = data.get("signatory") or {}
    form_data = {
        "organisation_name": data["organisation"]["name"],
        "ods_code": data["organisation"]["ods_code"],
        "has_nhsmail_presence": "yes" if data["organisation"]["has_nhsmail_presence"] else "no",
        # The form's own splitting (lines, commas, semicolons) and domain rules apply.
        "domains": "\n".join(data["domains"]),
        "justification": data["justification"],
        "requester_name": data["requester"]["name"],
        "requester_email": data["requester"]["email"],
        "on_behalf_reason": data["on_behalf_reason"],
        **{f"signatory_{part}": signatory.get(part, "") for part in ("name", "job_title", "email")},
    }
    for prefix, key in (("spoc", "spoc"), ("technical", "technical_contact")):
        for part in ("name", "job_title", "email", "phone"):
            form_data[f"{prefix}_{part}"] = data[key][part]
    return RaiseOnBehalfForm(form_data)


def form_errors(form: RaiseOnBehalfForm) -> dict[str, list[str]]:
    """The form's errors by the body's paths."""
    return {
        FORM_FIELD_PATHS.get(field, "non_field_errors"): [str(message) for message in messages]
        for field, messages in form.errors.items()
    }
