"""No system resolver, no real port 25, and SMTP servers on loopback.

NSD and the `nameserver` fixture are in tests/requests_app/conftest.py.
"""

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import warnings
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from tests.nsd import free_port


@pytest.fixture(autouse=True)
def _no_system_resolver(settings, monkeypatch):
    """No test may ask the machine's resolver: an empty DNS_NAMESERVERS fails loudly."""
    settings.DNS_NAMESERVERS = ["127.0.0.1:1"]  # a closed loopback port unless `nameserver`
    from requests_app.checks import resolver

    def refuse(*args, **kwargs):
        raise AssertionError("a test reached for /etc/resolv.conf")

    monkeypatch.setattr(resolver.dns.asyncresolver.Resolver, "read_resolv_conf", refuse)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (UDP and TCP)."""
    return free_port()


@pytest.fixture
def silent_dns_port():
    """A 'resolver' that reads every query and never answers: UDP is dropped and TCP accepted
    into a backlog nobody reads, as behind a firewall that swallows packets."""
    port = free_port()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink,
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener,
    ):
        sink.bind(("127.0.0.1", port))
        listener.bind(("127.0.0.1", port))
        listener.listen(8)
        yield port


@pytest.fixture(scope="session")
def test_certificate():
    """A self-signed certificate and key for the SMTP servers, made with the openssl CLI."""
    directory = Path(tempfile.mkdtemp(prefix="fp-cert-"))
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=mx.mailhost.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "OPENSSL_CONF": "/dev/null"},
    )
    yield cert, key
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def _smtp_probe_on_a_closed_port(settings):
    """Nothing probes a real port 25: tests that want an SMTP server start one."""
    settings.SMTP_PROBE_PORT = free_port()


@pytest.fixture
def smtp_server(test_certificate):
    """Start aiosmtpd on 127.0.0.1: smtp_server(starttls=True, tls_range=(min, max)) -> port."""
    controllers = []

    def start(*, starttls: bool = True, tls_range=None) -> int:
        kwargs = {}
        if starttls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*test_certificate)
            if tls_range:
                # TLS 1.0/1.1 need SHA-1 suites, which OpenSSL 3 allows only at level 0.
                context.set_ciphers("ALL:@SECLEVEL=0")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # old TLS on purpose
                    context.minimum_version, context.maximum_version = tls_range
            kwargs["tls_context"] = context
        controller = Controller(Sink(), hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        controllers.append(controller)
        return controller.port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def silent_smtp_port():
    """A TCP server that accepts connections and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def rcode_dns_server():
    """rcode_dns_server(rcode) -> port: a real DNS server on loopback (UDP and TCP) answering
    every query with that response code and nothing else, as a broken resolver does (SERVFAIL
    when it cannot validate or reach the authority, REFUSED when it will not serve us)."""
    import threading

    import dns.exception
    import dns.message

    sockets: list[socket.socket] = []

    def answer(wire: bytes, rcode) -> bytes:
        response = dns.message.make_response(dns.message.from_wire(wire))
        response.set_rcode(rcode)
        return response.to_wire()

    def serve_udp(sock, rcode):
        while True:
            try:
                wire, client = sock.recvfrom(4096)
                if not wire:
                    return  # shut down at teardown
                sock.sendto(answer(wire, rcode), client)
            except OSError:
                return  # closed at teardown
            except dns.exception.DNSException:
                continue  # not a DNS query: nothing to answer

    def serve_tcp(listener, rcode):
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                try:
                    length = int.from_bytes(connection.recv(2), "big")
                    wire = b""
                    while len(wire) < length:
                        wire += connection.recv(length - len(wire))
                    reply = answer(wire, rcode)
                    connection.sendall(len(reply).to_bytes(2, "big") + reply)
                except (OSError, dns.exception.DNSException):
                    pass

    def start(rcode) -> int:
        port = free_port()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", port))
        tcp.listen(16)
        sockets.extend((udp, tcp))
        threading.Thread(target=serve_udp, args=(udp, rcode), daemon=True).start()
        threading.Thread(target=serve_tcp, args=(tcp, rcode), daemon=True).start()
        return port

    yield start
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
