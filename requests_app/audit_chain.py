"""The audit log's hash chain: how one event's hash is made from its fields and its predecessor's.

Each event stores SHA-256 over the previous event's hash and a canonical serialisation of its own
fields, so an event edited, deleted or moved by someone who can bypass the database's refusals
(the schema's owner, a superuser) breaks the chain at that point (manage.py verify_audit).
Pure functions: the model appends with them, migration 0014 chains the rows it finds, and the
verifier walks them. Changing the serialisation changes every hash: it needs a migration that
re-chains the log, and a note in the operators' records of the head hashes they kept.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The first event's predecessor.
GENESIS = "0" * 64

# The stored fields an event's hash covers, in the order the verifier reads them. Not the
# primary key: the chain's order is the order of the keys, so a row moved or deleted shows.
CHAINED_FIELDS = (
    "request_id",
    "actor_id",
    "actor_label",
    "action",
    "from_state",
    "to_state",
    "message",
    "created_at",
    "ip_address",
)


def _timestamp(value: datetime) -> str:
    # PostgreSQL and SQLite both keep microseconds; UTC so the database's zone does not matter.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _address(value: str | None) -> str | None:
    # PostgreSQL's inet gives back its own spelling ("::ffff:1.2.3.4", lower case, no zeros),
    # so both sides hash the parsed address, not the text that was written.
    return str(ipaddress.ip_address(value)) if value else None


def canonical(values: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: its chained fields as sorted, ASCII-only JSON."""
    document = {
        "request": values["request_id"],
        "actor": values["actor_id"],
        "actor_label": values["actor_label"],
        "action": values["action"],
        "from_state": values["from_state"],
        "to_state": values["to_state"],
        "message": values["message"],
        "created_at": _timestamp(values["created_at"]),
        "ip_address": _address(values["ip_address"]),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def link_hash(previous: str, values: Mapping[str, Any]) -> str:
    """The hash of an event whose predecessor's hash is previous."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + canonical(values)).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the chain found: how many events verified, and the first broken one."""

    verified: int
    head: str
    broken_pk: int | None = None
    expected: str = ""
    found: str = ""
    anchor_found: bool = False

    @property
    def intact(self) -> bool:
        return self.broken_pk is None


def verify(rows: Iterable[tuple[Any, ...]], *, anchor: str = "") -> ChainReport:
    """Walk rows of (pk, *CHAINED_FIELDS, chain_hash) in key order; stop at the first break.

    anchor: a head hash recorded earlier. Anyone who can write the table can also recompute
    every hash after a change, so only a hash kept outside the database shows such a rewrite:
    the rewritten chain no longer passes through it.
    """
    previous = GENESIS
    verified = 0
    anchor_found = False
    for pk, *fields, stored in rows:
        expected = link_hash(previous, dict(zip(CHAINED_FIELDS, fields, strict=True)))
        if stored != expected:
            return ChainReport(verified, previous, pk, expected, stored, anchor_found=anchor_found)
        previous = stored
        verified += 1
        anchor_found = anchor_found or stored == anchor
    return ChainReport(verified, previous, anchor_found=anchor_found)
