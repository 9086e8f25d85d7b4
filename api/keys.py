"""API keys: a visible prefix to find the key by, and a secret stored only as its SHA-256.

A key is "fpk_<prefix>_<secret>". The secret has 256 bits of randomness, so a plain SHA-256
is enough (a slow password hash protects guessable secrets, not random ones) and lets each
call be checked in microseconds.
"""

import hashlib
import hmac
import secrets
from typing import NamedTuple

KEY_MARK = "fpk"
PREFIX_LENGTH = 8


class NewKey(NamedTuple):
    prefix: str
    secret_hash: str
    plaintext: str  # shown once, to the person who issued it, and never stored


def key_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def new_key() -> NewKey:
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    plaintext = f"{KEY_MARK}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix=prefix, secret_hash=key_hash(plaintext), plaintext=plaintext)


def prefix_of(plaintext: str) -> str | None:
    """The prefix of a key in the right shape, or None."""
    mark, _, rest = plaintext.partition("_")
    prefix, _, secret = rest.partition("_")
    if mark != KEY_MARK or len(prefix) != PREFIX_LENGTH or not secret:
        return None
    return prefix


def key_matches(plaintext: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(plaintext), stored_hash)
