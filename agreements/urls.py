from django.urls import path

from . import views

app_name = "agreements"

urlpatterns = [
    path("verify/", views.verify_agreement, name="verify"),
]
