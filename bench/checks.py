"""Domain-check throughput: this project's engine against checkdmarc, on 500 generated domains.

Run from the project root (checkdmarc is not a project dependency; see bench/README.md):

    .venv/bin/python bench/checks.py [--domains 500] [--address 127.0.0.53]
        [--latency-ms N [N ...]] [--proxy-address 127.0.0.54]

Writes a zone for each generated domain (MX, SPF with includes, DMARC at various policies, DKIM
selectors, MTA-STS, TLS-RPT, Teams SRV, some signed with DNSSEC), the provider zones they point
at (Microsoft 365, Google, Mimecast, ...) and the parent zones holding their DS records, and
serves them all from a real NSD on ADDRESS port 53 (checkdmarc only asks port 53; every address in
127.0.0.0/8 is loopback). Then, for each delay N (default 0 and 20 ms), runs one after the other
and each in one go the engine (every check but starttls) and checkdmarc (no MX TLS tests), and
prints domains per second, the ratio, the checks and DNS queries per domain, and sanity figures.

At 0 ms both tools ask NSD directly: on loopback both are CPU-bound, the engine's worst case. At
N > 0 both ask a delay proxy on PROXY_ADDRESS port 53 (a child process; UDP, and TCP with its
length-prefixed messages) that holds every query N ms before passing it to NSD, standing for the
round trip to a real resolver. The proxy's own cost is measured at 0 ms against NSD direct.

Nothing may leave loopback: a tripwire in this process refuses every socket connect, send and
name lookup (getaddrinfo) that is not to a loopback address, and counts what it refused; the
proxy only talks to NSD's address. Needs root (port 53; NSD drops to user nobody).
"""

import argparse
import asyncio
import base64
import collections
import contextlib
import ipaddress
import logging
import multiprocessing
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

# Run as bench/checks.py, Python puts bench/ on the path: the project's packages need the root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.nsd import NSD, sign_zone, tcp_accepts, write_config

NSD_CONTROL = shutil.which("nsd-control") or "/usr/sbin/nsd-control"
NS_HOSTS = ("ns1.bench-dns.net", "ns2.bench-dns.net")
PARENT_ZONES = ("uk", "org.uk", "co.uk", "ac.uk", "com", "org")
SUFFIX_WEIGHTS = {"org.uk": 45, "co.uk": 20, "ac.uk": 5, "com": 15, "org": 15}
PLACES = [
    "northshire",
    "riverside",
    "eastfield",
    "westbrook",
    "kingsbridge",
    "calder",
    "upton",
    "marshfield",
    "ashdown",
    "greyhaven",
]
KINDS = [
    "hospice",
    "medical-practice",
    "pharmacy",
    "dental-care",
    "council",
    "care-homes",
    "optometrists",
    "health-partnership",
    "mind",
    "university",
    "ambulance",
    "community-care",
]
SUBDOMAIN_LABELS = ["mail", "staff", "research", "care", "admin", "estates"]
# SPF includes beyond the mail provider's: (include target, its TXT record).
SPF_EXTRAS = {
    "servers.mcsv.net": "v=spf1 ip4:205.201.128.0/20 ip4:198.2.128.0/18 ip4:148.105.8.0/21 ?all",
    "sendgrid.net": "v=spf1 ip4:167.89.0.0/17 ip4:208.117.48.0/20 ip4:50.31.32.0/19 ~all",
    "mail.zendesk.com": "v=spf1 ip4:192.161.144.0/20 ip4:185.12.80.0/22 ip4:188.172.128.0/20 ~all",
    "_spf.salesforce.com": "v=spf1 include:_spf1.salesforce.com include:_spf2.salesforce.com ~all",
    "spf.mandrillapp.com": "v=spf1 ip4:198.2.128.0/18 ip4:148.105.8.0/21 ~all",
}


@dataclass
class Domain:
    name: str
    zone: str  # the zone file it lives in: itself, or its parent for a subdomain
    records: list[str] = field(default_factory=list)  # "name TTL? TYPE data" lines, FQDNs
    dmarc_policy: str = ""  # the policy a correct checker reports ("" for none or broken)
    subdomain_policy: str = ""  # sp= (else p=) of its own record, for subdomains without one
    signed: bool = False


# -- generating the zones ----------------------------------------------------------------------


def txt(text: str) -> str:
    """A TXT rdata, split into strings of at most 255 bytes (RFC 1035 3.3.14)."""
    return " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255)) or '""'


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate_domains(count: int, rng: random.Random) -> list[Domain]:
    """count domains of varied, realistic shapes; about 6% are subdomains of earlier ones."""
    domains: list[Domain] = []
    apexes: list[Domain] = []
    used: set[str] = set()
    while len(domains) < count:
        if apexes and rng.random() < 0.06:
            parent = rng.choice(apexes)
            name = f"{rng.choice(SUBDOMAIN_LABELS)}.{parent.name}"
            if name in used:
                continue
            domain = Domain(name, zone=parent.name)
        else:
            suffix = pick(rng, SUFFIX_WEIGHTS)
            name = f"{rng.choice(PLACES)}-{rng.choice(KINDS)}-{len(domains) + 1}.{suffix}"
            domain = Domain(name, zone=name, signed=rng.random() < 0.06)
            apexes.append(domain)
        used.add(name)
        domains.append(domain)
        fill_records(domain, rng)
    by_name = {d.name: d for d in domains}
    for domain in domains:
        if domain.zone != domain.name and not domain.dmarc_policy and not has_own_dmarc(domain):
            # RFC 7489 6.6.3: a subdomain without a record takes its organisational domain's
            # (sp= when given).
            domain.dmarc_policy = by_name[domain.zone].subdomain_policy
    return domains


def has_own_dmarc(domain: Domain) -> bool:
    return any(line.startswith(f"_dmarc.{domain.name}.") for line in domain.records)


