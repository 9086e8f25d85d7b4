"""A domain name as an entry path takes it: the pure rules (domains.py), then whether it is free
(not federated, not in another live request)."""

from .. import selectors
from ..domains import DomainError, normalise_domain


def clean_domain(
    raw: str, *, exclude_request_id: int | None = None, reveal_reference: bool = False
) -> str:
    """normalise_domain, then refuse a domain already federated or held by a live request
    (naming that request only when reveal_reference: staff paths)."""
    name = normalise_domain(raw)
    reason = selectors.domain_unavailable_reason(
        name, exclude_request_id=exclude_request_id, reveal_reference=reveal_reference
    )
    if reason:
        raise DomainError(reason)
    return name


def clean_domain_list(
    raw_values: list[str],
    *,
    exclude_request_id: int | None = None,
    reveal_reference: bool = False,
) -> tuple[list[str], list[str]]:
    """Clean each domain; return (names, errors) with duplicates in the list refused too."""
    names: list[str] = []
    errors: list[str] = []
    for raw in raw_values:
        try:
            name = clean_domain(
                raw, exclude_request_id=exclude_request_id, reveal_reference=reveal_reference
            )
        except DomainError as error:
            errors.append(str(error))
            continue
        if name in names:
            errors.append(f"“{raw.strip()}” is listed twice. Enter each domain once.")
            continue
        names.append(name)
    return names, errors
