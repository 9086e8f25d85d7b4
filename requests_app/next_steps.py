"""What the organisation should expect next at each state, shown on the status page and the
contacts' request page."""

from .models import State

# What the requester should expect next, for each state.
NEXT_STEPS = {
    State.SUBMITTED: "The NHSmail Feedback team will review your domains against the initial "
    "review criteria. If they meet them, we will email you the Federation Partnering Agreement.",
    State.REVIEWED: "Your domains meet the initial review criteria. We are preparing your "
    "Federation Partnering Agreement and will email it to you and your SPOC shortly.",
    State.FPA_SENT: "Your Director-level signatory signs the agreement in this portal: your SPOC "
    "names them, and we email them a link to sign in and sign. Meanwhile your contacts sign in "
    "and upload the evidence that you meet the DCB1596 secure email standard, one item for each "
    "criterion.",
    State.SIGNED: "The agreement is signed. Your contacts upload any evidence still missing in "
    "this portal; the Feedback team checks it against the DCB1596 secure email standard and will "
    "tell you here and by email if anything needs more work.",
    State.EVIDENCE_VERIFIED: "Your evidence is verified. The Feedback team will add your domains "
    "to NHSmail's allow list and tell you the date it takes effect.",
    State.FEDERATED: "Your domains are on NHSmail's allow list. Your technical contact should "
    "check that Teams external access allows nhs.net.",
    State.SUSPENDED: "Federation is suspended: your domains are off NHSmail's allow list from "
    "the date we emailed, for the reason given. Fix the cause and reply to that email; once the "
    "domain checks pass again, the Feedback team reinstates your domains.",
    State.REVOKED: "The agreement has been revoked and your domains are off NHSmail's allow "
    "list. To federate again, make a new request once the cause is dealt with.",
    State.OFFBOARDED: "Your organisation ended the agreement and your domains are off NHSmail's "
    "allow list from the date we emailed. Nothing has been deleted. To federate again, make a "
    "new request at any time.",
    State.REJECTED: "This request is closed. You can make a new request once the reason above "
    "is addressed.",
    State.WITHDRAWN: "This request is closed. You can make a new request at any time.",
}

# Shown instead, while the organisation's ask to end the agreement waits for the Feedback team.
OFFBOARDING_PENDING_STEP = (
    "Your organisation has asked to end the agreement. The NHSmail Feedback team will confirm "
    "it, or tell you why not, by email; until your domains leave the allow list on the date "
    "asked for, Teams federation with NHSmail carries on."
)
