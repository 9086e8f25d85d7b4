from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/sent/", views.sign_in_sent, name="sign_in_sent"),
    path("sign-in/link/<str:secret>/", views.sign_in_link, name="sign_in_link"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("", views.home, name="home"),
    path("requests/<str:reference>/", views.request_detail, name="request"),
    path("requests/<str:reference>/contacts/add/", views.contact_add, name="contact_add"),
    path(
        "requests/<str:reference>/contacts/<int:contact_id>/",
        views.contact_edit,
        name="contact_edit",
    ),
    path(
        "requests/<str:reference>/contacts/<int:contact_id>/remove/",
        views.contact_remove,
        name="contact_remove",
    ),
    path("requests/<str:reference>/spoc/", views.spoc_change, name="spoc_change"),
    path("requests/<str:reference>/teams-setup/", views.teams_setup, name="teams_setup"),
    path("requests/<str:reference>/sign/", views.sign_agreement, name="sign"),
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
