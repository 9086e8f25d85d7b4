"""Where the portal may POST: https in production, and never to this network (SSRF).

A receiver URL is judged when staff register it and again before every attempt (a name can be
pointed somewhere else later). With WEBHOOKS_ALLOW_PRIVATE_ADDRESSES False (production) a host
that resolves to any loopback, private, link-local, reserved or multicast address is refused, and
redirects are never followed (services.deliver). What is left: a name re-pointed between our
look-up and requests' own (DNS rebinding, seconds wide); closing it needs connecting to the
checked address itself, a later step.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


def url_refusal(url: str) -> str:
    """Why the portal may not send to url, as a sentence for staff; "" when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Enter a full URL, starting https://."
    if settings.WEBHOOKS_REQUIRE_HTTPS and parts.scheme != "https":
        return "The receiver's URL must start https:// (events are sent only over TLS)."
    if parts.username or parts.password:
        return "Leave credentials out of the URL: each delivery is signed with the secret."
    if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        return ""
    return address_refusal(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def address_refusal(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return f"{host} does not resolve to an address."
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return (
                f"{host} resolves to {address}, an address inside a private or local network: "
                "the portal sends events only to the internet."
            )
    return ""
