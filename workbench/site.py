"""The admin site with the Feedback team's overview as its first page: staff who may see
requests get the overview (with the admin's list of everything beneath it), everyone else
Django's own index."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from accounts.staff import PortalAdminSite
from requests_app.services.reports import report_export

from .overview import VIEW_REQUESTS, planned_without_jit
from .overview_page import overview_context, overview_table

OVERVIEW_TEMPLATE = "admin/workbench/overview.html"


class WorkbenchAdminSite(PortalAdminSite):
    """PortalAdminSite (sign-in with a second factor) whose index is the team's overview."""

    def get_urls(self):
        return [
            path(
                "overview/<slug:table>.csv",
                self.admin_view(self.overview_csv_view),
                name="overview_csv",
            ),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        if not request.user.has_perm(VIEW_REQUESTS):
            return super().index(request, extra_context)
        with planned_without_jit():
            figures = overview_context(request.user, request.GET)
        context = {
            **self.each_context(request),
            "title": "Overview",
            "subtitle": None,
            "app_list": self.get_app_list(request),
            **figures,
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, OVERVIEW_TEMPLATE, context)

    def overview_csv_view(self, request, table):
        """One of the overview's tables, in full, as CSV; each download audited."""
        if not request.user.has_perm(VIEW_REQUESTS):
            raise PermissionDenied
        with planned_without_jit():
            found = overview_table(request.user, table, request.GET)
        if found is None:
            raise Http404("No such table.")
        chosen, filename = found
        export = report_export(
            filename=filename, headers=chosen.headers, rows=chosen.rows, actor=request.user
        )
        response = HttpResponse(export.text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response
