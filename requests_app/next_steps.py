"""What the organisation should expect next at each state, shown on the status page and the
contacts' request page."""

from .models import State

# What the requester should expect next, for each state.
NEXT_STEPS = {
    State.SUBMITTED: "The NHSmail Feedback team will review your domains against the initial "
    "review criteria. If they meet them, we will email you the Federation Partnering Agreement.",
    State.REVIEWED: "Your domains meet the initial review criteria. We are preparing your "
    "Federation Partnering Agreement and will email it to you and your SPOC shortly.",
    State.FPA_SENT: "A Director-level signatory for your organisation signs the agreement. Return "
    "it to the NHSmail Feedback team with evidence that you meet the DCB1596 secure email "
    "standard, quoting your reference.",
    State.SIGNED: "We have the signed agreement. The Feedback team is checking your evidence "
    "against the DCB1596 secure email standard and will tell you if anything needs more work.",
    State.EVIDENCE_VERIFIED: "Your evidence is verified. The Feedback team will add your domains "
    "to NHSmail's allow list and tell you the date it takes effect.",
    State.FEDERATED: "Your domains are on NHSmail's allow list. Your technical contact should "
    "check that Teams external access allows nhs.net.",
    State.REJECTED: "This request is closed. You can make a new request once the reason above "
    "is addressed.",
    State.WITHDRAWN: "This request is closed. You can make a new request at any time.",
}
