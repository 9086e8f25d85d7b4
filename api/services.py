"""Every write on API clients and keys: staff register a client, issue, rotate and revoke keys.

Each change is audited with the member of staff as the actor; a key's plaintext is returned
once, to be shown once, and only its hash is kept.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused
from requests_app.audit import audit

from .keys import NewKey, new_key
from .models import ApiClient, ApiKey, IdempotentAnswer
from .scopes import SCOPE_PERMISSIONS, SCOPES

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Two live keys at once: the new one is deployed while the old one still works, then revoked.
MAX_LIVE_KEYS = 2
DEFAULT_KEY_DAYS = 365
MAX_KEY_DAYS = 2 * 365


def _permissions_for(scopes: list[str]) -> list[Permission]:
    wanted = {perm for scope in scopes for perm in SCOPE_PERMISSIONS.get(scope, ())}
    found = []
    for dotted in sorted(wanted):
        app_label, codename = dotted.split(".", 1)
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def scopes_refusal(scopes: list[str], *, actor: User) -> str:
    """Why actor may not give a client these scopes, or "": a scope unknown, or one whose
    permission actor does not hold (no one hands a system more than they may do themselves)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        return f"Unknown scope: {', '.join(unknown)}."
    for scope in scopes:
        lacking = [perm for perm in SCOPE_PERMISSIONS.get(scope, ()) if not actor.has_perm(perm)]
        if lacking:
            return (
                f"You may not give a client the scope {scope}: it needs the permission "
                f"{', '.join(lacking)}, which you do not hold."
            )
    return ""


def _clean_scopes(scopes: list[str], *, actor: User) -> list[str]:
    refusal = scopes_refusal(scopes, actor=actor)
    if refusal:
        raise ActionRefused(refusal)
    return [scope for scope in SCOPES if scope in scopes]  # the documented order, no repeats


def _account_username(name: str) -> str:
    """A readable username for the client's account (the audit log shows it), unique even
    when two names slugify alike or a name has no Latin letters."""
    base = f"api-client-{slugify(name)[:100] or 'client'}"
    taken = get_user_model().objects.filter(username=base).exists()
    return f"{base}-{secrets.token_hex(3)}" if taken else base


def api_client_create(
    *,
    name: str,
    scopes: list[str],
    actor: User,
    description: str = "",
    rate_limit_per_minute: int = 120,
    key_days: int = DEFAULT_KEY_DAYS,
) -> tuple[ApiClient, NewKey]:
    """Register a client with its service account and first key; the key's plaintext is
    returned here and nowhere else."""
    ensure_may(actor, "manage_api_clients")
    scopes = _clean_scopes(scopes, actor=actor)
    name = name.strip()
    if not name:
        raise ActionRefused("Enter the client's name.")
    with transaction.atomic():
        if ApiClient.objects.filter(name__iexact=name).exists():
            raise ActionRefused(f"There is already an API client called {name}.")
        account = get_user_model().objects.create(
            username=_account_username(name),
            first_name=name[:150],
            is_staff=False,  # never signs in to the admin: it has no password either
        )
        account.set_unusable_password()
        account.save(update_fields=["password"])
        account.user_permissions.set(_permissions_for(scopes))
        client = ApiClient.objects.create(
            name=name,
            description=description,
            scopes=scopes,
            user=account,
            rate_limit_per_minute=rate_limit_per_minute,
            created_by=actor,
        )
        audit(
            None,
            actor,
            "api.client_created",
            message=f"API client {name} with scopes {', '.join(scopes) or '(none)'}.",
        )
        key = _issue(client, actor=actor, key_days=key_days)
    return client, key


