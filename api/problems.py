"""Errors as RFC 9457 problem details (application/problem+json), with field errors."""

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal_kit.errors import ActionRefused

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/api/v1/problems/"

TITLES = {
    400: "The request has errors",
    401: "An API key is needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Refused in the current state",
    413: "Too large",
    415: "Unsupported media type",
    422: "Refused",
    429: "Too many requests",
    500: "Something went wrong on our side",
}


class RefusedByRules(exceptions.ValidationError):
    """Fields the schema allows that the portal's rules refuse (a domain taken, an address the
    form does not accept): 422, with the web form's sentences. Malformed input stays a 400."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "refused-by-rules"


def problem(
    status_code: int,
    detail: str,
    *,
    kind: str = "",
    errors: dict | None = None,
    headers: dict | None = None,
) -> Response:
    """A problem+json response; kind names the problem's type under PROBLEM_BASE."""
    body: dict = {
        "type": f"{PROBLEM_BASE}{kind}" if kind else "about:blank",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_JSON)


def _field_errors(detail) -> dict:
    """DRF's nested ValidationError detail as {field path: [sentences]}."""
    flat: dict[str, list[str]] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, inner in enumerate(value):
                walk(inner, f"{path}[{index}]")
        else:
            sentences = value if isinstance(value, list) else [value]
            flat.setdefault(path or "non_field_errors", []).extend(str(s) for s in sentences)

    walk(detail, "")
    return flat


def exception_handler(error, context):
    """Every error the API answers, as problem+json; a refused action is a 409 with the same
    sentence the web pages show."""
    if isinstance(error, ActionRefused):
        return problem(status.HTTP_409_CONFLICT, str(error), kind="action-refused")
    if isinstance(error, Http404):
        error = exceptions.NotFound()
    response = drf_exception_handler(error, context)
    if response is None:
        return None  # not an API error: Django's 500 handler (problem+json under /api/)
    headers = {
        name: response[name]
        for name in ("WWW-Authenticate", "Retry-After", "Allow")
        if name in response
    }
    if isinstance(error, exceptions.ValidationError):
        return problem(
            response.status_code,
            "Correct the fields named in errors and send the request again.",
            kind="refused-by-rules" if isinstance(error, RefusedByRules) else "validation",
            errors=_field_errors(error.detail),
            headers=headers,
        )
    detail = error.detail if isinstance(error, exceptions.APIException) else str(error)
    if isinstance(detail, list | dict):
        detail = " ".join(_field_errors(detail).get("non_field_errors", [])) or str(detail)
    kind = getattr(error, "default_code", "") or ""
    return problem(response.status_code, str(detail), kind=kind.replace("_", "-"), headers=headers)
