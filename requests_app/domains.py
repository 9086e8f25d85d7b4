"""The domain-name rules every entry path applies (the request form, the admin, the import):
pure, no database. services.domain_names adds the checks against the allow list and live
requests."""

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


def _encoded_length(label: str) -> int:
    """Length of the label once encoded: as typed if ASCII, else xn-- and its Punycode."""
    if label.isascii():
        return len(label)
    return len("xn--") + len(label.encode("punycode"))


def _refuse_typing_slips(text: str) -> None:
    """Refuse what people type instead of a domain: nothing, a wildcard, an address, a space."""
    if not text or text == ".":
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


def normalise_domain(raw: str) -> str:
    """Return the domain as its lower-case A-label, or raise DomainError saying why not."""
    text = (raw or "").strip()
    _refuse_typing_slips(text)
    invalid = DomainError(
        f"“{text}” is not a valid domain name: it may only contain letters, digits and "
        "hyphens, in labels separated by dots, with no hyphen at the start or end of a label."
    )
    try:
        # UTS 46 mapping first (folds case and width, maps fullwidth dots), so that the
        # trailing-dot and empty-label checks see the dots a browser would see.
        mapped = idna.uts46_remap(text, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError) as error:
        raise invalid from error
    if mapped.endswith("."):
        mapped = mapped[:-1]
    label_lengths = [_encoded_length(label) for label in mapped.split(".")]
    if 0 in label_lengths:
        raise DomainError(f"“{text}” has an empty part between two dots.")
    # Length limits apply to the encoded (A-label) form; idna's own errors would not say so.
    if max(label_lengths) > MAX_LABEL_LENGTH:
        raise DomainError(
            f"“{text}” has a part longer than {MAX_LABEL_LENGTH} characters between dots."
        )
    if sum(label_lengths) + len(label_lengths) - 1 > MAX_NAME_LENGTH:
        raise DomainError(f"“{text}” is longer than {MAX_NAME_LENGTH} characters.")
    try:
        # IDNA 2008 on the mapped name: each label checked and turned into its A-label.
        a_label = idna.encode(mapped, uts46=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise invalid from error
    a_label = a_label.lower()
    labels = a_label.split(".")
    if len(labels) < 2:
        raise DomainError(f"“{text}” needs at least two parts, like example.org.uk.")
    if labels[-1].isdigit():  # no top-level domain is numeric: this is an IP address
        raise DomainError(
            f"“{text}” looks like an IP address. Enter the domain name your Teams users "
            "sign in with, like example.org.uk."
        )
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


def domain_unicode(name: str) -> str:
    """The domain as people read it (U-label form); the A-label is what is stored."""
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name
