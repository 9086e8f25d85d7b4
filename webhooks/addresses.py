"""Where the portal may POST: https in production, and never to this network (SSRF).

A receiver URL is judged when staff register it and again before every attempt (a name can be
pointed somewhere else later). The name is resolved once per attempt, here, and the POST
connects to the address that was judged (pinned_session): requests never resolves it again, so
a name re-pointed between the check and the connection (DNS rebinding) reaches nothing new. TLS
still checks the certificate against the name (SNI and hostname verification), not the address.

With WEBHOOKS_ALLOW_PRIVATE_ADDRESSES False (production) a name with any loopback, private,
link-local, reserved or multicast address is refused, and so is an IPv6 address that carries
one of those inside it (IPv4-mapped, NAT64 64:ff9b::/96, 6to4, Teredo). Redirects are never
followed (services._post).
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Target:
    """The judged address to connect to, and the name the receiver and its certificate know."""

    url: str  # the receiver's URL with its host replaced by the judged address
    host_header: str  # the host (and port, if given) as the URL named them
    hostname: str  # for TLS: SNI and the certificate's name


def url_refusal(url: str) -> str:
    """Why staff may not register url, as a sentence; "" when they may. Where private
    addresses are allowed (local runs, tests) the name need not resolve yet."""
    refusal = _shape_refusal(url)
    if refusal or settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        return refusal
    refusal, _ = webhook_target(url)
    return refusal


def _shape_refusal(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Enter a full URL, starting https://."
    if settings.WEBHOOKS_REQUIRE_HTTPS and parts.scheme != "https":
        return "The receiver's URL must start https:// (events are sent only over TLS)."
    if parts.username or parts.password:
        return "Leave credentials out of the URL: each delivery is signed with the secret."
    return ""


def webhook_target(url: str) -> tuple[str, Target | None]:
    """(why not, None) or ("", where to connect): the URL's shape, then its name resolved once
    and every address judged."""
    refusal = _shape_refusal(url)
    if refusal:
        return refusal, None
    parts = urlsplit(url)
    host = parts.hostname
    assert host is not None  # _shape_refusal holds it
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        return f"{host} does not resolve to an address.", None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not _public(address):
                return (
                    f"{host} resolves to {address}, an address inside a private or local "
                    "network: the portal sends events only to the internet."
                ), None
    # IPv4 first: a receiver on both answers there, and a host without IPv6 still connects.
    chosen = sorted(addresses, key=lambda address: address.version)[0]
    shown = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    host_header = parts.netloc.rsplit("@", 1)[-1]
    pinned_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return "", Target(url=pinned_url, host_header=host_header, hostname=host)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address, with nothing private carried inside it."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = [address.ipv4_mapped, address.sixtofour]
        if address.teredo:
            inner += list(address.teredo)
        if address in NAT64:
            inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        return all(_public(carried) for carried in inner if carried is not None)
    return True


class _NamedTLSAdapter(HTTPAdapter):
    """Connects where the URL says (an address) but speaks TLS to the receiver's name."""

    def __init__(self, hostname: str):
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: object
    ) -> None:
        pool_kwargs["server_hostname"] = self._hostname
        pool_kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


def pinned_session(target: Target) -> requests.Session:
    """A session that POSTs to target's judged address, its TLS checked against its name, and
    takes no proxy or settings from the environment."""
    session = requests.Session()
    session.trust_env = False
    session.verify = settings.WEBHOOK_TLS_VERIFY
    session.mount("https://", _NamedTLSAdapter(target.hostname))
    session.headers["Host"] = target.host_header
    return session
