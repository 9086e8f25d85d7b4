"""Helpers for a real NSD on loopback: tests/requests_app/checks/zones/, and bench/checks.py's."""

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


def tcp_accepts(port: int, address: str = "127.0.0.1") -> bool:
    """Whether address:port takes a TCP connection: how to tell NSD is up (UDP would just wait)."""
    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False


def sign_zone(directory: Path, origin: str = "signed.test") -> str:
    """Sign <origin>.zone into <origin>.zone.signed with fresh keys (ldns); return its DS record."""
    zone = directory / f"{origin}.zone"
    keys = []
    for flags in ([], ["-k"]):  # a zone-signing key, then a key-signing key
        name = subprocess.run(
            ["ldns-keygen", "-a", "ECDSAP256SHA256", *flags, origin],
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


def write_config(
    directory: Path,
    zones: dict[str, str],
    *,
    port: int,
    address: str = "127.0.0.1",
    control_socket: Path | None = None,
) -> Path:
    """Write directory/nsd.conf: NSD on address:port as user nobody, its state files in directory.

    zones maps each origin to its zone file in directory. Remote control (nsd-control, for the
    query counters) listens on control_socket when given. Returns the file's path.
    """
    zone_config = "".join(
        f"zone:\n  name: {origin.rstrip('.')}.\n  zonefile: {file}\n"
        for origin, file in zones.items()
    )
    control = (
        f"  control-enable: yes\n  control-interface: {control_socket}\n"
        if control_socket is not None
        else "  control-enable: no\n"
    )
    config = directory / "nsd.conf"
    config.write_text(
        f"""server:
  ip-address: {address}@{port}
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
  # Response rate limiting (on by default, 200 answers a second per source) would drop answers:
  # every query comes from one address.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
{control}{zone_config}"""
    )
    return config
