"""Facts about the HTTP request being served."""

import contextlib
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address
    the outermost trusted proxy saw (each proxy appends to X-Forwarded-For)."""
    address = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            # A proxy that writes nonsense: keep the connection's address.
            with contextlib.suppress(ValueError):
                address = str(ipaddress.ip_address(forwarded[-proxies]))
    return address
