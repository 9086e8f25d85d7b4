"""The portal's own error pages (400, 403, 404, 500) on the NHS.UK design system, and the guard
that answers 400 to a body in a character set the portal does not read.

The 400 and 500 pages render without the request: the request may be what failed (an unreadable
body, a database gone), and a context processor or a session lookup must not fail a second time.
The 403 and 404 pages render with it, so a signed-in contact keeps the account bar.
"""

import codecs
import json
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.template import loader
from django.utils.http import parse_header_parameters

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
API_TITLES = {
    400: "The request has errors",
    403: "Not allowed",
    404: "Not found",
    500: "Something went wrong on our side",
    503: "Unavailable for a moment",
}
# A database that is restarting or failing over answers again within this (seconds).
DATABASE_RETRY_AFTER = 30


def _api_problem(request: HttpRequest, status: int, detail: str) -> HttpResponse | None:
    """Under /api/, the answer as problem+json (as api.problems gives), not an HTML page."""
    if not request.path.startswith(API_PREFIX):
        return None
    body = {"type": "about:blank", "title": API_TITLES[status], "status": status, "detail": detail}
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


def _without_request(template_name: str) -> str:
    return loader.render_to_string(
        template_name, {"feedback_team_email": settings.FEEDBACK_TEAM_EMAIL}
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    problem = _api_problem(request, 400, "The request could not be read.")
    if problem:
        return problem
    return HttpResponseBadRequest(_without_request("400.html"))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    problem = _api_problem(request, 403, "You may not do this.")
    if problem:
        return problem
    return HttpResponseForbidden(loader.render_to_string("403.html", request=request))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    problem = _api_problem(request, 404, "There is no such API resource.")
    if problem:
        return problem
    return HttpResponseNotFound(loader.render_to_string("404.html", request=request))


def server_error(request: HttpRequest) -> HttpResponse:
    problem = _api_problem(
        request, 500, "The portal could not answer; try again later with the same Idempotency-Key."
    )
    if problem:
        return problem
    return HttpResponseServerError(_without_request("500.html"))


class DatabaseUnavailableMiddleware:
    """A view that meets a database gone away (PostgreSQL restarting, a failover) answers 503
    with Retry-After, not 500: nothing is wrong with what was sent, and the transaction rolled
    back, so sending it again in a moment is right. Rendered without the request (its session
    may be what failed)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable for %s: %s", request.path, exception)
        response = _api_problem(
            request, 503, "The portal's database is unavailable for a moment: send it again."
        ) or HttpResponse(_without_request("503.html"), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused for its CSRF token (an old page, cookies blocked); the reason, which names
    the check that failed, goes to the log (django.security.csrf), not to the page."""
    return HttpResponseForbidden(_without_request("403_csrf.html"))


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


class RefuseUnreadableRequestMiddleware:
    """Answer 400 to a request whose Content-Type names a charset other than UTF-8, or whose
    path or query string holds a NUL character.

    Every page the portal serves is UTF-8, so browsers send its forms in UTF-8 and name no
    charset. Django decodes a body in the charset the client names: an unknown one raises
    LookupError in the CSRF middleware (a 500), and multipart bodies are decoded field by field
    in it. Refusing the charset before anything reads the body closes every such path at once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
        charset = params.get("charset")
        if charset is not None and not _is_utf8(charset):
            return bad_request(request)
        if _holds_nul(request):
            return bad_request(request)
        return self.get_response(request)


def _holds_nul(request: HttpRequest) -> bool:
    """A NUL in the path or the query string: no page or filter means one, and PostgreSQL
    refuses it in a text value (a 500 wherever a view looks it up)."""
    return "\x00" in request.path or any(
        "\x00" in name or any("\x00" in value for value in values)
        for name, values in request.GET.lists()
    )