def fill_records(domain: Domain, rng: random.Random) -> None:
    d = domain.name
    fq = f"{d}."
    label = d.replace(".", "-")
    add = domain.records.append
    provider = pick(
        rng,
        {"m365": 55, "google": 12, "mimecast": 10, "own": 15, "no_mx": 4, "null_mx": 4},
    )
    spf_terms: list[str] = []
    if provider == "m365":
        add(f"{fq} MX 0 {label}.mail.protection.outlook.com.")
        spf_terms.append("include:spf.protection.outlook.com")
        if rng.random() < 0.5:
            add(f"{fq} TXT {txt(f'MS=ms{rng.randrange(10**7, 10**8)}')}")
        if rng.random() < 0.7:
            tenant = label.split("-")[0] + str(rng.randrange(100))
            for selector in ("selector1", "selector2"):
                add(
                    f"{selector}._domainkey.{fq} CNAME "
                    f"{selector}-{label}._domainkey.{tenant}.onmicrosoft.com."
                )
        if rng.random() < 0.6:
            add(f"_sipfederationtls._tcp.{fq} SRV 100 1 5061 sipfed.online.lync.com.")
            add(f"_sip._tls.{fq} SRV 100 1 443 sipdir.online.lync.com.")
            add(f"lyncdiscover.{fq} CNAME webdir.online.lync.com.")
    elif provider == "google":
        for preference, host in (
            (1, "aspmx.l.google.com"),
            (5, "alt1.aspmx.l.google.com"),
            (5, "alt2.aspmx.l.google.com"),
            (10, "alt3.aspmx.l.google.com"),
            (10, "alt4.aspmx.l.google.com"),
        ):
            add(f"{fq} MX {preference} {host}.")
        spf_terms.append("include:_spf.google.com")
        add(f"{fq} TXT {txt('google-site-verification=' + random_token(rng, 43))}")
        if rng.random() < 0.6:
            add(f"google._domainkey.{fq} TXT {txt(dkim_key(rng))}")
    elif provider == "mimecast":
        add(f"{fq} MX 10 eu-smtp-inbound-1.mimecast.com.")
        add(f"{fq} MX 10 eu-smtp-inbound-2.mimecast.com.")
        spf_terms.append("include:eu._netblocks.mimecast.com")
        if rng.random() < 0.4:
            add(f"mimecast20230101._domainkey.{fq} TXT {txt(dkim_key(rng))}")
    elif provider == "own":
        third = rng.randrange(1, 250)
        add(f"{fq} MX 10 mx1.{fq}")
        add(f"{fq} MX 20 mx2.{fq}")
        # Loopback addresses: nothing could reach a real host even if something connected.
        add(f"mx1.{fq} A 127.0.3.{third}")
        add(f"mx2.{fq} A 127.0.4.{third}")
        spf_terms += ["mx", f"ip4:127.0.3.{third}"]
        if rng.random() < 0.4:
            add(f"s1._domainkey.{fq} TXT {txt(dkim_key(rng))}")
    elif provider == "null_mx":
        add(f"{fq} MX 0 .")
    if rng.random() < 0.3:
        spf_terms += [f"include:{name}" for name in rng.sample(sorted(SPF_EXTRAS), 2)]
    elif rng.random() < 0.3:
        spf_terms.append(f"include:{rng.choice(sorted(SPF_EXTRAS))}")

    spf_shape = pick(rng, {"one": 92, "none": 4, "two": 2, "over_limit": 2})
    if provider == "null_mx":
        add(f"{fq} TXT {txt('v=spf1 -all')}")
    elif spf_shape == "one":
        ending = pick(rng, {"-all": 62, "~all": 33, "?all": 4, "+all": 1})
        add(f"{fq} TXT {txt(' '.join(['v=spf1', *spf_terms, ending]))}")
    elif spf_shape == "two":
        add(f"{fq} TXT {txt(' '.join(['v=spf1', *spf_terms, '-all']))}")
        add(f"{fq} TXT {txt('v=spf1 include:sendgrid.net ~all')}")
    elif spf_shape == "over_limit":
        # Four providers' chains: well over RFC 7208's ten DNS-querying terms.
        many = [
            "include:spf.protection.outlook.com",
            "include:_spf.google.com",
            "include:eu._netblocks.mimecast.com",
            "include:_spf.salesforce.com",
            *[f"include:{name}" for name in sorted(SPF_EXTRAS)],
            "a",
            "mx",
        ]
        add(f"{fq} TXT {txt(' '.join(['v=spf1', *many, '-all']))}")

    if rng.random() < 0.3:
        add(f"{fq} TXT {txt('facebook-domain-verification=' + random_token(rng, 30).lower())}")

    is_subdomain = domain.zone != domain.name
    dmarc_shape = pick(
        rng,
        {"missing": 60, "own": 40} if is_subdomain else {"missing": 8, "two": 2, "one": 90},
    )
    if dmarc_shape in ("one", "own"):
        policy = pick(rng, {"reject": 40, "quarantine": 34, "none": 18})
        tags = ["v=DMARC1", f"p={policy}"]
        if policy == "quarantine" and rng.random() < 0.15:
            tags.append("pct=50")
        subdomain_policy = policy
        if not is_subdomain and rng.random() < 0.08:
            subdomain_policy = rng.choice(["none", "quarantine"])
            tags.append(f"sp={subdomain_policy}")
        where = rng.random()
        if where < 0.75:
            tags.append(f"rua=mailto:dmarc@{d}")
        elif where < 0.9:
            tags.append("rua=mailto:rua@mailcollector.com")
        if rng.random() < 0.2:
            tags.append(f"ruf=mailto:dmarc-forensic@{d}; fo=1")
        if rng.random() < 0.3:
            tags += ["adkim=s", "aspf=s"]
        add(f"_dmarc.{fq} TXT {txt('; '.join(tags))}")
        domain.dmarc_policy = policy
        domain.subdomain_policy = subdomain_policy
    elif dmarc_shape == "two":
        add(f"_dmarc.{fq} TXT {txt(f'v=DMARC1; p=reject; rua=mailto:dmarc@{d}')}")
        add(f"_dmarc.{fq} TXT {txt('v=DMARC1; p=none')}")

    if provider in ("m365", "google", "mimecast", "own"):
        if rng.random() < 0.15:
            add(f"_mta-sts.{fq} TXT {txt(f'v=STSv1; id=2024{rng.randrange(10**6):06d}')}")
            add(f"mta-sts.{fq} A 127.0.5.{rng.randrange(1, 250)}")
        if rng.random() < 0.2:
            add(f"_smtp._tls.{fq} TXT {txt(f'v=TLSRPTv1; rua=mailto:tlsrpt@{d}')}")
    if not is_subdomain:
        add(f"www.{fq} A 127.0.6.{rng.randrange(1, 250)}")


def random_token(rng: random.Random, length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(length))


def dkim_key(rng: random.Random) -> str:
    # The length of a 2048-bit RSA public key's base64; the bytes are random, no one verifies.
    key = base64.b64encode(rng.randbytes(294)).decode()
    return f"v=DKIM1; k=rsa; p={key}"


