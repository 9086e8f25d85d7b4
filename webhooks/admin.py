"""Staff register webhook endpoints (the secret shown once), read deliveries and their attempts,
and replay a delivery."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from api.models import ApiClient
from portal_kit.admin import ReadOnlyAdminMixin, shown_once
from portal_kit.errors import ActionRefused

from .addresses import url_refusal
from .events import EVENT_CHOICES
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import webhook_delivery_replay, webhook_endpoint_create, webhook_endpoint_update

SECRET_SHOWN_TEMPLATE = "admin/webhooks/webhookendpoint/secret_shown.html"  # noqa: S105


class WebhookEndpointForm(forms.ModelForm):
    client = forms.ModelChoiceField(queryset=ApiClient.objects.filter(revoked_at__isnull=True))
    url = forms.URLField(max_length=500, assume_scheme="https", label="Receiver URL")
    events = forms.MultipleChoiceField(choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        # url is declared above, not made from the model: a readonly url on the change page
        # would otherwise make Django's default URLField (http assumed) again.
        fields = ["client", "events", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        refusal = url_refusal(url)
        if refusal:
            raise forms.ValidationError(refusal)
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "client", "event_list", "active", "created_at"]
    list_filter = ["active"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["client", "url", "events"]
        return ["client", "url", "events", "active", "created_at", "created_by"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["client", "url", "created_at", "created_by"]

    def has_delete_permission(self, request, obj=None):
        return False  # switched off, never deleted: its deliveries name it

    @admin.display(description="Events")
    def event_list(self, endpoint):
        return ", ".join(endpoint.events)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            webhook_endpoint_update(
                endpoint_id=obj.pk,
                events=data["events"],
                active=data["active"],
                actor=request.user,
            )
            obj.refresh_from_db()
            return
        endpoint, secret = webhook_endpoint_create(
            client_id=data["client"].pk,
            url=data["url"],
            events=data["events"],
            actor=request.user,
        )
        obj.pk = endpoint.pk
        obj.refresh_from_db()
        request._new_webhook_secret = secret  # shown by response_add, once

    def response_add(self, request, obj, post_url_continue=None):
        return shown_once(
            self,
            request,
            SECRET_SHOWN_TEMPLATE,
            title=f"The signing secret for {obj.url}",
            endpoint=obj,
            secret=request._new_webhook_secret,
        )


class WebhookAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = ["started_at", "duration_ms", "status_code", "error"]
    readonly_fields = fields
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    inlines = [WebhookAttemptInline]
    list_display = [
        "event_type",
        "event_id",
        "endpoint",
        "status",
        "attempts",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "endpoint__url"]
    fields = [
        "endpoint",
        "event_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    ]
    readonly_fields = fields
    actions = ["replay"]
    change_form_template = "admin/webhooks/webhookdelivery/change_form.html"

    @admin.action(description="Replay: send the selected deliveries' events again")
    def replay(self, request, queryset):
        for delivery in queryset:
            self._replay(request, delivery)

    def _replay(self, request, delivery):
        try:
            replay = webhook_delivery_replay(delivery_id=delivery.pk, actor=request.user)
        except ActionRefused as error:
            messages.error(request, str(error))
            return
        messages.success(
            request,
            f"Event {delivery.event_id} is sent again to {delivery.endpoint.url} "
            f"(delivery {replay.pk}).",
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:delivery_id>/replay/", wrap(self.replay_view), name="webhooks_replay"),
            *super().get_urls(),
        ]

    def replay_view(self, request, delivery_id):
        delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
        if request.method == "POST":
            self._replay(request, delivery)
        return redirect(reverse("admin:webhooks_webhookdelivery_change", args=[delivery_id]))
