from django.urls import path

from . import contact_views, domain_views, offboarding_views, views

app_name = "portal"

# Under /account/, beside the sign-in pages.
urlpatterns = [
    path("", views.home, name="home"),
    path("requests/<str:reference>/", views.request_detail, name="request"),
    path("requests/<str:reference>/contacts/add/", contact_views.contact_add, name="contact_add"),
    path(
        "requests/<str:reference>/contacts/<int:contact_id>/",
        contact_views.contact_edit,
        name="contact_edit",
    ),
    path(
        "requests/<str:reference>/contacts/<int:contact_id>/remove/",
        contact_views.contact_remove,
        name="contact_remove",
    ),
    path("requests/<str:reference>/spoc/", contact_views.spoc_change, name="spoc_change"),
    path(
        "requests/<str:reference>/end-agreement/",
        offboarding_views.offboarding_ask,
        name="offboarding_ask",
    ),
    path(
        "requests/<str:reference>/domains/<int:domain_id>/remove/",
        domain_views.domain_remove,
        name="domain_remove",
    ),
    path("requests/<str:reference>/domains/add/", domain_views.domain_add, name="domain_add"),
    path(
        "requests/<str:reference>/amended-agreement.pdf",
        views.amendment_download,
        name="amendment_download",
    ),
    path("requests/<str:reference>/teams-setup/", views.teams_setup, name="teams_setup"),
    path("requests/<str:reference>/sign/", views.sign_agreement, name="sign"),
    path("requests/<str:reference>/reattestation/", views.reattestation, name="reattestation"),
    path(
        "requests/<str:reference>/agreement-signed.pdf",
        views.signed_download,
        name="signed_download",
    ),
    path(
        "requests/<str:reference>/evidence/<int:criterion_id>/",
        views.evidence_upload,
        name="evidence_upload",
    ),
    path(
        "requests/<str:reference>/agreement.pdf",
        views.agreement_download,
        name="agreement_download",
    ),
]
