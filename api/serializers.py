"""What the API says about its own clients."""

from rest_framework import serializers


class WhoAmISerializer(serializers.Serializer):
    client = serializers.CharField(help_text="The API client this key belongs to.")
    scopes = serializers.ListField(child=serializers.CharField())
    key_prefix = serializers.CharField(help_text="The key's visible prefix: fpk_<prefix>_…")
    key_expires_at = serializers.DateTimeField()
    rate_limit_per_minute = serializers.IntegerField()
