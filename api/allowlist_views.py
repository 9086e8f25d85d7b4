"""The allow list for tenant automation: the snapshot, the change set since the last one
applied, and recording a change set as applied."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from requests_app.selectors import allow_list_rows
from requests_app.services.allow_list import (
    allow_list_change_set_applied,
    allow_list_change_set_export,
)

from .allowlist_serializers import (
    AllowListApplicationSerializer,
    AllowListEntrySerializer,
    AllowListSnapshotSerializer,
    ChangeSetAppliedSerializer,
    ChangeSetQuerySerializer,
    ChangeSetSerializer,
)
from .fields import refuse_unknown_parameters
from .idempotency import idempotent


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None


class FormatIsNotARenderer(DefaultContentNegotiation):
    """?format= names the change set's format here, not one of DRF's renderers (which would
    answer 404 for a format it has no renderer for)."""

    settings = _NoFormatOverride()


class AllowListView(APIView):
    """The allow list as the tenant should hold it today: every domain in effect, with the date
    it took effect (one starting later is not in it until its day)."""

    required_scopes = {"GET": "allowlist:read"}

    @extend_schema(operation_id="allowlist_snapshot", responses=AllowListSnapshotSerializer)
    def get(self, request):
        rows = allow_list_rows(on_date=timezone.localdate())
        return Response(
            AllowListSnapshotSerializer(
                {
                    "on": timezone.localdate(),
                    "count": len(rows),
                    "entries": AllowListEntrySerializer(rows, many=True).data,
                }
            ).data
        )


class ChangeSetView(APIView):
    """What the tenant must add and remove since the last change set recorded as applied, as
    JSON that carries the export's text (in the format asked for) and its SHA-256. Each
    export is audited with the client's service account as the actor."""

    required_scopes = {"GET": "allowlist:read"}
    content_negotiation_class = FormatIsNotARenderer

    @extend_schema(
        operation_id="allowlist_change_set",
        parameters=[ChangeSetQuerySerializer],
        responses=ChangeSetSerializer,
    )
    def get(self, request):
        refuse_unknown_parameters(request.query_params, ChangeSetQuerySerializer().fields)
        query = ChangeSetQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        fmt = query.validated_data["format"]
        export = allow_list_change_set_export(fmt=fmt, actor=request.user)
        return Response(
            ChangeSetSerializer(
                {
                    "format": fmt,
                    "filename": export.filename,
                    "content_type": export.content_type,
                    "sha256": export.sha256,
                    "text": export.text,
                    "add": list(export.add),
                    "remove": list(export.remove),
                    "warnings": export.warnings,
                }
            ).data
        )


class ChangeSetAppliedView(APIView):
    """Record that the change set exported with this SHA-256 was applied to the tenant; a SHA
    that is not the current change set's is refused (409): export again, apply, record."""

    required_scopes = {"POST": "allowlist:apply"}

    @extend_schema(
        operation_id="allowlist_change_set_applied",
        request=ChangeSetAppliedSerializer,
        responses={201: AllowListApplicationSerializer},
    )
    @idempotent
    def post(self, request):
        body = ChangeSetAppliedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        application = allow_list_change_set_applied(
            fmt=body.validated_data["format"],
            sha256=body.validated_data["sha256"],
            actor=request.user,
        )
        return Response(
            AllowListApplicationSerializer(application).data, status=status.HTTP_201_CREATED
        )
