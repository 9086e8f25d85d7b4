from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "NHSmail Teams federation: Feedback team"
admin.site.site_title = "Federation portal admin"
admin.site.index_title = "Federation requests"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("agreements.urls")),  # agreements/verify/ and the status link's PDF
    path("account/support/", include("support.urls")),
    path("account/", include("accounts.urls")),
    path("account/", include("portal.urls")),
    path("", include("requests_app.urls")),
]
