from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import requests_views
from .allowlist_views import AllowListView, ChangeSetAppliedView, ChangeSetView
from .support_views import SupportDetailView, SupportListView, SupportReplyView
from .views import WhoAmIView

app_name = "api"

# Swagger UI (served from drf-spectacular-sidecar's static files, no CDN) draws its icons as
# data: images, and its page template has one fixed <style> block, allowed by its hash.
SWAGGER_CSP = {
    "img-src": ["'self'", "data:"],
    "style-src": ["'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"],
}

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        csp_update(SWAGGER_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path("me/", WhoAmIView.as_view(), name="whoami"),
    path("support/", SupportListView.as_view(), name="support_list"),
    path("support/<str:reference>/", SupportDetailView.as_view(), name="support_detail"),
    path("support/<str:reference>/replies/", SupportReplyView.as_view(), name="support_reply"),
    path("allowlist/", AllowListView.as_view(), name="allowlist"),
    path("allowlist/change-set/", ChangeSetView.as_view(), name="allowlist_change_set"),
    path(
        "allowlist/change-set/applied/",
        ChangeSetAppliedView.as_view(),
        name="allowlist_change_set_applied",
    ),
    path("requests/", requests_views.RequestListView.as_view(), name="request_list"),
    path(
        "requests/<str:reference>/",
        requests_views.RequestDetailView.as_view(),
        name="request_detail",
    ),
    path(
        "requests/<str:reference>/timeline/",
        requests_views.RequestTimelineView.as_view(),
        name="request_timeline",
    ),
    path(
        "requests/<str:reference>/checks/",
        requests_views.RequestChecksView.as_view(),
        name="request_checks",
    ),
    path(
        "requests/<str:reference>/evidence/",
        requests_views.RequestEvidenceView.as_view(),
        name="request_evidence",
    ),
]
