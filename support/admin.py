"""The Feedback team works support requests: status, and replies that reach the contact."""

from django import forms
from django.contrib import admin, messages

from portal_kit.admin import ReadOnlyAdminMixin
from portal_kit.errors import ActionRefused

from .models import SupportReply, SupportRequest
from .services import support_requests


class SupportUpdateForm(forms.ModelForm):
    reply = forms.CharField(
        label="Reply to the contact",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text="Emailed to the contact who raised it, and shown on their portal page.",
    )

    class Meta:
        model = SupportRequest
        fields = ["status"]


class SupportReplyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SupportReply
    fields = ("created_at", "author", "author_email", "body")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SupportRequest)
class SupportRequestAdmin(admin.ModelAdmin):
    form = SupportUpdateForm
    list_display = (
        "reference",
        "request",
        "category",
        "raised_by_email",
        "status",
        "created_at",
        "updated_at",
    )
    list_filter = ("status", "category")
    list_select_related = ("request",)
    search_fields = ("reference", "request__reference", "raised_by_email", "description")
    readonly_fields = (
        "reference",
        "request",
        "raised_by_name",
        "raised_by_email",
        "category",
        "started_on",
        "affected_users",
        "description",
        "created_at",
        "updated_at",
    )
    fields = (*readonly_fields, "status", "reply")
    inlines = [SupportReplyInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # contacts raise them in the portal

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Every change goes through the service: audited, and the contact emailed.
        try:
            support_requests.support_update(
                support_id=obj.pk,
                actor=request.user,
                status=form.cleaned_data["status"],
                reply=form.cleaned_data.get("reply", ""),
            )
        except ActionRefused as refusal:
            self.message_user(request, str(refusal), messages.ERROR)

    def save_related(self, request, form, formsets, change):
        pass  # replies are written by the service; the inline is read-only
