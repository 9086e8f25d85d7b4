"""Domain-check throughput: this project's engine against checkdmarc, on 500 generated domains.

Run from the project root (checkdmarc is not a project dependency; see bench/README.md):

    .venv/bin/python bench/checks.py [--domains 500] [--address 127.0.0.53]

Writes a zone for each generated domain (MX, SPF with includes, DMARC at various policies, DKIM
selectors, MTA-STS, TLS-RPT, Teams SRV, some signed with DNSSEC), the provider zones they point
at (Microsoft 365, Google, Mimecast, ...) and the parent zones holding their DS records, and
serves them all from a real NSD on ADDRESS port 53 (checkdmarc only asks port 53; every address in
127.0.0.0/8 is loopback). Then runs, one after the other and each in one go, the engine (every
check but starttls) and checkdmarc (no MX TLS tests), both pointed at that NSD only, and prints
domains per second, the ratio, the checks and DNS queries per domain, and sanity figures.

Nothing may leave loopback: a tripwire in this process refuses every socket connect, send and
name lookup (getaddrinfo) that is not to a loopback address, and counts what it refused.
Needs root (port 53; NSD drops to user nobody).
"""

import argparse
import base64
import collections
import contextlib
import ipaddress
import logging
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

ROOT = Path(__file__).resolve().parent.parent
NSD = shutil.which("nsd") or "/usr/sbin/nsd"
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


def sign_zone(directory: Path, origin: str) -> str:
    """Sign origin's zone file with fresh ECDSA keys (ldns); return its DS record for the parent."""
    keys = []
    for flags in ([], ["-k"]):  # a zone-signing key, then a key-signing key
        keys.append(
            subprocess.run(
                ["ldns-keygen", "-a", "ECDSAP256SHA256", *flags, origin],
                cwd=directory,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
    zone = directory / f"{origin}.zone"
    subprocess.run(
        ["ldns-signzone", "-e", "20991231000000", "-f", f"{zone}.signed", str(zone), *keys],
        cwd=directory,
        check=True,
    )
    return (directory / f"{keys[1]}.ds").read_text().strip()


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


def tcp_accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False


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
    control = directory / "nsd.ctl"
    zone_config = "".join(f"zone:\n  name: {n}.\n  zonefile: {f}\n" for n, f in zone_files.items())
    config = directory / "nsd.conf"
    config.write_text(
        f"""server:
  ip-address: {address}
  port: 53
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
  # Response rate limiting (on by default, 200 answers a second per source) would drop most
  # of a benchmark's answers: all come from one address.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: yes
  control-interface: {control}
{zone_config}"""
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
        while not tcp_accepts(address, 53):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=500, help="domains to generate (500)")
    parser.add_argument(
        "--address", default="127.0.0.53", help="loopback address NSD listens on, port 53"
    )
    parser.add_argument("--seed", type=int, default=1596, help="random seed for the zones")
    args = parser.parse_args()
    if not ipaddress.ip_address(args.address).is_loopback:
        parser.error("--address must be a loopback address (127.0.0.0/8)")
    if os.geteuid() != 0:
        parser.error("NSD must start as root to bind port 53 (it then runs as nobody)")

    sys.path.insert(0, str(ROOT))
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
    # NSD runs as nobody: its directory must be outside any 0700 parent (mkdtemp's is /tmp).
    directory = Path(tempfile.mkdtemp(prefix="fp-bench-nsd-"))
    try:
        started = time.perf_counter()
        zone_files = write_zones(directory, domains, args.address)
        print(
            f"{len(domains)} domains ({sum(d.zone != d.name for d in domains)} subdomains, "
            f"{sum(d.signed for d in domains)} signed) in {len(zone_files)} zones, "
            f"written in {time.perf_counter() - started:.1f} s; NSD on {args.address}:53"
        )
        with running_nsd(directory, args.address, zone_files) as queries:
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
                    engine = run_engine(names, args.address, queries)
                    print(f"  this engine: {engine.seconds:.2f} s")
                    other = run_checkdmarc(names, args.address, queries)
                    print(f"  {other.tool}: {other.seconds:.2f} s")
            finally:
                tripwire.uninstall()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        scratch.cleanup()

    report(domains, engine, other, tripwire, counting, settings)


def report(domains, engine: Run, other: Run, tripwire, counting, settings) -> None:
    expected_reject = sum(1 for d in domains if d.dmarc_policy == "reject")
    print(
        f"\nAll {len(domains)} domains, one run each, wall clock; NSD on loopback, "
        f"DNS_QUERY_TIMEOUT {settings.DNS_QUERY_TIMEOUT} s.\n"
    )
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
    for run in (engine, other):
        rcodes = {k.removeprefix("rcode."): v for k, v in run.nsd.items() if k != "queries"}
        print(f"  NSD answers to {run.tool}: {dict(sorted(rcodes.items()))}")
    ratio = (engine.domains / engine.seconds) / (other.domains / other.seconds)
    print(f"\nratio (engine / checkdmarc domains per second): {ratio:.1f}x  (target: at least 5x)")
    engine_ids = sorted({c.id for r in engine.results.values() for c in r.checks})
    first = next(iter(other.results.values()))
    print(f"engine checks:     {', '.join(engine_ids)}")
    print(f"checkdmarc checks: {', '.join(k for k in first if k not in ('domain', 'base_domain'))}")

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
    if counting.counts:
        print(f"  checkdmarc logged {sum(counting.counts.values())} warnings; most common:")
        for message, n in counting.counts.most_common(4):
            print(f"    {n:5d}  {message} ...")

    print("\nOff-loopback traffic refused by the tripwire:", end="")
    if not tripwire.refused:
        print(" none attempted.")
    else:
        print()
        for what, n in tripwire.refused.most_common():
            print(f"  {n:5d}  {what}")


if __name__ == "__main__":
    main()
