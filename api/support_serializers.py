"""What the API says about support requests, and what a reply to one carries."""

from rest_framework import serializers

from support.models import Category, SupportStatus

from .fields import StrictCharField


class SupportFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=SupportStatus.choices, required=False, help_text="Only requests in this status."
    )
    request_reference = serializers.CharField(
        required=False,
        max_length=20,
        help_text="Only the support requests of this federation request (FR-…).",
    )


class SupportReplySerializer(serializers.Serializer):
    """One message in a support request's thread."""

    from_team = serializers.BooleanField(
        help_text="True for the Feedback team (or an API client), false for the contact."
    )
    author = serializers.SerializerMethodField(help_text="Username (team) or email (contact).")
    body = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_author(self, reply) -> str:
        return reply.author.get_username() if reply.author_id else reply.author_email


class SupportRequestSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="SR-…")
    request_reference = serializers.CharField(
        source="request.reference", help_text="The federation request it is about (FR-…)."
    )
    organisation = serializers.CharField(source="request.organisation.name")
    category = serializers.ChoiceField(choices=Category.choices)
    status = serializers.ChoiceField(choices=SupportStatus.choices)
    raised_by_name = serializers.CharField()
    raised_by_email = serializers.EmailField()
    started_on = serializers.DateField(help_text="When the problem started.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SupportRequestDetailSerializer(SupportRequestSerializer):
    description = serializers.CharField()
    affected_users = serializers.CharField(allow_blank=True)
    replies = SupportReplySerializer(many=True, help_text="The thread, oldest first.")


class SupportUpdateSerializer(serializers.Serializer):
    """A staff reply: the status the request moves to, and what the contact is told."""

    status = serializers.ChoiceField(
        choices=SupportStatus.choices,
        help_text="The status after this reply (send the current one to leave it as it is).",
    )
    reply = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text="Emailed to the contact and shown on their portal page.",
    )
