"""API keys in the Authorization header: the only way in (no session, no cookie)."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from .keys import key_matches, prefix_of
from .models import ApiKey
from .services import api_key_used

SCHEME = "Bearer"
# One sentence for every bad key, so an answer never tells which part was wrong.
NOT_A_LIVE_KEY = "The API key is not valid: it is unknown, expired or revoked."


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer fpk_<prefix>_<secret>`; the request acts as the key's client."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, plaintext = header.partition(" ")
        if not header:
            return None  # no key: the permission check answers 401
        if scheme.lower() != SCHEME.lower() or not plaintext.strip():
            raise exceptions.AuthenticationFailed(
                f"Send the key as `Authorization: {SCHEME} <key>`."
            )
        plaintext = plaintext.strip()
        prefix = prefix_of(plaintext)
        key = (
            ApiKey.objects.select_related("client__user").filter(prefix=prefix).first()
            if prefix
            else None
        )
        if key is None or not key_matches(plaintext, key.secret_hash):
            raise exceptions.AuthenticationFailed(NOT_A_LIVE_KEY)
        client = key.client
        if not key.is_live(timezone.now()) or client.revoked_at or not client.user.is_active:
            raise exceptions.AuthenticationFailed(NOT_A_LIVE_KEY)
        api_key_used(key=key)
        return client.user, key

    def authenticate_header(self, request):
        return f'{SCHEME} realm="api"'
