"""Serializer fields that take JSON as it is sent, without DRF's coercions."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField turns 0 or 1.5 into "0" or "1.5", which
    would let a client's wrong type through as text it never meant to send."""

    default_error_messages = {"not_a_string": "Send text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    default_error_messages = StrictCharField.default_error_messages

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


def refuse_unknown_parameters(query, known) -> None:
    """A 400 naming each query parameter the operation does not take: a misspelt filter or
    format must not quietly give an answer to another question."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        raise serializers.ValidationError(
            {name: ["This operation takes no such query parameter."] for name in unknown}
        )