def provider_zones(address: str) -> dict[str, list[str]]:
    """The zones the generated domains point at: mail providers, SPF includes, the name servers."""
    outlook_spf = (
        "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:52.102.0.0/16 "
        "ip4:52.103.0.0/17 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/49 "
        "ip6:2a01:111:f403:8000::/51 ip6:2a01:111:f403:c000::/51 ip6:2a01:111:f403:f000::/52 "
        "include:spfd.protection.outlook.com -all"
    )
    google = [f"_netblocks{n}.google.com" for n in ("", "2", "3")]
    zones = {
        "outlook.com": [
            f"spf.protection.outlook.com. TXT {txt(outlook_spf)}",
            "spfd.protection.outlook.com. TXT "
            + txt("v=spf1 ip4:51.4.72.0/24 ip4:51.5.72.0/24 ip4:51.5.80.0/27 -all"),
            "*.mail.protection.outlook.com. A 127.0.2.10",
        ],
        "google.com": [
            "_spf.google.com. TXT "
            + txt(" ".join(["v=spf1", *[f"include:{n}" for n in google], "~all"])),
            *[
                f"{name}. TXT "
                + txt(f"v=spf1 ip4:{64 + i}.233.160.0/19 ip4:{66 + i}.102.0.0/20 ~all")
                for i, name in enumerate(google)
            ],
            *[
                f"{host}.google.com. A 127.0.2.{20 + i}"
                for i, host in enumerate(
                    ["aspmx.l", "alt1.aspmx.l", "alt2.aspmx.l", "alt3.aspmx.l", "alt4.aspmx.l"]
                )
            ],
        ],
        "mimecast.com": [
            "eu._netblocks.mimecast.com. TXT "
            + txt("v=spf1 ip4:195.130.217.0/24 ip4:91.220.42.0/24 ip4:146.101.78.0/24 ~all"),
            "eu-smtp-inbound-1.mimecast.com. A 127.0.2.31",
            "eu-smtp-inbound-2.mimecast.com. A 127.0.2.32",
        ],
        "salesforce.com": [
            "_spf1.salesforce.com. TXT "
            + txt("v=spf1 ip4:13.108.16.0/20 ip4:85.222.128.0/19 ~all"),
            "_spf2.salesforce.com. TXT " + txt("v=spf1 ip4:136.146.128.0/20 ~all"),
        ],
        # Third-party DMARC reports: RFC 7489 7.1's authorisation record, for every domain.
        "mailcollector.com": [
            "mailcollector.com. MX 10 mx.mailcollector.com.",
            "mx.mailcollector.com. A 127.0.2.40",
            f"*._report._dmarc.mailcollector.com. TXT {txt('v=DMARC1')}",
        ],
        "bench-dns.net": [f"{host}. A {address}" for host in NS_HOSTS],
        "lync.com": [
            "sipfed.online.lync.com. A 127.0.2.50",
            "sipdir.online.lync.com. A 127.0.2.51",
            "webdir.online.lync.com. A 127.0.2.52",
        ],
    }
    for name, record in SPF_EXTRAS.items():
        parent = ".".join(name.split(".")[-2:])
        zones.setdefault(parent, []).append(f"{name}. TXT {txt(record)}")
    return zones


def zone_text(origin: str, records: list[str]) -> str:
    head = [
        "$TTL 3600",
        f"{origin}. SOA {NS_HOSTS[0]}. hostmaster.{origin}. 2024060101 7200 3600 1209600 3600",
        *[f"{origin}. NS {host}." for host in NS_HOSTS],
    ]
    return "\n".join([*head, *records]) + "\n"


def write_zones(directory: Path, domains: list[Domain], address: str) -> dict[str, str]:
    """Every zone file; returns zone name -> file name for nsd.conf."""
    files: dict[str, str] = {}
    by_zone: dict[str, list[str]] = collections.defaultdict(list)
    for domain in domains:
        by_zone[domain.zone] += domain.records
    parents: dict[str, list[str]] = {parent: [] for parent in PARENT_ZONES}
    providers = provider_zones(address)
    for origin, records in [*by_zone.items(), *providers.items()]:
        (directory / f"{origin}.zone").write_text(zone_text(origin, records))
        files[origin] = f"{origin}.zone"
        parent = origin.split(".", 1)[1]
        if parent in parents:
            parents[parent] += [f"{origin}. NS {host}." for host in NS_HOSTS]
    for domain in domains:
        if domain.signed:
            parents[domain.zone.split(".", 1)[1]].append(sign_zone(directory, domain.zone))
            files[domain.zone] = f"{domain.zone}.zone.signed"
    for origin in PARENT_ZONES:
        parent = origin.split(".", 1)[1] if "." in origin else ""
        if parent in parents:
            parents[parent] += [f"{origin}. NS {host}." for host in NS_HOSTS]
    for origin, records in parents.items():
        (directory / f"{origin}.zone").write_text(zone_text(origin, records))
        files[origin] = f"{origin}.zone"
    # Reverse DNS for every address above (checkdmarc looks up each MX address's PTR).
    reverse = {}
    for records in [*by_zone.values(), *providers.values()]:
        for line in records:
            owner, rdtype, *data = line.split()
            if rdtype == "A" and not owner.startswith("*"):
                reverse.setdefault(data[0], owner)
    reverse["127.0.2.10"] = "mail.protection.outlook.com."
    (directory / "127.in-addr.arpa.zone").write_text(
        zone_text(
            "127.in-addr.arpa",
            [
                f"{'.'.join(reversed(address.split('.')))}.in-addr.arpa. PTR {host}"
                for address, host in reverse.items()
            ],
        )
    )
    files["127.in-addr.arpa"] = "127.in-addr.arpa.zone"
    return files


# -- NSD ---------------------------------------------------------------------------------------


