"""The POST connects to the address that was judged, never to one a second look-up finds
(DNS rebinding), and TLS is still checked against the receiver's name; addresses that carry a
private one inside them are refused like it."""

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import timezone

from tests.factories import FederationRequestFactory
from webhooks.addresses import webhook_target
from webhooks.events import queue_webhook_event
from webhooks.models import WebhookAttempt
from webhooks.services import webhook_deliver

from .receiver import Receiver

pytestmark = pytest.mark.django_db


def test_the_target_is_the_judged_address_with_the_name_kept_for_host_and_tls():
    refusal, target = webhook_target("http://localhost:8443/hooks/in?team=nhs")

    assert refusal == ""
    assert target.url == "http://127.0.0.1:8443/hooks/in?team=nhs"
    assert (target.host_header, target.hostname) == ("localhost:8443", "localhost")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254 (cloud metadata)
        "https://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "https://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
        "https://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
        "https://169.254.169.254/latest/meta-data/",
        "https://0.0.0.0/",
        "https://2130706433/",  # 127.0.0.1 as one number
    ],
)
def test_addresses_with_a_private_one_inside_are_refused(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

    refusal, target = webhook_target(url)

    assert target is None
    assert "inside a private or local network" in refusal


def test_a_public_address_passes(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    refusal, target = webhook_target("https://[2606:4700::1111]/hooks")
    assert refusal == "" and target.url == "https://[2606:4700::1111]/hooks"
    assert ipaddress.ip_address("2606:4700::1111").is_global


def _certificate(tmp_path, name: str) -> tuple[str, ssl.SSLContext]:
    """A self-signed certificate for name: (its file, as the portal's CA bundle), and a server
    context serving it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = tmp_path / f"{name}.pem"
    key_file = tmp_path / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return str(cert_file), context


def _deliver_to(make_endpoint, url: str):
    endpoint, _ = make_endpoint(["request.state_changed"], url=url)
    req = FederationRequestFactory()
    [delivery] = queue_webhook_event(
        "request.state_changed",
        {"reference": req.reference, "state": "submitted"},
        occurred_at=timezone.now(),
    )
    return webhook_deliver(delivery_id=delivery.pk), delivery


def test_https_to_the_pinned_address_checks_the_certificate_against_the_name(
    make_endpoint, settings, tmp_path
):
    bundle, context = _certificate(tmp_path, "localhost")
    settings.WEBHOOK_TLS_VERIFY = bundle
    with Receiver([204], tls=context) as receiver:
        port = receiver.server.server_port
        outcome, _ = _deliver_to(make_endpoint, f"https://localhost:{port}/hooks")

        [post] = receiver.posts()
    assert outcome.status == "delivered"
    assert post.headers["Host"] == f"localhost:{port}"


def test_https_to_a_receiver_whose_certificate_names_another_host_is_not_sent(
    make_endpoint, settings, tmp_path
):
    """Connecting to the judged address does not loosen TLS: the certificate must name the
    host in the URL (here it names another, though it is trusted)."""
    bundle, context = _certificate(tmp_path, "elsewhere.example.org")
    settings.WEBHOOK_TLS_VERIFY = bundle
    with Receiver([204], tls=context) as receiver:
        port = receiver.server.server_port
        outcome, delivery = _deliver_to(make_endpoint, f"https://localhost:{port}/hooks")

        assert receiver.posts() == []
    assert outcome.status == "pending"  # tried again later, as any failure
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code is None and "SSLError" in attempt.error
