"""The domain rules every entry path applies: the request form, the admin and the import.

`normalise_domain` is pure (no database); `clean_domain` adds the checks against the allow
list and other live requests.
"""

import functools

import idna
from publicsuffixlist import PublicSuffixList

MAX_NAME_LENGTH = 253  # RFC 1035, without the root's trailing dot
MAX_LABEL_LENGTH = 63
FORBIDDEN_CHARACTERS = {"@": "an @", "/": "a /", ":": "a :"}
NHSMAIL_DOMAIN = "nhs.net"


class DomainError(ValueError):
    """A domain the portal refuses; str(error) is a sentence for the person who typed it."""


@functools.cache
def _public_suffix_list() -> PublicSuffixList:
    # The list ships inside the package: no network at run time.
    return PublicSuffixList()


def normalise_domain(raw: str) -> str:
    """Return the domain as its lower-case A-label, or raise DomainError saying why not."""
    text = (raw or "").strip()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise DomainError("Enter a domain name, like example.org.uk.")
    if "*" in text:
        raise DomainError(
            f"“{text}” is a wildcard. Enter each domain in full, without *; "
            "subdomains need their own entry."
        )
    for character, described in FORBIDDEN_CHARACTERS.items():
        if character in text:
            raise DomainError(
                f"“{text}” contains {described}. Enter only the domain name, like example.org.uk, "
                "not an email address or web address."
            )
    if any(character.isspace() for character in text):
        raise DomainError(f"“{text}” contains a space. Enter one domain name per line.")
    try:
        # IDNA 2008 with UTS 46 mapping: folds case and width, maps ß etc. the way browsers do.
        a_label = idna.encode(text, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError as error:
        raise DomainError(
            f"“{text}” is not a valid domain name: it may only contain letters, digits and "
            "hyphens, in labels separated by dots, with no hyphen at the start or end of a label."
        ) from error
    except UnicodeError as error:  # a label over 63 characters, or an empty label
        raise DomainError(
            f"“{text}” is not a valid domain name: a part between dots is empty or longer than "
            f"{MAX_LABEL_LENGTH} characters."
        ) from error
    a_label = a_label.lower()
    labels = a_label.split(".")
    if any(not label for label in labels):
        raise DomainError(f"“{text}” has an empty part between two dots.")
    if any(len(label) > MAX_LABEL_LENGTH for label in labels):
        raise DomainError(
            f"“{text}” has a part longer than {MAX_LABEL_LENGTH} characters between dots."
        )
    if len(a_label) > MAX_NAME_LENGTH:
        raise DomainError(f"“{text}” is longer than {MAX_NAME_LENGTH} characters.")
    if len(labels) < 2:
        raise DomainError(f"“{text}” needs at least two parts, like example.org.uk.")
    if a_label == NHSMAIL_DOMAIN or a_label.endswith("." + NHSMAIL_DOMAIN):
        raise DomainError(
            f"“{text}” is NHSmail itself. Request federation for your own organisation's domain."
        )
    if _public_suffix_list().is_public(a_label):
        raise DomainError(
            f"“{text}” is a public suffix shared by many organisations, not a domain one "
            "organisation owns. Enter your organisation's own domain, like example.org.uk."
        )
    return a_label


def clean_domain(raw: str, *, exclude_request_id: int | None = None) -> str:
    """normalise_domain, then refuse a domain already federated or held by a live request."""
    from . import selectors  # selectors read models; keep this module importable without apps

    name = normalise_domain(raw)
    reason = selectors.domain_unavailable_reason(name, exclude_request_id=exclude_request_id)
    if reason:
        raise DomainError(reason)
    return name


def clean_domain_list(raw_values: list[str], *, exclude_request_id: int | None = None):
    """Clean each domain; return (names, errors) with duplicates in the list refused too."""
    names: list[str] = []
    errors: list[str] = []
    for raw in raw_values:
        try:
            name = clean_domain(raw, exclude_request_id=exclude_request_id)
        except DomainError as error:
            errors.append(str(error))
            continue
        if name in names:
            errors.append(f"“{raw.strip()}” is listed twice. Enter each domain once.")
            continue
        names.append(name)
    return names, errors
