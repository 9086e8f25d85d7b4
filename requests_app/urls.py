from django.urls import path

from . import views

app_name = "requests_app"

urlpatterns = [
    path("", views.start, name="start"),
    path("request/", views.request_form, name="request_form"),
    path("request/check-email/", views.check_email, name="check_email"),
    path("request/confirm/<str:secret>/", views.confirm_email, name="confirm_email"),
    path("request/done/", views.confirmation, name="confirmation"),
    path("status/<str:token>/", views.status, name="status"),
    path("status/<str:token>/withdraw/", views.withdraw, name="withdraw"),
]
