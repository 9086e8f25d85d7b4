"""Staff register API clients, issue and revoke keys; a key is shown once, when issued."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from federation_portal.permissions import may
from portal_kit.admin import ReadOnlyAdminMixin, shown_once
from portal_kit.errors import ActionRefused

from .models import ApiClient, ApiKey
from .scopes import SCOPE_CHOICES
from .services import (
    DEFAULT_KEY_DAYS,
    MAX_KEY_DAYS,
    api_client_create,
    api_client_revoke,
    api_client_update,
    api_key_issue,
    api_key_revoke,
    scopes_refusal,
)

KEY_SHOWN_TEMPLATE = "admin/api/apiclient/key_shown.html"


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    key_days = forms.IntegerField(
        label="First key lasts (days)",
        min_value=1,
        max_value=MAX_KEY_DAYS,
        initial=DEFAULT_KEY_DAYS,
        required=False,
    )

    class Meta:
        model = ApiClient
        fields = ["name", "description", "scopes", "rate_limit_per_minute"]

    acting_user = None  # set per request by ApiClientAdmin.get_form

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        others = ApiClient.objects.exclude(pk=self.instance.pk)
        if others.filter(name__iexact=name).exists():
            raise forms.ValidationError(f"There is already an API client called {name}.")
        return name

    def clean_scopes(self):
        scopes = self.cleaned_data["scopes"]
        refusal = scopes_refusal(scopes, actor=self.acting_user)
        if refusal:
            raise forms.ValidationError(refusal)
        return scopes


class ApiKeyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApiKey
    fields = [
        "shown_prefix",
        "created_at",
        "created_by",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    ]
    readonly_fields = fields
    extra = 0

    @admin.display(description="Key")
    def shown_prefix(self, key):
        return f"fpk_{key.prefix}_…"


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    inlines = [ApiKeyInline]
    list_display = ["name", "scope_list", "live_keys", "last_used", "revoked_at"]
    search_fields = ["name"]
    change_form_template = "admin/api/apiclient/change_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.acting_user = request.user  # a new class each request: the scopes are judged by it
        return form

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj else []  # no keys before save

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "description", "scopes", "rate_limit_per_minute", "key_days"]
        return [
            "name",
            "description",
            "scopes",
            "rate_limit_per_minute",
            "created_at",
            "created_by",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.revoked_at:
            return self.get_fields(request, obj)
        return ["name", "created_at", "created_by", "revoked_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the audit log names the client

    @admin.display(description="Scopes")
    def scope_list(self, client):
        return ", ".join(client.scopes) or "(none)"

    @admin.display(description="Live keys")
    def live_keys(self, client):
        return client.keys.live().count()

    @admin.display(description="Last used")
    def last_used(self, client):
        used = [k.last_used_at for k in client.keys.all() if k.last_used_at]
        return max(used) if used else "never"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            api_client_update(
                client_id=obj.pk,
                scopes=data["scopes"],
                rate_limit_per_minute=data["rate_limit_per_minute"],
                actor=request.user,
            )
            obj.refresh_from_db()
            return
        client, key = api_client_create(
            name=data["name"],
            description=data["description"],
            scopes=data["scopes"],
            rate_limit_per_minute=data["rate_limit_per_minute"],
            key_days=data.get("key_days") or DEFAULT_KEY_DAYS,
            actor=request.user,
        )
        obj.pk = client.pk
        obj.refresh_from_db()
        request._new_api_key = key  # shown by response_add, once

    def save_related(self, request, form, formsets, change):
        pass  # keys change only through the buttons below the form

    def response_add(self, request, obj, post_url_continue=None):
        return self._key_shown(request, obj, request._new_api_key)

    def _key_shown(self, request, client, key):
        return shown_once(
            self,
            request,
            KEY_SHOWN_TEMPLATE,
            title=f"The key for {client.name}",
            client=client,
            plaintext=key.plaintext,
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:client_id>/issue-key/", wrap(self.issue_key_view), name="api_issue_key"),
            path(
                "<int:client_id>/revoke/", wrap(self.revoke_client_view), name="api_revoke_client"
            ),
            path("keys/<int:key_id>/revoke/", wrap(self.revoke_key_view), name="api_revoke_key"),
            *super().get_urls(),
        ]

    def _ensure_manager(self, request):
        if not may(request.user, "manage_api_clients"):
            raise PermissionDenied

    def _back(self, client_id):
        return redirect(reverse("admin:api_apiclient_change", args=[client_id]))

    def issue_key_view(self, request, client_id):
        self._ensure_manager(request)
        if request.method != "POST":
            return self._back(client_id)
        client = get_object_or_404(ApiClient, pk=client_id)
        try:
            days = int(request.POST.get("key_days") or DEFAULT_KEY_DAYS)
            key = api_key_issue(client_id=client.pk, key_days=days, actor=request.user)
        except (ActionRefused, ValueError) as error:
            message = str(error) if isinstance(error, ActionRefused) else "Enter a number of days."
            messages.error(request, message)
            return self._back(client_id)
        return self._key_shown(request, client, key)

    def revoke_key_view(self, request, key_id):
        self._ensure_manager(request)
        key = get_object_or_404(ApiKey, pk=key_id)
        if request.method == "POST":
            try:
                api_key_revoke(key_id=key.pk, actor=request.user)
                messages.success(request, f"Key fpk_{key.prefix}_… no longer works.")
            except ActionRefused as error:
                messages.error(request, str(error))
        return self._back(key.client_id)

    def revoke_client_view(self, request, client_id):
        self._ensure_manager(request)
        client = get_object_or_404(ApiClient, pk=client_id)
        if request.method == "POST":
            try:
                api_client_revoke(client_id=client.pk, actor=request.user)
                messages.success(request, f"{client.name} is revoked: none of its keys work.")
            except ActionRefused as error:
                messages.error(request, str(error))
        return self._back(client_id)
