"""Every URL of the portal's own pages, for every kind of visitor, with the answer each gets.

The suite fails when a URL is added to the portal without a row here. The admin's pages are
covered by their own tests (tests/workbench/, tests/accounts/test_staff_sign_in.py), the API's
by tests/api/test_permission_matrix.py.
"""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from agreements.models import EvidenceCriterion, Reattestation
from requests_app.models import Contact, ContactRole, State
from support.models import SupportRequest
from tests.accounts.helpers import sign_in
from tests.conftest import StaffClient
from tests.factories import AgreementFactory, FederationRequestFactory, UserFactory

pytestmark = pytest.mark.django_db

VISITORS = ["anonymous", "contact", "other_contact", "former_contact", "staff"]
SIGN_IN = "redirect:/account/sign-in/"

# URL name -> answer for each of VISITORS ("redirect:<path>" for a redirect to path).
# The status link (a long random token) is itself the credential: whoever holds it sees that one
# request, signed in or not; the account pages go by who is signed in, and another
# organisation's request is a 404.
MATRIX = {
    "requests_app:start": [200, 200, 200, 200, 200],
    "requests_app:request_form": [200, 200, 200, 200, 200],
    "requests_app:check_email": ["redirect:/"] * 5,
    # A confirmation link is its own credential; an unknown one is a 404 page for everyone.
    "requests_app:confirm_email": [404] * 5,
    "requests_app:confirmation": ["redirect:/"] * 5,
    "requests_app:status": [200] * 5,
    "requests_app:withdraw": [200] * 5,
    "accounts:sign_in": [200] * 5,
    "accounts:sign_in_sent": [SIGN_IN] * 5,
    "accounts:sign_in_link": [200] * 5,
    "accounts:sign_out": [405] * 5,
    "portal:home": [SIGN_IN, 200, 200, SIGN_IN, SIGN_IN],
    "portal:request": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
    "portal:agreement_download": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
    "portal:contact_add": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
    "portal:contact_edit": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
    "portal:contact_remove": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
    "portal:spoc_change": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
    # Only an agreement in force can be ended: the request here is signed, not yet federated,
    # so its SPOC is refused in words (tests/portal/test_offboarding.py has the rest).
    "portal:offboarding_ask": [SIGN_IN, 403, 404, SIGN_IN, SIGN_IN],
    # Likewise a domain is removed only while the agreement is in force (signed here): the
    # SPOC is refused in words (tests/portal/test_domain_removal.py has the rest).
    "portal:domain_remove": [SIGN_IN, 403, 404, SIGN_IN, SIGN_IN],
    # A domain is added only to a federated request (tests/portal/test_domain_addition.py).
    "portal:domain_add": [SIGN_IN, 403, 404, SIGN_IN, SIGN_IN],
    # No amended agreement waits for a signature on this request: a 404 for its contacts too.
    "portal:amendment_download": [SIGN_IN, 404, 404, SIGN_IN, SIGN_IN],
    "portal:evidence_upload": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
    "portal:teams_setup": [SIGN_IN, 405, 405, SIGN_IN, SIGN_IN],  # POST only (its form)
    # The SPOC is not the signatory: signing is refused in words; the signed copy is theirs.
    "portal:sign": [SIGN_IN, 403, 404, SIGN_IN, SIGN_IN],
    "portal:signed_download": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
    "portal:reattestation": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
    "agreements:verify": [200] * 5,
    "agreements:status_download": [200] * 5,
    # Only contacts named in a signed agreement may raise one; the other organisation's is not.
    "support:list": [SIGN_IN, 200, 200, SIGN_IN, SIGN_IN],
    "support:new": [SIGN_IN, 200, 403, SIGN_IN, SIGN_IN],
    "support:detail": [SIGN_IN, 200, 404, SIGN_IN, SIGN_IN],
}


def portal_url_names() -> set[str]:
    """Every named URL outside the admin."""
    names = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace in ("admin", "api"):  # the API has tests/api's matrix
                    continue
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def test_every_portal_url_is_in_the_matrix():
    assert portal_url_names() == set(MATRIX)


