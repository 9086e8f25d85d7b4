from django.urls import path

from . import views

app_name = "requests_app"

urlpatterns = [
    path("", views.start, name="start"),
    path("request/", views.request_form, name="request_form"),
    path("request/done/", views.confirmation, name="confirmation"),
    path("status/<str:token>/", views.status, name="status"),
    path("status/<str:token>/withdraw/", views.withdraw, name="withdraw"),
]
