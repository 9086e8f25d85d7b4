"""A real NSD serving the test zones on a free loopback port, for the checks and check runs."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.nsd import NSD, ZONES, free_port, sign_zone, tcp_accepts, write_config


@pytest.fixture(scope="session")
def nsd_port():
    """NSD serving zones/ (test., and signed.test. signed at start), as user nobody."""
    # Under /tmp rather than pytest's tmp_path: its parents are 0700 and NSD runs as nobody.
    directory = Path(tempfile.mkdtemp(prefix="fp-nsd-"))
    directory.chmod(0o777)  # nobody writes xfrd state here
    for path in ZONES.glob("*.zone"):
        shutil.copy(path, directory / path.name)
    ds = sign_zone(directory)
    with (directory / "test.zone").open("a") as parent:
        parent.write(f"\nsigned NS ns.test.\n{ds}\n")
    port = free_port()
    # Every file in zones/ is served, named by its origin; signed.test from its signed copy.
    zones = {path.name.removesuffix(".zone"): path.name for path in ZONES.glob("*.zone")}
    zones["signed.test"] = "signed.test.zone.signed"
    config = write_config(directory, zones, port=port)
    for path in directory.iterdir():
        path.chmod(0o666)
    process = subprocess.Popen(
        [NSD, "-d", "-c", str(config)],
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
