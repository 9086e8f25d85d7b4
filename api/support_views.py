"""Support requests for the service desk: the list, one request with its thread, a reply."""

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from support.models import SupportRequest
from support.selectors import support_request_with_thread, support_requests_for_staff
from support.services.support_requests import support_update

from .fields import refuse_unknown_parameters
from .idempotency import idempotent
from .pagination import ApiCursorPagination
from .support_serializers import (
    SupportFilterSerializer,
    SupportRequestDetailSerializer,
    SupportRequestSerializer,
    SupportUpdateSerializer,
)

REFERENCE = OpenApiParameter(
    "reference",
    str,
    OpenApiParameter.PATH,
    description="The support request's reference, SR-…",
    examples=[OpenApiExample("A support request", value="SR-000001")],
)


def _support_or_404(reference: str) -> SupportRequest:
    support = support_request_with_thread(reference)
    if support is None:
        raise Http404
    return support


class SupportListView(generics.ListAPIView):
    """Every support request, newest first, a page at a time."""

    required_scopes = {"GET": "support:read"}
    serializer_class = SupportRequestSerializer
    pagination_class = ApiCursorPagination

    def get_queryset(self):
        query = self.request.query_params
        refuse_unknown_parameters(
            query,
            [
                *SupportFilterSerializer().fields,
                ApiCursorPagination.cursor_query_param,
                ApiCursorPagination.page_size_query_param,
            ],
        )
        filters = SupportFilterSerializer(data=query.dict())
        filters.is_valid(raise_exception=True)
        return support_requests_for_staff(**filters.validated_data)

    @extend_schema(operation_id="support_list", parameters=[SupportFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SupportDetailView(APIView):
    """One support request with its thread of replies."""

    required_scopes = {"GET": "support:read"}

    @extend_schema(
        operation_id="support_retrieve",
        parameters=[REFERENCE],
        responses=SupportRequestDetailSerializer,
    )
    def get(self, request, reference: str):
        return Response(SupportRequestDetailSerializer(_support_or_404(reference)).data)


class SupportReplyView(APIView):
    """The Feedback team's reply through the service desk: the status moves, the contact is
    emailed, and the answer is the thread as it now stands."""

    required_scopes = {"POST": "support:write"}

    @extend_schema(
        operation_id="support_reply",
        parameters=[REFERENCE],
        request=SupportUpdateSerializer,
        responses={201: SupportRequestDetailSerializer},
    )
    @idempotent
    def post(self, request, reference: str):
        support = _support_or_404(reference)
        body = SupportUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        support_update(
            support_id=support.pk,
            actor=request.user,
            status=body.validated_data["status"],
            reply=body.validated_data.get("reply", ""),
        )
        return Response(
            SupportRequestDetailSerializer(_support_or_404(reference)).data,
            status=status.HTTP_201_CREATED,
        )
