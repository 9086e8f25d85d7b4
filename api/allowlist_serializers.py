"""What the API says about the allow list, its change sets, and a change set applied."""

from rest_framework import serializers

from requests_app.allow_list_formats import EXPORT_FORMATS, FORMATS

from .fields import StrictRegexField

FORMAT_CHOICES = [(name, export_format.label) for name, export_format in EXPORT_FORMATS.items()]


class AllowListEntrySerializer(serializers.Serializer):
    domain = serializers.CharField(help_text="The domain as an A-label (punycode).")
    effective_date = serializers.DateField(
        allow_null=True, help_text="From when it is on the list (may be after today)."
    )
    source = serializers.CharField(help_text="portal, or import (federated before the portal).")
    request_reference = serializers.CharField(
        allow_blank=True, help_text="The federation request it came with (FR-…), if any."
    )


class AllowListSnapshotSerializer(serializers.Serializer):
    on = serializers.DateField(help_text="Today, the date the snapshot was taken.")
    count = serializers.IntegerField()
    entries = AllowListEntrySerializer(many=True)


class ChangeSetQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=FORMAT_CHOICES,
        default="json",
        help_text=f"The export's format: {', '.join(FORMATS)}.",
    )


class ChangeSetSerializer(serializers.Serializer):
    """A change set's export: the text to apply to the tenant, and its SHA-256 to record."""

    format = serializers.ChoiceField(choices=FORMAT_CHOICES)
    filename = serializers.CharField()
    content_type = serializers.CharField(help_text="The text's media type, to save it with.")
    sha256 = serializers.CharField(
        help_text="SHA-256 of text (UTF-8): send it back once the change set is applied."
    )
    text = serializers.CharField(allow_blank=True, help_text="The export, exactly as to apply.")
    add = serializers.ListField(child=serializers.CharField(), help_text="Domains to allow.")
    remove = serializers.ListField(child=serializers.CharField(), help_text="Domains to remove.")
    warnings = serializers.ListField(child=serializers.CharField())


class ChangeSetAppliedSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=FORMAT_CHOICES)
    sha256 = StrictRegexField(
        r"^\s*[0-9a-fA-F]{64}\s*$",
        help_text="The sha256 of the change set export that was applied.",
        error_messages={"invalid": "Send the export's SHA-256, 64 hexadecimal characters."},
    )


class AllowListApplicationSerializer(serializers.Serializer):
    applied_at = serializers.DateTimeField()
    applied_by = serializers.CharField(source="applied_by.username")
    format = serializers.CharField(source="export_format")
    sha256 = serializers.CharField(source="export_sha256")
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    domains = serializers.ListField(
        child=serializers.CharField(), help_text="Every domain on the list once it applied."
    )
