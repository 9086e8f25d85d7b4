"""Federation requests: the list, one request, its timeline, checks and evidence, and raising one
on an organisation's behalf (through the service the service desk's page uses)."""

import re

from django.http import Http404
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements import selectors as agreement_selectors
from requests_app import selectors
from requests_app.domains import DomainError, normalise_domain
from requests_app.models import FederationRequest
from requests_app.services import lifecycle

from . import idempotency
from .fields import refuse_unknown_parameters
from .idempotency import idempotent
from .pagination import ApiCursorPagination
from .problems import RefusedByRules
from .request_serializers import (
    STATE_CHOICES,
    ChecksSerializer,
    EvidenceSerializer,
    RaiseRequestSerializer,
    RequestDetailSerializer,
    RequestSummarySerializer,
    TimelineSerializer,
    form_errors,
    raise_form,
)

READ = "requests:read"
WRITE = "requests:write"

REFERENCE = OpenApiParameter(
    "reference",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The request's reference, like FR-000123.",
    pattern=r"^[A-Za-z]{2}-[0-9]{1,9}$",
)

FILTERS = ("state", "organisation", "domain", "updated_since")
LIST_PARAMETERS = (*FILTERS, "cursor", "page_size")


def _filters(params) -> dict | None:
    """The list's query parameters as requests_listed's arguments, or a 400 naming the bad one;
    None when they match no request whatever the data."""
    # A NUL anywhere in the query is refused at the door (federation_portal.errors).
    errors: dict[str, list[str]] = {}
    state = params.get("state", "")
    if "state" in params and state not in STATE_CHOICES:
        errors["state"] = [f"Use one of: {', '.join(STATE_CHOICES)}."]
    domain = params.get("domain", "")
    readable = True
    if domain:
        try:
            domain = normalise_domain(domain)
        except DomainError:
            # Not a name any request could hold: it matches none (an empty page, not a 400;
            # no schema can say which strings are domain names).
            readable = False
    changed_since = None
    if "updated_since" in params:
        try:
            changed_since = parse_datetime(params["updated_since"])
        except ValueError:
            changed_since = None
        if changed_since is None or changed_since.tzinfo is None:
            errors["updated_since"] = [
                "Give an ISO 8601 date and time with its offset, like 2026-01-31T09:00:00Z."
            ]
    if errors:
        raise serializers.ValidationError(errors)
    if not readable:
        return None
    return {
        "state": state,
        "organisation": params.get("organisation", ""),
        "domain": domain,
        "changed_since": changed_since,
    }


REFERENCE_SHAPE = re.compile(r"[A-Za-z]{2}-[0-9]{1,9}")


def _request_or_404(reference: str) -> FederationRequest:
    req = (
        selectors.request_by_reference(reference) if REFERENCE_SHAPE.fullmatch(reference) else None
    )
    if req is None:
        raise Http404(f"There is no request {reference}.")
    return req


def _agreement_status(req: FederationRequest) -> dict:
    agreement = agreement_selectors.current_agreement(req)
    if agreement is None:
        kind = "none"
    elif agreement.expired_at:
        kind = "expired"
    elif agreement.received_at or agreement.signed_on:
        kind = "signed"
    elif agreement.sent_at:
        kind = "sent"
    elif agreement.failure:
        kind = "failed"
    else:
        kind = "in_preparation"
    return {
        "status": kind,
        "requested_at": agreement.requested_at if agreement else None,
        "sent_at": agreement.sent_at if agreement else None,
        "signed_on": agreement.signed_on if agreement else None,
        "expired_at": agreement.expired_at if agreement else None,
    }


def _allow_list_status(req: FederationRequest) -> dict:
    kept = [domain.name for domain in req.kept_domains]
    listed = selectors.domains_on_allow_list(kept)
    if kept and len(listed) == len(kept):
        kind = "listed"
    elif listed:
        kind = "partly_listed"
    else:
        kind = "not_listed"
    return {"status": kind, "listed_domains": listed}


def detail_body(req: FederationRequest) -> dict:
    """One request as GET /api/v1/requests/{reference}/ answers."""
    req.agreement_status = _agreement_status(req)
    req.allow_list_status = _allow_list_status(req)
    return RequestDetailSerializer(req).data


