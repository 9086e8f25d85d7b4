"""The Teams set-up checklist: once federated, a technical contact (or the SPOC) confirms each
step in the Teams admin centre, recorded on the request."""

from django.db import transaction

from portal_kit.errors import ActionRefused

from ..audit import audit
from ..models import ContactRole, State, TeamsSetupConfirmation, TeamsSetupStep
from .contacts import lock_request_for_contact


def teams_setup_confirm(*, request_id: int, actor_email: str, steps: list[str]) -> list[str]:
    """Record steps as done (those done already stay as they were); the steps newly recorded."""
    unknown = set(steps) - set(TeamsSetupStep.values)
    if unknown:
        raise ActionRefused("Choose steps from the checklist.")
    with transaction.atomic():
        req, roles = lock_request_for_contact(request_id, actor_email=actor_email)
        if not roles & {ContactRole.TECHNICAL, ContactRole.SPOC}:
            raise ActionRefused("Only the request's technical contacts or SPOC can confirm these.")
        if req.state != State.FEDERATED:
            raise ActionRefused("Teams can be set up for NHSmail once the request is federated.")
        done = set(req.teams_setup.values_list("step", flat=True))
        new = [step for step in TeamsSetupStep.values if step in steps and step not in done]
        TeamsSetupConfirmation.objects.bulk_create(
            TeamsSetupConfirmation(request=req, step=step, confirmed_by=actor_email) for step in new
        )
        if new:
            labels = "; ".join(TeamsSetupStep(step).label for step in new)
            audit(req, None, "teams_setup.confirmed", message=labels, actor_label=actor_email)
    return new
