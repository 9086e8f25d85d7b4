"""The domain rules every entry path applies (requests_app.domains, services.domain_names)."""

import pytest

from requests_app.domains import DomainError, normalise_domain
from requests_app.models import AllowListEntry, State
from requests_app.services.domain_names import clean_domain, clean_domain_list
from tests.factories import FederationRequestFactory

# -- normalise_domain: what is stored ------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("example.org.uk", "example.org.uk"),
        ("  example.org.uk  ", "example.org.uk"),
        ("\texample.org.uk\n", "example.org.uk"),
        ("example.org.uk.", "example.org.uk"),
        (" Example.ORG.uk. ", "example.org.uk"),
        ("EXAMPLE.ORG.UK", "example.org.uk"),
        # IDNA 2008 with UTS 46 mapping: the U-label becomes the lower-case A-label.
        ("BÜCHER.example.org.uk", "xn--bcher-kva.example.org.uk"),
        ("bücher.example.org.uk", "xn--bcher-kva.example.org.uk"),
        ("xn--bcher-kva.example.org.uk", "xn--bcher-kva.example.org.uk"),
        ("XN--BCHER-KVA.Example.org.uk", "xn--bcher-kva.example.org.uk"),
        # Fullwidth letters and dots (a Japanese or Chinese keyboard) fold to ASCII.
        ("ＥＸＡＭＰＬＥ．ｏｒｇ．ｕｋ", "example.org.uk"),
        ("ＢÜＣＨＥＲ.example.org.uk", "xn--bcher-kva.example.org.uk"),
        ("example。org。uk", "example.org.uk"),
        # Non-transitional: ß stays ß (as browsers resolve it), not "ss".
        ("straße.de", "xn--strae-oqa.de"),
        # Not nhs.net itself, only a name that ends in the same letters.
        ("notnhs.net", "notnhs.net"),
        # One label below a public suffix is a registrable domain.
        ("myproject.github.io", "myproject.github.io"),
        ("school.anything.sch.uk", "school.anything.sch.uk"),
        ("trust.nhs.uk", "trust.nhs.uk"),
        ("a" * 63 + ".org.uk", "a" * 63 + ".org.uk"),
    ],
)
def test_normalise_domain_stores_the_lower_case_a_label(typed, stored):
    assert normalise_domain(typed) == stored


def test_a_name_of_exactly_253_characters_is_accepted():
    name = "b" + ".".join(["a" * 49] * 5) + ".uk"
    assert len(name) == 253
    assert normalise_domain(name) == name


# -- normalise_domain: refusals, each saying why -------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "key_phrase"),
    [
        ("", "Enter a domain name"),
        ("   ", "Enter a domain name"),
        (".", "Enter a domain name"),
        (None, "Enter a domain name"),
        ("localhost", "needs at least two parts"),
        ("uk", "needs at least two parts"),
        ("LOCALHOST.", "needs at least two parts"),
        ("*.example.org.uk", "is a wildcard"),
        ("mail.*.example.org.uk", "is a wildcard"),
        ("robin@example.org.uk", "contains an @"),
        ("https://example.org.uk/", "contains a /"),
        ("example.org.uk/teams", "contains a /"),
        ("example.org.uk:443", "contains a :"),
        ("exa mple.org.uk", "contains a space"),
        ("example.org.uk www.example.org.uk", "contains a space"),
        ("exa\u00a0mple.org.uk", "contains a space"),
        ("exa\tmple.org.uk", "contains a space"),
        ("co.uk", "public suffix"),
        ("CO.UK.", "public suffix"),
        ("nhs.uk", "public suffix"),
        ("org.uk", "public suffix"),
        ("anything.sch.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("com", "needs at least two parts"),
        ("nhs.net", "is NHSmail itself"),
        ("NHS.NET.", "is NHSmail itself"),
        ("ｎｈｓ．ｎｅｔ", "is NHSmail itself"),
        ("mail.nhs.net", "is NHSmail itself"),
        ("trust.mail.nhs.net", "is NHSmail itself"),
        ("-bad.example.org.uk", "no hyphen at the start or end"),
        ("bad-.example.org.uk", "no hyphen at the start or end"),
        ("ex_ample.org.uk", "may only contain letters, digits and hyphens"),
        ("exam!ple.org.uk", "may only contain letters, digits and hyphens"),
    ],
)
def test_normalise_domain_refuses_and_says_why(typed, key_phrase):
    with pytest.raises(DomainError) as refusal:
        normalise_domain(typed)
    assert key_phrase in str(refusal.value)


def test_the_refusal_quotes_what_was_typed_not_the_a_label():
    with pytest.raises(DomainError) as refusal:
        normalise_domain(" Robin@Bücher.example.org.uk ")
    assert "“Robin@Bücher.example.org.uk”" in str(refusal.value)


def test_public_suffix_refusal_tells_people_what_to_enter_instead():
    with pytest.raises(DomainError) as refusal:
        normalise_domain("co.uk")
    message = str(refusal.value)
    assert "shared by many organisations" in message
    assert "your organisation's own domain" in message


@pytest.mark.parametrize(
    "typed",
    [
        "a" * 64 + ".org.uk",
        # 60 characters as typed, but its A-label (xn--...) is longer than 63.
        "ü" * 60 + ".de",
    ],
)
def test_a_label_longer_than_63_characters_is_refused_saying_so(typed):
    with pytest.raises(DomainError) as refusal:
        normalise_domain(typed)
    assert "longer than 63 characters" in str(refusal.value)


