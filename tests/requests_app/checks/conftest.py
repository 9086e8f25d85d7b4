"""A real NSD serving the zones/ folder on a free loopback port, and SMTP servers on loopback."""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

ZONES = Path(__file__).resolve().parent / "zones"
NSD = shutil.which("nsd") or "/usr/sbin/nsd"


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (DNS needs both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port


def tcp_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _sign_zone(directory: Path) -> str:
    """Sign signed.test with fresh keys (ldns); return its DS record for the parent."""
    zone = directory / "signed.test.zone"
    keys = []
    for flags in ([], ["-k"]):  # a zone-signing key, then a key-signing key
        name = subprocess.run(
            ["ldns-keygen", "-a", "ECDSAP256SHA256", *flags, "signed.test"],
            cwd=directory,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        keys.append(name)
    subprocess.run(
        ["ldns-signzone", "-e", "20991231000000", "-f", str(zone) + ".signed", str(zone), *keys],
        cwd=directory,
        check=True,
    )
    return (directory / f"{keys[1]}.ds").read_text().strip()


@pytest.fixture(scope="session")
def nsd_port():
    """NSD serving zones/ (test., and signed.test. signed at start), as user nobody."""
    # Under /tmp rather than pytest's tmp_path: its parents are 0700 and NSD runs as nobody.
    directory = Path(tempfile.mkdtemp(prefix="fp-nsd-"))
    directory.chmod(0o777)  # nobody writes xfrd state here
    for path in ZONES.glob("*.zone"):
        shutil.copy(path, directory / path.name)
    ds = _sign_zone(directory)
    with (directory / "test.zone").open("a") as parent:
        parent.write(f"\nsigned NS ns.test.\n{ds}\n")
    port = free_port()
    # Every file in zones/ is served, named by its origin; signed.test from its signed copy.
    zones = {f"{path.name.removesuffix('.zone')}.": path.name for path in ZONES.glob("*.zone")}
    zones["signed.test."] = "signed.test.zone.signed"
    zone_config = "".join(f"zone:\n  name: {n}\n  zonefile: {f}\n" for n, f in zones.items())
    (directory / "nsd.conf").write_text(
        f"""server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  do-ip6: no
  username: nobody
  chroot: ""
  zonesdir: "{directory}"
  database: ""
  zonelistfile: "{directory}/zone.list"
  xfrdfile: "{directory}/xfrd.state"
  xfrdir: "{directory}"
  pidfile: "{directory}/nsd.pid"
  logfile: "{directory}/nsd.log"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
{zone_config}"""
    )
    for path in directory.iterdir():
        path.chmod(0o666)
    process = subprocess.Popen(
        [NSD, "-d", "-c", str(directory / "nsd.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    # A UDP query would only wait for its time-out; a TCP connect says NSD is listening.
    deadline = time.monotonic() + 15
    while not tcp_accepts(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = (directory / "nsd.log").read_text() if (directory / "nsd.log").exists() else ""
            pytest.fail(f"NSD did not start on port {port}: {log}")
        time.sleep(0.05)
    yield port
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def nameserver(nsd_port, settings):
    """The NSD address; also set as DNS_NAMESERVERS so nothing falls back to resolv.conf."""
    entry = f"127.0.0.1:{nsd_port}"
    settings.DNS_NAMESERVERS = [entry]
    settings.DNS_QUERY_TIMEOUT = 2.0
    settings.DNS_DOMAIN_DEADLINE = 10.0
    return entry


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
