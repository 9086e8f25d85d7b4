from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "NHSmail Teams federation: Feedback team"
admin.site.site_title = "Federation portal admin"
admin.site.index_title = "Federation requests"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("", include("agreements.urls")),  # agreements/verify/ and the status link's PDF
    path("account/support/", include("support.urls")),
    path("account/", include("accounts.urls")),
    path("account/", include("portal.urls")),
    path("", include("requests_app.urls")),
]

# The portal's own error pages on the NHS.UK design system (federation_portal.errors).
handler400 = "federation_portal.errors.bad_request"
handler403 = "federation_portal.errors.permission_denied"
handler404 = "federation_portal.errors.page_not_found"
handler500 = "federation_portal.errors.server_error"