def test_a_name_longer_than_253_characters_is_refused_saying_so():
    name = "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 62
    assert len(name) == 254
    with pytest.raises(DomainError) as refusal:
        normalise_domain(name)
    assert "longer than 253 characters" in str(refusal.value)


@pytest.mark.parametrize("typed", ["example..org.uk", ".example.org.uk", "example.org.uk.."])
def test_an_empty_part_between_dots_is_refused_saying_so(typed):
    with pytest.raises(DomainError) as refusal:
        normalise_domain(typed)
    assert "empty part between two dots" in str(refusal.value)


@pytest.mark.parametrize("typed", ["example.org.uk．", "example.org.uk。", "EXAMPLE.ORG.UK．"])
def test_a_fullwidth_trailing_dot_is_stripped_like_an_ascii_one(typed):
    assert normalise_domain(typed) == "example.org.uk"


@pytest.mark.parametrize("typed", ["192.0.2.10", "10.0.0.1."])
def test_an_ip_address_is_refused_saying_so(typed):
    with pytest.raises(DomainError) as refusal:
        normalise_domain(typed)
    assert "looks like an IP address" in str(refusal.value)


# -- clean_domain: the allow list and other live requests ----------------------------------------


@pytest.mark.django_db
def test_clean_domain_accepts_a_free_domain():
    assert clean_domain(" Partner.Example.org.uk. ") == "partner.example.org.uk"


@pytest.mark.django_db
def test_clean_domain_refuses_a_domain_already_on_the_allow_list():
    AllowListEntry.objects.create(
        domain="xn--bcher-kva.example.org.uk", effective_date="2025-01-01", source="import"
    )
    with pytest.raises(DomainError) as refusal:
        clean_domain("BÜCHER.example.org.uk")
    assert "already federated with NHSmail" in str(refusal.value)


@pytest.mark.django_db
def test_clean_domain_refuses_a_domain_in_another_live_request_naming_it_to_staff_only():
    holder = FederationRequestFactory(domains=["held.example.org.uk"])
    with pytest.raises(DomainError) as refusal:
        clean_domain("HELD.example.org.uk.")
    message = str(refusal.value)
    assert holder.reference not in message
    assert "still open" in message
    with pytest.raises(DomainError) as refusal:
        clean_domain("held.example.org.uk", reveal_reference=True)
    assert holder.reference in str(refusal.value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "state", [State.REVIEWED, State.FPA_SENT, State.SIGNED, State.EVIDENCE_VERIFIED]
)
def test_a_domain_stays_held_through_every_open_state(state):
    FederationRequestFactory(state=state, domains=["held.example.org.uk"])
    with pytest.raises(DomainError, match="still open"):
        clean_domain("held.example.org.uk")


@pytest.mark.django_db
@pytest.mark.parametrize("state", [State.REJECTED, State.WITHDRAWN])
def test_a_domain_from_a_closed_request_may_be_requested_again(state):
    closed = FederationRequestFactory(state=state, domains=["freed.example.org.uk"])
    closed.domains.update(is_live=False)
    assert clean_domain("freed.example.org.uk") == "freed.example.org.uk"


@pytest.mark.django_db
def test_a_request_editing_its_own_domains_is_not_refused_for_holding_them():
    req = FederationRequestFactory(domains=["mine.example.org.uk"])
    assert clean_domain("mine.example.org.uk", exclude_request_id=req.pk) == "mine.example.org.uk"
    other = FederationRequestFactory(domains=[])
    with pytest.raises(DomainError, match="still open"):
        clean_domain("mine.example.org.uk", exclude_request_id=other.pk)


@pytest.mark.django_db
def test_clean_domain_applies_the_pure_rules_first():
    with pytest.raises(DomainError, match="is NHSmail itself"):
        clean_domain("nhs.net")


# -- clean_domain_list ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_clean_domain_list_returns_the_a_labels_in_order():
    names, errors = clean_domain_list(["b.example.org.uk", "BÜCHER.example.org.uk"])
    assert names == ["b.example.org.uk", "xn--bcher-kva.example.org.uk"]
    assert errors == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "second",
    ["example.org.uk", "EXAMPLE.org.uk.", " example.org.uk ", "ＥＸＡＭＰＬＥ．ｏｒｇ．ｕｋ"],
)
def test_clean_domain_list_refuses_a_domain_listed_twice(second):
    names, errors = clean_domain_list(["example.org.uk", second])
    assert names == ["example.org.uk"]
    assert len(errors) == 1
    assert "listed twice" in errors[0]
    assert second.strip() in errors[0]


@pytest.mark.django_db
def test_clean_domain_list_reports_every_refused_domain_with_its_own_reason():
    AllowListEntry.objects.create(
        domain="federated.example.org.uk", effective_date="2025-01-01", source="import"
    )
    FederationRequestFactory(domains=["held.example.org.uk"])
    names, errors = clean_domain_list(
        [
            "good.example.org.uk",
            "*.example.org.uk",
            "co.uk",
            "federated.example.org.uk",
            "held.example.org.uk",
            "nhs.net",
        ]
    )
    assert names == ["good.example.org.uk"]
    assert len(errors) == 5
    assert "wildcard" in errors[0]
    assert "public suffix" in errors[1]
    assert "already federated" in errors[2]
    assert "still open" in errors[3]
    assert "NHSmail itself" in errors[4]