class RequestListView(APIView):
    """Federation requests, newest first, a page at a time; raise one on an organisation's
    behalf."""

    required_scopes = {"GET": READ, "POST": WRITE}
    # Named for the schema: the list's answer is documented in the paginator's shape.
    pagination_class = ApiCursorPagination

    @extend_schema(
        operation_id="requests_list",
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, enum=STATE_CHOICES),
            OpenApiParameter(
                "organisation",
                OpenApiTypes.STR,
                description="The organisation's ODS code, or its exact name (any case).",
            ),
            OpenApiParameter(
                "domain",
                OpenApiTypes.STR,
                description="A domain the request holds or held (U- or A-label); a string "
                "that is not a domain name matches no request.",
            ),
            OpenApiParameter(
                "updated_since",
                OpenApiTypes.DATETIME,
                description="Only requests with an audited change at or after this ISO 8601 "
                "date and time (with its offset).",
            ),
        ],
        responses=RequestSummarySerializer(many=True),
    )
    def get(self, request):
        refuse_unknown_parameters(request.query_params, LIST_PARAMETERS)
        filters = _filters(request.query_params)
        requests = (
            selectors.requests_listed(**filters)
            if filters is not None
            else FederationRequest.objects.none()
        )
        paginator = ApiCursorPagination()
        page = paginator.paginate_queryset(requests, request, view=self)
        return paginator.get_paginated_response(RequestSummarySerializer(page, many=True).data)

    @extend_schema(
        operation_id="requests_raise",
        parameters=[idempotency.PARAMETER],
        request=RaiseRequestSerializer,
        responses={201: RequestDetailSerializer},
    )
    @idempotent
    def post(self, request):
        body = RaiseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        form = raise_form(body.validated_data)
        if not form.is_valid():
            raise RefusedByRules(form_errors(form))
        # The service checks the client's service account may raise on behalf, and audits it.
        req = lifecycle.request_submit(actor=request.user, **form.service_arguments())
        return Response(
            detail_body(_request_or_404(req.reference)),
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api:request_detail", args=[req.reference])},
        )


class RequestDetailView(APIView):
    """One federation request: its state, domains, contacts, dates, agreement and allow list."""

    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="requests_retrieve",
        parameters=[REFERENCE],
        responses={
            200: RequestDetailSerializer,
            404: OpenApiResponse(description="No such request."),
        },
    )
    def get(self, request, reference: str):
        return Response(detail_body(_request_or_404(reference)))


class RequestTimelineView(APIView):
    """The request's state changes, oldest first."""

    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="requests_timeline",
        parameters=[REFERENCE],
        responses={200: TimelineSerializer, 404: OpenApiResponse(description="No such request.")},
    )
    def get(self, request, reference: str):
        req = _request_or_404(reference)
        events = selectors.request_timeline(req)
        return Response(TimelineSerializer({"reference": req.reference, "events": events}).data)


class RequestChecksView(APIView):
    """The latest completed domain checks of the request, per domain, worst first."""

    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="requests_checks",
        parameters=[REFERENCE],
        responses={200: ChecksSerializer, 404: OpenApiResponse(description="No such request.")},
    )
    def get(self, request, reference: str):
        req = _request_or_404(reference)
        run = selectors.latest_check_run(req, completed=True)
        domains = []
        for row in selectors.check_run_results(run) if run else []:
            domains.append(
                {
                    "domain": row["domain"],
                    "verdict": row["verdict"],
                    "checked_at": row["checked_at"],
                    "results": [
                        {
                            "id": result.get("id", ""),
                            "status": result["status"],
                            "sentence": result["summary"],
                            "details": result.get("details", {}),
                            "fix": result["fix"],
                        }
                        for result in row["results"]
                    ],
                }
            )
        body = {
            "reference": req.reference,
            "completed_at": run.completed_at if run else None,
            "domains": domains,
        }
        return Response(ChecksSerializer(body).data)


class RequestEvidenceView(APIView):
    """The organisation's DCB1596 evidence, criterion by criterion."""

    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="requests_evidence",
        parameters=[REFERENCE],
        responses={200: EvidenceSerializer, 404: OpenApiResponse(description="No such request.")},
    )
    def get(self, request, reference: str):
        req = _request_or_404(reference)
        criteria = []
        for row in agreement_selectors.evidence_by_criterion(req):
            item = row["item"]
            criteria.append(
                {
                    "criterion": row["criterion"].code,
                    "title": row["criterion"].title,
                    "required": row["criterion"].required,
                    "status": item.status if item else "not_received",
                    "status_label": row["status"],
                    "uploaded_at": item.uploaded_at if item else None,
                    "verified_at": item.verified_at if item else None,
                    "returned_reason": row["returned_reason"],
                }
            )
        return Response(EvidenceSerializer({"reference": req.reference, "criteria": criteria}).data)
