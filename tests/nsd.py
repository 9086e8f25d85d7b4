"""Helpers for a real NSD on loopback serving tests/requests_app/checks/zones/."""

import shutil
import socket
import subprocess
from pathlib import Path

ZONES = Path(__file__).resolve().parent / "requests_app" / "checks" / "zones"
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


def sign_zone(directory: Path) -> str:
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