def port_free(address: str, port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((address, port))
            except OSError:
                return False
    return True


@contextlib.contextmanager
def running_nsd(directory: Path, address: str, zone_files: dict[str, str]):
    """NSD on address:53 as user nobody; yields a function returning its query counter."""
    config = write_config(
        directory, zone_files, address=address, port=53, control_socket=directory / "nsd.ctl"
    )
    # NSD reads the zones after dropping to nobody, and writes its state files here.
    directory.chmod(0o777)
    for path in directory.iterdir():
        path.chmod(0o666)
    checked = subprocess.run(["nsd-checkconf", str(config)], capture_output=True, text=True)
    if checked.returncode:
        raise SystemExit(f"nsd-checkconf refused the configuration: {checked.stderr}")
    if not port_free(address, 53):
        raise SystemExit(f"{address}:53 is in use: choose another --address in 127.0.0.0/8")
    process = subprocess.Popen(
        [NSD, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        # A UDP query would only wait for its time-out; a TCP connect says NSD is listening.
        deadline = time.monotonic() + 30
        while not tcp_accepts(53, address):
            if process.poll() is not None or time.monotonic() > deadline:
                log = directory / "nsd.log"
                raise SystemExit(
                    f"NSD did not start on {address}:53: "
                    + (log.read_text() if log.exists() else "no log")
                )
            time.sleep(0.05)
        log = (directory / "nsd.log").read_text()
        if "error" in log.lower():
            raise SystemExit(f"NSD reported errors loading the zones:\n{log}")

        def queries() -> collections.Counter[str]:
            """NSD's counters so far: queries, and answers by rcode (REFUSED: not our zones)."""
            stats = subprocess.run(
                [NSD_CONTROL, "-c", str(config), "stats_noreset"], capture_output=True, text=True
            )
            return collections.Counter(
                {
                    name: int(value)
                    for name, value in re.findall(
                        r"^num\.(queries|rcode\.\w+)=(\d+)$", stats.stdout, re.MULTILINE
                    )
                }
            )

        yield queries
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# -- the loopback tripwire ---------------------------------------------------------------------


class Tripwire:
    """Refuse (and count) every connect, sendto and name lookup of this process off loopback.

    A name (not an address) handed to getaddrinfo is refused as well: resolving it would ask the
    machine's resolver (/etc/resolv.conf), which may be anywhere.
    """

    def __init__(self):
        self.refused: collections.Counter[str] = collections.Counter()
        self._saved = {}

    @staticmethod
    def _loopback(host) -> bool:
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def _check(self, family, destination, what: str) -> None:
        if family == socket.AF_UNIX or not isinstance(destination, tuple):
            return
        if not self._loopback(destination[0]):
            self.refused[f"{what} {destination[0]}"] += 1
            raise OSError(101, f"bench tripwire: {what} to {destination[0]} is off loopback")

    def install(self) -> None:
        real = self._saved = {
            "connect": socket.socket.connect,
            "connect_ex": socket.socket.connect_ex,
            "sendto": socket.socket.sendto,
            "getaddrinfo": socket.getaddrinfo,
        }
        tripwire = self

        def connect(sock, address):
            tripwire._check(sock.family, address, "connect")
            return real["connect"](sock, address)

        def connect_ex(sock, address):
            tripwire._check(sock.family, address, "connect")
            return real["connect_ex"](sock, address)

        def sendto(sock, data, *args):
            tripwire._check(sock.family, args[-1], "sendto")
            return real["sendto"](sock, data, *args)

        def getaddrinfo(host, *args, **kwargs):
            if host is not None and not self._loopback(host if isinstance(host, str) else ""):
                name = host.decode() if isinstance(host, bytes) else str(host)
                # Group by the first label (mta-sts.<domain> -> "mta-sts.*").
                label = name.split(".")[0] + ".*" if "." in name else name
                tripwire.refused[f"name lookup {label}"] += 1
                raise socket.gaierror(socket.EAI_NONAME, f"bench tripwire: {name} not looked up")
            return real["getaddrinfo"](host, *args, **kwargs)

        socket.socket.connect = connect
        socket.socket.connect_ex = connect_ex
        socket.socket.sendto = sendto
        socket.getaddrinfo = getaddrinfo

    def uninstall(self) -> None:
        socket.socket.connect = self._saved["connect"]
        socket.socket.connect_ex = self._saved["connect_ex"]
        socket.socket.sendto = self._saved["sendto"]
        socket.getaddrinfo = self._saved["getaddrinfo"]


# -- the delay proxy ---------------------------------------------------------------------------
#
# NSD answers from loopback in microseconds; a real resolver answers after a network round trip.
# The proxy stands for that round trip: it holds every query DELAY before passing it to NSD and
# sends NSD's answer straight back. It runs in a child process (its own interpreter, so it never
# waits for the bench's GIL) and only ever talks to NSD's loopback address.


class ProxyStats:
    """What went through the proxy since the last reading."""

    def __init__(self, in_flight: int = 0):
        self.asked: collections.Counter[str] = collections.Counter()  # udp, tcp, connections
        self.extra: list[float] = []  # per answer: seconds it took beyond the delay
        self.in_flight = in_flight
        self.max_in_flight = in_flight

    def query(self, transport: str) -> None:
        self.asked[transport] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def answered(self, started: float, delay: float) -> None:
        self.in_flight -= 1
        self.extra.append(time.perf_counter() - started - delay)

    def summary(self) -> dict:
        extra = sorted(self.extra)

        def at(fraction: float) -> float:
            return extra[min(len(extra) - 1, int(fraction * len(extra)))] if extra else 0.0

        return {
            **self.asked,
            "answered": len(extra),
            "max_in_flight": self.max_in_flight,
            "extra_median": at(0.5),
            "extra_p99": at(0.99),
            "extra_max": extra[-1] if extra else 0.0,
        }


def big_buffers(sock: socket.socket) -> None:
    """4 MB socket buffers, so a burst of queries is queued rather than dropped."""
    for force, plain in (
        (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF),
        (getattr(socket, "SO_SNDBUFFORCE", None), socket.SO_SNDBUF),
    ):
        try:
            sock.setsockopt(socket.SOL_SOCKET, force or plain, 4 << 20)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, plain, 4 << 20)


class UdpSide(asyncio.DatagramProtocol):
    def __init__(self, received):
        self.received = received

    def datagram_received(self, data, addr):
        self.received(data, addr)

    def error_received(self, exc):
        pass  # an ICMP error from a client that went away: nothing to do


class DelayProxy:
    """UDP and TCP on LISTEN:53; each query waits `delay` seconds, then goes to NSD."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.delay = 0.0
        self.stats = ProxyStats()
        # Held queries, oldest first: (when due, forward, its arguments). One delay for all, so
        # they fall due in the order they came, and one timer (for the oldest) serves them all.
        self.held: collections.deque[tuple[float, object, tuple]] = collections.deque()
        self.timer: asyncio.TimerHandle | None = None
        # UDP: one socket towards NSD, each query under an id of ours (two clients may use the
        # same id), mapped back to the client's id and address.
        self.pending: dict[int, tuple[bytes, tuple, float]] = {}
        self.next_id = 0

    async def start(self, listen: tuple[str, int]) -> None:
        # UDP on plain non-blocking sockets, each readable event drained in a loop: asyncio's
        # datagram transports take one loop turn per datagram, a few times slower.
        loop = asyncio.get_running_loop()
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        big_buffers(self.front)
        self.front.bind(listen)
        self.front.setblocking(False)
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        big_buffers(self.back)
        self.back.connect(self.upstream)
        self.back.setblocking(False)
        loop.add_reader(self.front.fileno(), self.udp_queries)
        loop.add_reader(self.back.fileno(), self.udp_answers)
        self.tcp = await asyncio.start_server(
            self.tcp_client, *listen, reuse_address=True, backlog=1024
        )

    def take_stats(self) -> dict:
        summary = self.stats.summary()
        self.stats = ProxyStats(self.stats.in_flight)
        return summary

    def hold(self, forward, *args) -> None:
        """forward(*args) after the delay (now, at 0 ms)."""
        if not self.delay:
            forward(*args)
            return
        loop = asyncio.get_running_loop()
        self.held.append((loop.time() + self.delay, forward, args))
        if self.timer is None:
            self.timer = loop.call_at(self.held[0][0], self.release)

    def release(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.held and self.held[0][0] <= now:
            _, forward, args = self.held.popleft()
            forward(*args)
        self.timer = loop.call_at(self.held[0][0], self.release) if self.held else None

    def udp_queries(self) -> None:
        for _ in range(256):  # then let the loop serve the rest too
            try:
                data, client = self.front.recvfrom(65535)
            except OSError:  # BlockingIOError: nothing more to read
                return
            if len(data) >= 12:  # a DNS header at least
                self.stats.query("udp")
                self.hold(self.udp_forward, data, client, time.perf_counter())

    def udp_forward(self, data: bytes, client: tuple, started: float) -> None:
        now = time.perf_counter()
        for _ in range(1 << 16):
            our_id, self.next_id = self.next_id, (self.next_id + 1) & 0xFFFF
            held = self.pending.get(our_id)
            if held is None or now - held[2] > 30:  # free, or its answer is never coming
                break
        else:
            return  # 65536 queries unanswered: drop this one, the client will time out
        if held is not None:
            self.stats.in_flight -= 1
        self.pending[our_id] = (data[:2], client, started)
        with contextlib.suppress(OSError):  # a full buffer: lost, as on a network
            self.back.send(our_id.to_bytes(2, "big") + data[2:])

    def udp_answers(self) -> None:
        for _ in range(256):
            try:
                data = self.back.recv(65535)
            except OSError:
                return
            held = self.pending.pop(int.from_bytes(data[:2], "big"), None)
            if held is None:
                continue
            client_id, client, started = held
            with contextlib.suppress(OSError):
                self.front.sendto(client_id + data[2:], client)
            self.stats.answered(started, self.delay)

    async def tcp_client(self, reader, writer) -> None:
        """One client connection, one connection to NSD; messages are 2-byte length-prefixed."""
        self.stats.asked["connections"] += 1
        # Connect to NSD while the first query is read (and held).
        upstream = asyncio.ensure_future(asyncio.open_connection(*self.upstream))
        waiting: collections.deque[float] = collections.deque()  # queries not yet answered
        drained = asyncio.Event()

        async def answers() -> None:
            upstream_reader, _ = await upstream
            while True:
                head = await upstream_reader.readexactly(2)
                body = await upstream_reader.readexactly(int.from_bytes(head, "big"))
                writer.write(head + body)
                if waiting:
                    self.stats.answered(waiting.popleft(), self.delay)
                if not waiting:
                    drained.set()

        def forward(message: bytes) -> None:
            if not upstream.done():
                upstream.add_done_callback(lambda _: forward(message))
            elif not upstream.cancelled() and not upstream.exception():
                upstream_writer = upstream.result()[1]
                if not upstream_writer.is_closing():
                    upstream_writer.write(message)

        pump = asyncio.create_task(answers())
        try:
            while True:
                head = await reader.readexactly(2)
                body = await reader.readexactly(int.from_bytes(head, "big"))
                waiting.append(time.perf_counter())
                drained.clear()
                self.stats.query("tcp")
                self.hold(forward, head + body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client has sent all it will
        if waiting and not writer.is_closing() and not pump.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(drained.wait(), self.delay + 5)
        self.stats.in_flight -= len(waiting)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
        if upstream.done() and not upstream.cancelled() and not upstream.exception():
            upstream.result()[1].close()
        else:
            upstream.cancel()
        writer.close()


async def serve_proxy(listen: tuple[str, int], upstream: tuple[str, int], control) -> None:
    """The child process: serve until told to stop; answer the parent's commands on `control`."""
    proxy = DelayProxy(upstream)
    try:
        await proxy.start(listen)
    except OSError as error:
        control.send(("error", str(error)))
        return
    control.send(("ready", None))
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()

    def command() -> None:
        try:
            what, value = control.recv()
        except (EOFError, OSError):
            what, value = "stop", None  # the bench is gone
        if what == "delay":
            proxy.delay = value / 1000
            control.send(value)
        elif what == "stats":
            control.send(proxy.take_stats())
        elif not stopped.done():
            loop.remove_reader(control.fileno())
            stopped.set_result(None)

    loop.add_reader(control.fileno(), command)
    await stopped


def proxy_process(listen: tuple[str, int], upstream: tuple[str, int], control) -> None:
    asyncio.run(serve_proxy(listen, upstream, control))


@contextlib.contextmanager
def running_proxy(address: str, upstream: str):
    """The delay proxy on address:53 in front of NSD on upstream:53, in a child process.

    Yields a function: control("delay", ms) sets the delay, control("stats") returns (and resets)
    what went through since the last call.
    """
    if not port_free(address, 53):
        raise SystemExit(f"{address}:53 is in use: choose another --proxy-address in 127.0.0.0/8")
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=proxy_process, args=((address, 53), (upstream, 53), theirs), daemon=True
    )
    process.start()
    theirs.close()
    try:
        if not ours.poll(30):
            raise SystemExit("the delay proxy did not start in 30 s")
        status, detail = ours.recv()
        if status != "ready":
            raise SystemExit(f"the delay proxy could not listen on {address}:53: {detail}")

        def control(what: str, value=None):
            ours.send((what, value))
            return ours.recv()

        yield control
    finally:
        with contextlib.suppress(OSError, EOFError, BrokenPipeError):
            ours.send(("stop", None))
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)


