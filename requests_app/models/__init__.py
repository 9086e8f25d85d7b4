"""requests_app's data, one module per concept; every model is importable from here, as Django
and the migrations expect."""

from .allow_list import AllowListApplication, AllowListEntry, AllowListSource
from .audit_log import AuditEvent, AuditEventQuerySet
from .check_runs import CheckRun, CheckRunPurpose, CheckRunState, CheckStatus, DomainCheck
from .contacts import (
    Contact,
    ContactRole,
    SpocChange,
    SpocChangeState,
    TeamsSetupConfirmation,
    TeamsSetupStep,
)
from .domain_additions import OPEN_ADDITION_STATES, AdditionState, DomainAddition
from .jobs import OutboxMessage, SentEmail
from .offboarding import OffboardingAsk, OffboardingDecision
from .remediation import RemediationCase, RemediationCaseQuerySet, RemediationClosure
from .requests import (
    AGREEMENT_SENT_STATES,
    CLOSED_STATES,
    OFFBOARDING_STATES,
    OPEN_STATES,
    Channel,
    FederationRequest,
    Organisation,
    RequestedDomain,
    State,
    new_status_token,
    ods_code_validator,
    review_checks_max_age,
)
from .submissions import PendingSubmission

__all__ = [
    "AGREEMENT_SENT_STATES",
    "CLOSED_STATES",
    "OFFBOARDING_STATES",
    "OPEN_ADDITION_STATES",
    "OPEN_STATES",
    "AdditionState",
    "AllowListApplication",
    "AllowListEntry",
    "AllowListSource",
    "AuditEvent",
    "AuditEventQuerySet",
    "Channel",
    "CheckRun",
    "CheckRunPurpose",
    "CheckRunState",
    "CheckStatus",
    "Contact",
    "ContactRole",
    "DomainAddition",
    "DomainCheck",
    "FederationRequest",
    "OffboardingAsk",
    "OffboardingDecision",
    "Organisation",
    "OutboxMessage",
    "PendingSubmission",
    "RemediationCase",
    "RemediationCaseQuerySet",
    "RemediationClosure",
    "RequestedDomain",
    "SentEmail",
    "SpocChange",
    "SpocChangeState",
    "State",
    "TeamsSetupConfirmation",
    "TeamsSetupStep",
    "new_status_token",
    "ods_code_validator",
    "review_checks_max_age",
]
