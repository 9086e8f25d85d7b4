"""The portal's own 400, 403, 404 and 500 pages, and a body in a foreign character set answered
400 on every URL (Django's CSRF middleware raised on it: a 500 on every POST URL).

Run with DEBUG off (settings.test), as production runs.
"""

import re
import re._parser as regex_parser  # the standard library's own regex parser (sre_parse)

import pytest
from django.conf import settings
from django.db import OperationalError
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve

from federation_portal.urls import urlpatterns as portal_urlpatterns
from tests.accounts.helpers import sign_in
from tests.conftest import StaffClient
from tests.factories import FederationRequestFactory

pytestmark = pytest.mark.django_db

TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
DEBUG_SIGNS = ("Traceback", "DEBUG", "CSRF token", "Referer", "settings.py", "Exception")


def _boom(request):
    raise RuntimeError("a bug in a view")


def _ok(request):
    return HttpResponse("ok")


def _database_gone(request):
    raise OperationalError("terminating connection due to administrator command")


# A URLconf with the portal's pages and handlers, and views that fail.
urlpatterns = [
    path("boom/", _boom),
    path("boom-post/", _ok),
    path("database-gone/", _database_gone),
    path("api/database-gone/", _database_gone),
    *portal_urlpatterns,
]
handler400 = "federation_portal.errors.bad_request"
handler403 = "federation_portal.errors.permission_denied"
handler404 = "federation_portal.errors.page_not_found"
handler500 = "federation_portal.errors.server_error"


def _title(page: str) -> str:
    match = TITLE.search(page)
    assert match, "the page has no title"
    return " ".join(match.group(1).split())


def _assert_portal_page(response, status: int) -> str:
    """An error page on the NHS.UK design system, with no debugging detail; its title."""
    assert response.status_code == status
    page = response.content.decode()
    assert 'class="nhsuk-header' in page and "nhsuk-frontend.min.css" in page
    assert settings.FEEDBACK_TEAM_EMAIL in page  # the footer's way to ask for help
    for sign in DEBUG_SIGNS:
        assert sign not in page, f"the {status} page shows {sign!r}"
    assert "Content-Security-Policy" in response.headers
    return _title(page)


@pytest.mark.urls(__name__)
def test_400_403_404_and_500_are_the_portals_own_pages_each_with_its_own_title(
    outsider_user,
):
    client = Client(raise_request_exception=False)
    titles = {}
    titles[400] = _assert_portal_page(
        client.generic(
            "POST",
            "/request/",
            b"a=b",
            content_type="application/x-www-form-urlencoded; charset=x-unknown",
        ),
        400,
    )
    # A form posted without its CSRF token (an old page, blocked cookies).
    csrf_client = Client(enforce_csrf_checks=True)
    titles["403 csrf"] = _assert_portal_page(
        csrf_client.post("/account/sign-in/", {"email": "alex@example.org"}), 403
    )
    # A member of staff in no group opens a request in the admin: permission denied.
    req = FederationRequestFactory()
    staff = StaffClient()
    staff.force_login(outsider_user)
    titles[403] = _assert_portal_page(
        staff.get(f"/admin/requests_app/federationrequest/{req.pk}/change/"), 403
    )
    titles[404] = _assert_portal_page(client.get("/no-such-page/"), 404)
    titles[500] = _assert_portal_page(client.get("/boom/"), 500)
    # PostgreSQL restarting: nothing wrong with what was sent; try again in a moment.
    unavailable = client.get("/database-gone/")
    titles[503] = _assert_portal_page(unavailable, 503)
    assert unavailable["Retry-After"] == "30"

    assert len(set(titles.values())) == len(titles), titles
    assert "Page not found" in titles[404]
    assert "problem with the service" in titles[500]
    assert "unavailable for a moment" in titles[503]