@dataclass
class Flood:
    answered: int
    lost: int
    seconds: float
    rtts: list[float]  # seconds from sending each query to its answer

    def __add__(self, other: "Flood") -> "Flood":
        return Flood(
            self.answered + other.answered,
            self.lost + other.lost,
            self.seconds + other.seconds,
            self.rtts + other.rtts,
        )

    @property
    def median_rtt(self) -> float:
        return sorted(self.rtts)[len(self.rtts) // 2] if self.rtts else float("nan")


async def flood(address: str, wires: list[bytes], count: int, in_flight: int) -> Flood:
    """Send count queries to address:53 over UDP, in_flight at a time; no parsing, ids only."""
    loop = asyncio.get_running_loop()
    sent_at: dict[int, float] = {}
    rtts: list[float] = []
    last = [0.0]  # when the latest answer came
    done = loop.create_future()
    next_query = iter(range(count))

    def send_next() -> None:
        index = next(next_query, None)
        if index is None:
            if not sent_at and not done.done():
                done.set_result(None)
            return
        query_id = index & 0xFFFF
        sent_at[query_id] = time.perf_counter()
        transport.sendto(query_id.to_bytes(2, "big") + wires[index % len(wires)][2:])

    def received(data: bytes, _server) -> None:
        started = sent_at.pop(int.from_bytes(data[:2], "big"), None)
        if started is not None:
            last[0] = time.perf_counter()
            rtts.append(last[0] - started)
            send_next()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    big_buffers(sock)
    sock.connect((address, 53))
    transport, _ = await loop.create_datagram_endpoint(lambda: UdpSide(received), sock=sock)
    started = time.perf_counter()
    for _ in range(in_flight):
        send_next()
    answered = 0
    while not done.done():  # stop when a second passes without an answer (lost queries)
        await asyncio.wait([done], timeout=1.0)
        if len(rtts) == answered:
            break
        answered = len(rtts)
    transport.close()
    return Flood(len(rtts), count - len(rtts), max(0.0, last[0] - started), rtts)


def flood_wires(domains: list[str]) -> list[bytes]:
    """Queries like the tools' (MX, SPF's TXT, DMARC's TXT), as wire-format messages."""
    import dns.message

    return [
        dns.message.make_query(name, rdtype, use_edns=0, payload=1232).to_wire()
        for domain in domains
        for name, rdtype in ((domain, "MX"), (domain, "TXT"), (f"_dmarc.{domain}", "TXT"))
    ]


def proxy_overhead(nsd: str, proxy: str, wires: list[bytes], control) -> dict[str, Flood]:
    """The proxy at 0 ms against NSD direct: one query at a time (latency), then many (capacity).

    Three rounds, direct and proxy taking turns, so both meet the same machine's moods.
    """
    control("delay", 0)
    results: dict[tuple[str, str], Flood] = {}
    for label, count, in_flight in (("one at a time", 2000, 1), ("256 in flight", 20000, 256)):
        for _ in range(3):
            for target, address in (("NSD direct", nsd), ("through proxy", proxy)):
                result = asyncio.run(flood(address, wires, count, in_flight))
                key = (label, target)
                results[key] = results[key] + result if key in results else result
    control("stats")  # what the floods put through is not any tool's
    return results


# -- running both ------------------------------------------------------------------------------


@dataclass
class Run:
    tool: str
    seconds: float
    cpu_seconds: float  # this process's CPU time: on loopback both tools are CPU-bound
    domains: int
    checks_per_domain: float
    nsd: collections.Counter[str]  # NSD's counters during the run: queries, rcode.*
    reject: int
    results: dict  # domain -> the tool's result


def run_engine(domains: list[str], address: str, queries) -> Run:
    from requests_app.checks.engine import check_domains_sync

    before = queries()
    started, started_cpu = time.perf_counter(), time.process_time()
    reports = check_domains_sync(domains, nameservers=[address], skip=frozenset({"starttls"}))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    after = queries()
    results = {report.domain: report for report in reports}
    reject = sum(
        1
        for report in reports
        for check in report.checks
        if check.id == "dmarc"
        and check.details.get("policy") == "reject"
        and len(check.details.get("records", [])) == 1
    )
    return Run(
        "this engine",
        seconds,
        cpu_seconds,
        len(reports),
        sum(len(r.checks) for r in reports) / len(reports),
        after - before,
        reject,
        results,
    )


CHECKDMARC_SECTIONS = ("dnssec", "soa", "ns", "mta_sts", "mx", "spf", "dmarc", "smtp_tls_reporting")


def checkdmarc_policy(result: dict) -> str:
    dmarc = result.get("dmarc") or {}
    if not dmarc.get("valid"):
        return ""
    tags = dmarc.get("tags") or {}
    location = (dmarc.get("location") or "").rstrip(".")
    if location and location != result["domain"] and "sp" in tags:
        return str(tags["sp"].get("value", ""))  # inherited: the subdomain policy applies
    return str((tags.get("p") or {}).get("value", ""))


def run_checkdmarc(domains: list[str], address: str, queries) -> Run:
    import checkdmarc

    before = queries()
    started, started_cpu = time.perf_counter(), time.process_time()
    # check_mx_tls=False is what turns the MX TLS tests off in 6.x; skip_tls (the CLI's
    # --skip-tls) is kept there only as a deprecated no-op.
    results = checkdmarc.check_domains(domains, nameservers=[address], check_mx_tls=False)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    after = queries()
    if isinstance(results, dict):
        results = [results]
    sections = [s for s in (*CHECKDMARC_SECTIONS, "bimi") if s in results[0]]
    return Run(
        f"checkdmarc {checkdmarc.__version__}",
        seconds,
        cpu_seconds,
        len(results),
        float(len(sections)),
        after - before,
        sum(1 for result in results if checkdmarc_policy(result) == "reject"),
        {result["domain"]: result for result in results},
    )


class CountingHandler(logging.Handler):
    """Counts checkdmarc's log warnings by their first words, without printing them."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.counts: collections.Counter[str] = collections.Counter()

    def emit(self, record):
        self.counts[" ".join(record.getMessage().split()[:6])] += 1


def clear_checkdmarc_caches() -> None:
    """Empty checkdmarc's module-level caches (DNS answers, DNSSEC, DNSKEY, ...).

    Within one run they are checkdmarc's own doing (provider includes are asked once); a second
    run in the same process would otherwise start with the first run's answers.
    """
    from expiringdict import ExpiringDict

    for name, module in list(sys.modules.items()):
        if name == "checkdmarc" or name.startswith("checkdmarc."):
            for value in list(vars(module).values()):
                if isinstance(value, ExpiringDict):
                    value.clear()


@dataclass
class Mode:
    delay_ms: float
    engine: Run
    other: Run
    proxied: dict[str, dict]  # tool -> what went through the proxy (empty when straight to NSD)
    warnings: collections.Counter[str]  # checkdmarc's log warnings during its run


def run_mode(names, delay_ms: float, nsd: str, proxy_address: str, queries, proxy, counting):
    """Both tools, one after the other: straight to NSD at 0 ms, else through the delay proxy."""
    target = proxy_address if delay_ms else nsd
    proxied = {}
    if delay_ms:
        proxy("delay", delay_ms)
        proxy("stats")
    engine = run_engine(names, target, queries)
    print(f"  {delay_ms:g} ms: this engine: {engine.seconds:.2f} s", flush=True)
    if delay_ms:
        proxied[engine.tool] = proxy("stats")
    clear_checkdmarc_caches()
    counting.counts.clear()
    other = run_checkdmarc(names, target, queries)
    print(f"  {delay_ms:g} ms: {other.tool}: {other.seconds:.2f} s", flush=True)
    if delay_ms:
        proxied[other.tool] = proxy("stats")
    return Mode(delay_ms, engine, other, proxied, collections.Counter(counting.counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=500, help="domains to generate (500)")
    parser.add_argument(
        "--address", default="127.0.0.53", help="loopback address NSD listens on, port 53"
    )
    parser.add_argument("--seed", type=int, default=1596, help="random seed for the zones")
    parser.add_argument(
        "--latency-ms",
        type=float,
        nargs="+",
        default=[0, 20],
        metavar="N",
        help="delays to run both tools at, each a mode: 0 is straight to NSD, N > 0 through the "
        "delay proxy holding every query N ms (default: 0 20)",
    )
    parser.add_argument(
        "--proxy-address",
        default="127.0.0.54",
        help="loopback address the delay proxy listens on, port 53 (127.0.0.54)",
    )
    args = parser.parse_args()
    for option, address in (("--address", args.address), ("--proxy-address", args.proxy_address)):
        if not ipaddress.ip_address(address).is_loopback:
            parser.error(f"{option} must be a loopback address (127.0.0.0/8)")
    if args.proxy_address == args.address:
        parser.error("--proxy-address must differ from --address (both use port 53)")
    if any(delay < 0 for delay in args.latency_ms):
        parser.error("--latency-ms takes delays of 0 ms or more")
    if os.geteuid() != 0:
        parser.error("NSD must start as root to bind port 53 (it then runs as nobody)")
    delays = sorted(set(args.latency_ms))

    os.environ["DJANGO_SETTINGS_MODULE"] = "federation_portal.settings.test"
    scratch = tempfile.TemporaryDirectory(prefix="fp-bench-checks-")
    os.environ["TEST_SCRATCH_DIR"] = scratch.name  # the test settings keep files here
    import django

    django.setup()
    try:
        import checkdmarc  # noqa: F401 (fail before the zones are written)
    except ImportError:
        raise SystemExit(
            "checkdmarc is not installed: .venv/bin/pip install checkdmarc==6.0.4"
        ) from None
    from django.conf import settings

    rng = random.Random(args.seed)
    domains = generate_domains(args.domains, rng)
    names = [d.name for d in domains]
    modes: list[Mode] = []
    overhead = None
    # NSD runs as nobody: its directory must be outside any 0700 parent (mkdtemp's is /tmp).
    directory = Path(tempfile.mkdtemp(prefix="fp-bench-nsd-"))
    try:
        started = time.perf_counter()
        zone_files = write_zones(directory, domains, args.address)
        print(
            f"{len(domains)} domains ({sum(d.zone != d.name for d in domains)} subdomains, "
            f"{sum(d.signed for d in domains)} signed) in {len(zone_files)} zones, "
            f"written in {time.perf_counter() - started:.1f} s; NSD on {args.address}:53"
            + (f", delay proxy on {args.proxy_address}:53" if any(delays) else "")
        )
        with contextlib.ExitStack() as stack:
            queries = stack.enter_context(running_nsd(directory, args.address, zone_files))
            proxy = None
            if any(delays):
                proxy = stack.enter_context(running_proxy(args.proxy_address, args.address))
                print("  measuring the proxy at 0 ms against NSD direct ...", flush=True)
                floods = proxy_overhead(args.address, args.proxy_address, flood_wires(names), proxy)
            logging.basicConfig(level=logging.ERROR)
            counting = CountingHandler()
            logging.getLogger("checkdmarc").setLevel(logging.WARNING)  # as its CLI shows
            logging.getLogger("checkdmarc").addHandler(counting)
            logging.getLogger("checkdmarc").propagate = False
            tripwire = Tripwire()
            tripwire.install()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    for delay in delays:
                        modes.append(
                            run_mode(
                                names,
                                delay,
                                args.address,
                                args.proxy_address,
                                queries,
                                proxy,
                                counting,
                            )
                        )
                    if proxy:
                        # The engine asks the most queries at once: the proxy's worst load.
                        direct = next((m.engine for m in modes if not m.delay_ms), None)
                        if direct is None:
                            direct = run_engine(names, args.address, queries)
                        proxy("delay", 0)
                        proxy("stats")
                        through = run_engine(names, args.proxy_address, queries)
                        overhead = (floods, direct, through, proxy("stats"))
                        print(f"  0 ms through the proxy: this engine: {through.seconds:.2f} s")
            finally:
                tripwire.uninstall()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        scratch.cleanup()

    print(
        f"\nAll {len(domains)} domains, one run each, wall clock; NSD on loopback, "
        f"DNS_QUERY_TIMEOUT {settings.DNS_QUERY_TIMEOUT} s."
    )
    baseline = next((mode for mode in modes if not mode.delay_ms), None)
    for mode in modes:
        report_mode(domains, mode, args, baseline)
    engine_ids = sorted({c.id for r in modes[0].engine.results.values() for c in r.checks})
    first = next(iter(modes[0].other.results.values()))
    print(f"\nengine checks:     {', '.join(engine_ids)}")
    print(f"checkdmarc checks: {', '.join(k for k in first if k not in ('domain', 'base_domain'))}")
    if overhead:
        report_overhead(*overhead, args)
    print("\nRatio (engine / checkdmarc domains per second) by delay per query:")
    for mode in modes:
        print(f"  {mode.delay_ms:4g} ms: {ratio(mode):5.1f}x")
    print("\nOff-loopback traffic refused by the tripwire (all runs):", end="")
    if not tripwire.refused:
        print(" none attempted.")
    else:
        print()
        for what, n in tripwire.refused.most_common():
            print(f"  {n:5d}  {what}")


def ratio(mode: Mode) -> float:
    return (mode.engine.domains / mode.engine.seconds) / (mode.other.domains / mode.other.seconds)


def proxy_line(summary: dict, delay_ms: float) -> str:
    return (
        f"{summary.get('udp', 0)} UDP + {summary.get('tcp', 0)} TCP queries "
        f"({summary.get('connections', 0)} connections), {summary['answered']} answered, "
        f"at most {summary['max_in_flight']} at once; time beyond the {delay_ms:g} ms: median "
        f"{summary['extra_median'] * 1000:.2f} ms, p99 {summary['extra_p99'] * 1000:.2f} ms, "
        f"max {summary['extra_max'] * 1000:.2f} ms"
    )


def report_mode(domains, mode: Mode, args, baseline: Mode | None) -> None:
    engine, other = mode.engine, mode.other
    if mode.delay_ms:
        where = (
            f"both tools ask the delay proxy on {args.proxy_address}, which holds each query "
            f"{mode.delay_ms:g} ms before passing it to NSD"
        )
    else:
        where = f"both tools ask NSD on {args.address} directly (the engine's worst case)"
    print(f"\n== {mode.delay_ms:g} ms per query: {where} ==\n")
    header = (
        f"{'':<20}  {'seconds':>8}  {'CPU s':>6}  {'domains/s':>9}  {'checks/domain':>13}  "
        f"{'queries/domain':>14}"
    )
    print(header)
    print("-" * len(header))
    for run in (engine, other):
        per_domain = f"{run.nsd['queries'] / run.domains:.1f}" if run.nsd else "n/a"
        print(
            f"{run.tool:<20}  {run.seconds:8.2f}  {run.cpu_seconds:6.2f}  "
            f"{run.domains / run.seconds:9.1f}  "
            f"{run.checks_per_domain:13.1f}  {per_domain:>14}"
        )
    print(
        f"\nratio (engine / checkdmarc domains per second): {ratio(mode):.1f}x  "
        "(target: at least 5x)"
    )
    for run in (engine, other):
        rcodes = {k.removeprefix("rcode."): v for k, v in run.nsd.items() if k != "queries"}
        print(f"  NSD answers to {run.tool}: {dict(sorted(rcodes.items()))}")
    for tool, summary in mode.proxied.items():
        print(f"  proxy, {tool}: {proxy_line(summary, mode.delay_ms)}")
    if mode.delay_ms and baseline and other.nsd.get("queries"):
        # checkdmarc asks one query at a time: its extra wall time over the 0 ms run, less its
        # extra CPU time, per query, is what each query's wait really was (the delay, plus the
        # proxy's own time and its timer's lateness).
        count = other.nsd["queries"]
        wall = (other.seconds - baseline.other.seconds) / count
        cpu = (other.cpu_seconds - baseline.other.cpu_seconds) / count
        print(
            f"  checkdmarc (one query at a time) waited {(wall - cpu) * 1000:.2f} ms per query "
            f"more than at 0 ms (the delay is {mode.delay_ms:g} ms); its own CPU time also rose, "
            f"by {cpu * 1000:.2f} ms a query"
        )

    expected_reject = sum(1 for d in domains if d.dmarc_policy == "reject")
    print(f"\nSanity: DMARC p=reject in force (the generator wrote {expected_reject}):")
    print(f"  this engine: {engine.reject}   checkdmarc: {other.reject}")
    disagree = [
        d.name
        for d in domains
        if (d.dmarc_policy == "reject")
        != (checkdmarc_policy(other.results.get(d.name, {"domain": d.name})) == "reject")
    ]
    if disagree:
        print(f"  checkdmarc differs from the generator on {len(disagree)}: {disagree[:5]}")
    verdicts = collections.Counter(str(r.verdict) for r in engine.results.values())
    print(f"  engine verdicts: {dict(sorted(verdicts.items()))}")
    statuses = collections.Counter(
        (c.id, str(c.status)) for r in engine.results.values() for c in r.checks
    )
    errors = sum(n for (_, status), n in statuses.items() if status == "error")
    print(f"  engine check results with status error (time-outs, unreachable): {errors}")
    signed = sum(
        1
        for r in engine.results.values()
        for c in r.checks
        if c.id == "dnssec" and c.status == "pass"
    )
    print(
        f"  DNSSEC signed: generator {sum(d.signed for d in domains)}, engine {signed}, "
        f"checkdmarc {sum(1 for r in other.results.values() if r.get('dnssec'))}"
    )
    if mode.warnings:
        print(f"  checkdmarc logged {sum(mode.warnings.values())} warnings; most common:")
        for message, n in mode.warnings.most_common(4):
            print(f"    {n:5d}  {message} ...")


def report_overhead(floods: dict, direct: Run, through: Run, summary: dict, args) -> None:
    print(
        f"\n== The proxy's own cost, at 0 ms (NSD on {args.address}, proxy on "
        f"{args.proxy_address}) ==\n"
    )
    print(
        f"{'raw UDP queries':<30}  {'answered':>8}  {'lost':>4}  {'queries/s':>9}  "
        f"{'median RTT':>10}"
    )
    for (label, target), result in floods.items():
        rate = f"{result.answered / result.seconds:9.0f}" if result.seconds else "      n/a"
        print(
            f"{label + ', ' + target:<30}  {result.answered:8d}  {result.lost:4d}  {rate}  "
            f"{result.median_rtt * 1e6:7.0f} µs"
        )
    print(
        f"\nthis engine, all {direct.domains} domains: {direct.seconds:.2f} s straight to NSD, "
        f"{through.seconds:.2f} s through the proxy at 0 ms "
        f"({(through.seconds / direct.seconds - 1) * 100:+.0f}%)"
    )
    print(f"  proxy: {proxy_line(summary, 0)}")
    fastest = max(
        run.nsd["queries"] / run.seconds for run in (direct, through) if run.nsd and run.seconds
    )
    print(f"  the engine asked at most {fastest:.0f} queries/s (the faster of the two runs)")


if __name__ == "__main__":
    main()