@pytest.fixture
def world():
    """A request with a signed agreement, a re-attestation and a support request, its SPOC, a
    former contact, and another organisation's request (submitted: no agreement yet)."""
    req = FederationRequestFactory(state=State.SIGNED)
    content = b"%PDF-1.4 issued"
    AgreementFactory(
        request=req,
        pdf=ContentFile(content, name="fpa.pdf"),
        pdf_sha256=hashlib.sha256(content).hexdigest(),
        rendered_at=timezone.now(),
        sent_at=timezone.now(),
        signed_copy=ContentFile(b"%PDF-1.4 signed", name="signed.pdf"),
    )
    Reattestation.objects.create(request=req, term_ends_on=timezone.localdate())
    other = FederationRequestFactory()
    former = Contact.objects.create(
        request=req,
        role=ContactRole.TECHNICAL,
        name="Former Tech",
        job_title="Engineer",
        email="former@partner.example",
    )
    technical = req.contacts.get(role=ContactRole.TECHNICAL, name="Tess Tech")
    support = SupportRequest.objects.create(
        request=req,
        reference="SR-000001",
        raised_by_email=technical.email,
        raised_by_name=technical.name,
        category="cannot_message",
        description="Messages to nhs.net users fail.",
        started_on=timezone.localdate(),
    )
    return {
        "req": req,
        "other": other,
        "former": former,
        "technical": technical,
        "support": support,
    }


def visitor_client(kind: str, world) -> Client:
    if kind == "staff":
        client = StaffClient()
        client.force_login(UserFactory(username="fiona.feedback", groups=["Feedback team"]))
        return client
    client = Client()
    if kind == "contact":
        sign_in(client, world["req"].contacts.get(role=ContactRole.SPOC).email)
    elif kind == "other_contact":
        sign_in(client, world["other"].contacts.get(role=ContactRole.SPOC).email)
    elif kind == "former_contact":
        sign_in(client, world["former"].email)
        Contact.objects.filter(pk=world["former"].pk).update(removed_at=timezone.now())
    return client


def url_for(name: str, world) -> str:
    req = world["req"]
    arguments = {
        "requests_app:status": [req.status_token],
        "agreements:status_download": [req.status_token],
        "requests_app:withdraw": [req.status_token],
        "accounts:sign_in_link": ["an-unknown-link"],
        "requests_app:confirm_email": ["an-unknown-link"],
        "portal:request": [req.reference],
        "portal:agreement_download": [req.reference],
        "portal:contact_add": [req.reference],
        "portal:contact_edit": [req.reference, world["technical"].pk],
        "portal:contact_remove": [req.reference, world["technical"].pk],
        "portal:spoc_change": [req.reference],
        "portal:offboarding_ask": [req.reference],
        "portal:domain_remove": [req.reference, req.domains.get().pk],
        "portal:domain_add": [req.reference],
        "portal:amendment_download": [req.reference],
        "portal:evidence_upload": [req.reference, EvidenceCriterion.objects.first().pk],
        "portal:teams_setup": [req.reference],
        "portal:sign": [req.reference],
        "portal:signed_download": [req.reference],
        "portal:reattestation": [req.reference],
        "support:detail": [world["support"].reference],
    }
    return reverse(name, args=arguments.get(name, []))


def answer(response):
    if response.status_code in (301, 302):
        return f"redirect:{response['Location']}"
    return response.status_code


@pytest.mark.parametrize("visitor", VISITORS)
def test_each_visitor_gets_the_answer_in_the_matrix(visitor, world):
    client = visitor_client(visitor, world)
    column = VISITORS.index(visitor)

    got = {name: answer(client.get(url_for(name, world))) for name in sorted(MATRIX)}

    assert got == {name: MATRIX[name][column] for name in sorted(MATRIX)}


def test_a_404_from_the_account_pages_gives_nothing_of_the_request_away(world):
    client = visitor_client("other_contact", world)
    response = client.get(url_for("portal:request", world))
    assert response.status_code == 404
    assert world["req"].organisation.name.encode() not in response.content
