from django.urls import path

from . import views

app_name = "agreements"

urlpatterns = [
    path("agreements/verify/", views.verify_agreement, name="verify"),
    path("status/<str:token>/agreement.pdf", views.status_download, name="status_download"),
]
