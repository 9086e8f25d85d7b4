"""Cursor pagination for the API's lists: stable under inserts, and a bad cursor is a 400."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination

BAD_CURSOR = "This cursor is not one the API gave: follow the next and previous links as given."


class ApiCursorPagination(CursorPagination):
    """Newest first; `next` and `previous` are links to follow, never built by hand."""

    ordering = ("-created_at", "-pk")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request):
        # DRF answers a cursor it cannot read with 404, as if the list did not exist.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [BAD_CURSOR]}) from None

    def paginate_queryset(self, queryset, request, view=None):
        # A cursor that decodes but holds a position that is not a timestamp fails in the query.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError):
            raise exceptions.ValidationError({"cursor": [BAD_CURSOR]}) from None