def api_client_update(
    *, client_id: int, scopes: list[str], rate_limit_per_minute: int, actor: User
) -> ApiClient:
    """Change what a client may do and how often; its service account's permissions follow."""
    ensure_may(actor, "manage_api_clients")
    scopes = _clean_scopes(scopes, actor=actor)
    if rate_limit_per_minute < 1:
        raise ActionRefused("A client may make at least 1 call a minute.")
    with transaction.atomic():
        client = ApiClient.objects.select_for_update().get(pk=client_id)
        if client.revoked_at:
            raise ActionRefused(f"API client {client.name} was revoked; register a new one.")
        changes = []
        if scopes != client.scopes:
            changes.append(
                f"scopes {', '.join(client.scopes) or '(none)'} -> {', '.join(scopes) or '(none)'}"
            )
        if rate_limit_per_minute != client.rate_limit_per_minute:
            changes.append(
                f"rate limit {client.rate_limit_per_minute} -> {rate_limit_per_minute} a minute"
            )
        if not changes:
            return client
        client.scopes = scopes
        client.rate_limit_per_minute = rate_limit_per_minute
        client.save(update_fields=["scopes", "rate_limit_per_minute"])
        client.user.user_permissions.set(_permissions_for(scopes))
        audit(
            None,
            actor,
            "api.client_changed",
            message=f"API client {client.name}: {'; '.join(changes)}.",
        )
    return client


def _issue(client: ApiClient, *, actor: User, key_days: int) -> NewKey:
    if not 1 <= key_days <= MAX_KEY_DAYS:
        raise ActionRefused(f"A key lasts between 1 and {MAX_KEY_DAYS} days.")
    if client.keys.live().count() >= MAX_LIVE_KEYS:
        raise ActionRefused(
            f"API client {client.name} has {MAX_LIVE_KEYS} live keys already. Revoke the one "
            "being replaced first."
        )
    key = new_key()
    ApiKey.objects.create(
        client=client,
        prefix=key.prefix,
        secret_hash=key.secret_hash,
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=key_days),
    )
    audit(
        None,
        actor,
        "api.key_issued",
        message=f"API client {client.name}: key fpk_{key.prefix} issued for {key_days} days.",
    )
    return key


def api_key_issue(*, client_id: int, actor: User, key_days: int = DEFAULT_KEY_DAYS) -> NewKey:
    """A further key for a client (rotation: at most two live at once)."""
    ensure_may(actor, "manage_api_clients")
    with transaction.atomic():
        client = ApiClient.objects.select_for_update().get(pk=client_id)
        if client.revoked_at:
            raise ActionRefused(f"API client {client.name} was revoked; register a new one.")
        return _issue(client, actor=actor, key_days=key_days)


def api_key_revoke(*, key_id: int, actor: User) -> ApiKey:
    """Stop a key working at once."""
    ensure_may(actor, "manage_api_clients")
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().select_related("client").get(pk=key_id)
        if key.revoked_at:
            raise ActionRefused(f"Key fpk_{key.prefix} was revoked already.")
        key.revoked_at = timezone.now()
        key.revoked_by = actor
        key.save(update_fields=["revoked_at", "revoked_by"])
        audit(
            None,
            actor,
            "api.key_revoked",
            message=f"API client {key.client.name}: key fpk_{key.prefix} revoked.",
        )
    return key


def api_client_revoke(*, client_id: int, actor: User) -> ApiClient:
    """End a client: every key stops working and its account is deactivated."""
    ensure_may(actor, "manage_api_clients")
    with transaction.atomic():
        client = ApiClient.objects.select_for_update().select_related("user").get(pk=client_id)
        if client.revoked_at:
            raise ActionRefused(f"API client {client.name} was revoked already.")
        now = timezone.now()
        client.revoked_at = now
        client.save(update_fields=["revoked_at"])
        client.keys.filter(revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
        client.user.is_active = False
        client.user.save(update_fields=["is_active"])
        audit(None, actor, "api.client_revoked", message=f"API client {client.name} revoked.")
    return client


def api_key_used(*, key: ApiKey) -> None:
    """Note when a key was last used, at most once a minute per key (not a write per call)."""
    now = timezone.now()
    ApiKey.objects.filter(pk=key.pk).exclude(last_used_at__gt=now - timedelta(minutes=1)).update(
        last_used_at=now
    )


def idempotent_answers_expire(*, keep_hours: int) -> int:
    """Forget remembered POST answers older than keep_hours; returns how many went."""
    cutoff = timezone.now() - timedelta(hours=keep_hours)
    deleted, _ = IdempotentAnswer.objects.filter(created_at__lt=cutoff).delete()
    return deleted
