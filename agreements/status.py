"""What agreements adds to the requester's status page (registered in AgreementsConfig.ready)."""

from typing import Any

from requests_app.models import FederationRequest, State

from .sealing import sealing_configured
from .selectors import sent_agreement

# The fallback, told only while the portal cannot seal a signature (no certificate configured).
SIGN_ELSEWHERE_STEP = (
    "Signing online in this portal is not available at the moment. Your Director-level "
    "signatory signs the agreement we emailed, and your SPOC emails the signed copy to the "
    "NHSmail Feedback team, quoting the reference; the team records it here. Meanwhile your "
    "contacts sign in and upload the evidence that you meet the DCB1596 secure email standard, "
    "one item for each criterion."
)


def status_context(req: FederationRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"agreement": sent_agreement(req)}
    if req.state == State.FPA_SENT and not sealing_configured():
        context["next_step"] = SIGN_ELSEWHERE_STEP
    return context
