"""What other apps add to the requester's status page (agreements adds the agreement once sent):
each registers a function giving context for the request, so requests_app imports none of them."""

from collections.abc import Callable
from typing import Any

from .models import FederationRequest

StatusContext = Callable[[FederationRequest], dict[str, Any]]

_providers: list[StatusContext] = []


def register_status_context(provider: StatusContext) -> None:
    """Called from an app's AppConfig.ready."""
    if provider not in _providers:
        _providers.append(provider)


def status_context(req: FederationRequest) -> dict[str, Any]:
    """Every registered app's context for req's status page."""
    context: dict[str, Any] = {}
    for provider in _providers:
        context.update(provider(req))
    return context
