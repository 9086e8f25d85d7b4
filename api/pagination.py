"""Cursor pagination for the API's lists: stable under inserts.

A cursor is an opaque token the API gives in `next` and `previous`; one it did not give names no
page, so it is a 404 (documented on every paginated list by api.schema). Not a 400: no schema
can say which strings are cursors, so a request that is valid by the schema would be refused.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination

BAD_PAGE_SIZE = "Send page_size as a whole number from 1 to {maximum}, or leave it out."
BAD_CURSOR = (
    "There is no page at this cursor: it is not one the API gave. Follow the next and previous "
    "links as given."
)


class ApiCursorPagination(CursorPagination):
    """Newest first; `next` and `previous` are links to follow, never built by hand."""

    ordering = ("-created_at", "-pk")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        # DRF falls back to the default for a page_size it cannot read: say so instead.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [BAD_PAGE_SIZE.format(maximum=self.max_page_size)]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(
                    {"minimum": 1, "maximum": self.max_page_size, "default": self.page_size}
                )
        return parameters

    invalid_cursor_message = BAD_CURSOR

    def paginate_queryset(self, queryset, request, view=None):
        # A cursor that decodes but holds a position that is not a timestamp fails in the query.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError):
            raise exceptions.NotFound(BAD_CURSOR) from None
