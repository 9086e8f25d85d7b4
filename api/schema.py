"""What drf-spectacular writes into the OpenAPI document for the API's own pieces."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "fpk_<prefix>_<secret>",
            "description": "An API key issued by the NHSmail Feedback team in the admin.",
        }


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Field errors: the field's path -> sentences.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail"],
}

# Answers any operation may give, besides its own.
COMMON_PROBLEMS = {
    "400": "The request has errors (problem+json with field errors).",
    "401": "No API key, or not a live one.",
    "403": "The key's client lacks this operation's scope.",
    "406": "Only application/json is offered.",
    "429": "Over the client's rate limit: wait for Retry-After seconds.",
}
POST_PROBLEMS = {
    "409": "Refused in the current state, or the Idempotency-Key was used with another body.",
    "415": "Send application/json.",
    "422": "Well formed, but refused by the portal's rules (a domain already requested, say): "
    "problem+json with field errors, as the web form words them.",
}


IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": (
        "A key of your choosing (a UUID is usual), the same when you retry: the first answer is "
        "given again for the same key and body, a 409 for the same key with another body."
    ),
    # Visible ASCII only: what api.idempotency accepts, and what survives every HTTP stack.
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$", "maxLength": 255},
}


def add_problem_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the problem+json answers on every
    operation, so a client (and schemathesis) knows each status the API may give."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    problem_content = {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            wanted = dict(COMMON_PROBLEMS)
            if method == "post":
                wanted.update(POST_PROBLEMS)
                # Every POST goes through api.idempotency: the header is required, not optional.
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_KEY_PARAMETER)
            if "{" in path:
                wanted["404"] = "No such object, or not one this client may see."
            elif any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
                wanted["404"] = "No page at this cursor: it is not one the API gave."
            responses = operation.setdefault("responses", {})
            for code, description in wanted.items():
                responses.setdefault(code, {"description": description, "content": problem_content})
    return result