@pytest.mark.urls(__name__)
def test_under_the_api_a_database_gone_away_is_a_503_problem():
    response = Client(raise_request_exception=False).post("/api/database-gone/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "30"
    assert response.json()["status"] == 503


# Charsets a client may name for a body: unknown, multibyte, legacy, one that Python decodes
# with surprises (UTF-7), and the spellings of the parameter (quoted, upper case).
FOREIGN_CHARSETS = [
    "charset=x-unknown",
    "charset=utf-16",
    "charset=UTF-16LE",
    "charset=utf-32",
    "charset=utf-7",
    "charset=iso-8859-1",
    "charset=cp1252",
    'charset="utf-16"',
    "CHARSET=x-unknown",
    "charset=",
]
BODY_TYPES = {
    "application/x-www-form-urlencoded": b"csrfmiddlewaretoken=x&email=a%40example.org",
    "multipart/form-data; boundary=b": (
        b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\na@example.org\r\n--b--\r\n'
    ),
    "text/plain": b"email=a@example.org",
}


def _sample(regex: str) -> str:
    """One path that the URL pattern's regex matches (the first choice at every branch)."""

    def walk(items) -> str:
        out = []
        for op, value in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(value))
            elif name == "SUBPATTERN":
                out.append(walk(value[-1]))
            elif name == "BRANCH":
                out.append(walk(value[1][0]))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, _, item = value
                out.append(walk(item) * max(low, 1))
            elif name == "IN":
                first = value[0]
                if str(first[0]) == "NEGATE":
                    out.append("a")
                elif str(first[0]) == "LITERAL":
                    out.append(chr(first[1]))
                elif str(first[0]) == "RANGE":
                    out.append(chr(first[1][0]))
                elif str(first[0]) == "CATEGORY":
                    out.append("1" if "DIGIT" in str(first[1]) else "a")
                else:
                    out.append("a")
            elif name in ("ANY", "NOT_LITERAL"):
                out.append("a")
            elif name in ("AT", "GROUPREF_EXISTS", "ASSERT", "ASSERT_NOT"):
                continue
            else:
                raise AssertionError(f"teach _sample the regex operation {name}")
        return "".join(out)

    return walk(regex_parser.parse(regex))


def every_url(resolver: URLResolver | None = None, prefix: str = "/") -> list[str]:
    """A concrete path for every URL pattern of the portal (public, portal, admin, API)."""
    resolver = resolver or get_resolver()
    paths = []
    for entry in resolver.url_patterns:
        here = prefix + _sample(entry.pattern.regex.pattern)
        if isinstance(entry, URLResolver):
            paths += every_url(entry, here)
        elif isinstance(entry, URLPattern):
            paths.append(here)
    return paths


def test_the_walk_reaches_every_part_of_the_portal():
    urls = every_url()
    names = set()
    for url in urls:
        match = resolve(url)  # each sample path reaches its own view
        names.add(match.namespace or match.url_name)
    assert {"admin", "requests_app", "portal", "accounts", "support", "agreements"} <= names
    assert len(urls) > 100, len(urls)


@pytest.mark.parametrize("who", ["anonymous", "contact", "staff"])
def test_a_body_in_a_foreign_charset_answers_400_on_every_url(who, admin_user):
    client = Client(raise_request_exception=False)
    if who == "contact":
        req = FederationRequestFactory()
        sign_in(client, req.contacts.first().email)
        client.handler.enforce_csrf_checks = True  # signed in; from here on, as a browser is
    elif who == "staff":
        client = StaffClient(enforce_csrf_checks=True, raise_request_exception=False)
        client.force_login(admin_user)
    client.handler.enforce_csrf_checks = True
    client.get("/account/sign-in/")  # the CSRF cookie, as a browser holds it
    answers: dict[str, int] = {}
    for url in every_url():
        for content_type, body in BODY_TYPES.items():
            for charset in FOREIGN_CHARSETS:
                response = client.generic(
                    "POST", url, body, content_type=f"{content_type}; {charset}"
                )
                if response.status_code != 400:
                    answers[f"{url} {content_type}; {charset}"] = response.status_code
    assert answers == {}


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    "charset", ["", "; charset=utf-8", "; charset=UTF-8", '; charset="utf8"', "; CHARSET=Utf-8"]
)
def test_a_body_in_utf8_named_or_not_still_reaches_the_view(charset):
    client = Client(raise_request_exception=False)
    content_type = f"application/x-www-form-urlencoded{charset}"
    response = client.generic("POST", "/boom-post/", b"a=%C3%A9", content_type=content_type)
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_a_nul_in_the_path_or_query_answers_400_on_every_url(who, admin_user):
    """PostgreSQL refuses NUL in a text value: refused at the door, never a 500 at a lookup."""
    client = Client(raise_request_exception=False)
    if who == "staff":
        client = StaffClient(raise_request_exception=False)
        client.force_login(admin_user)
    answers: dict[str, int] = {}
    for url in every_url():
        for tried in (url + "?q=%00", url + "?a%00=1", url.rstrip("/") + "%00/"):
            status = client.get(tried).status_code
            if status != 400:
                answers[tried] = status
    assert answers == {}
