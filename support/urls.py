from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("", views.support_list, name="list"),
    path("new/", views.support_new, name="new"),
    path("<str:reference>/", views.support_detail, name="detail"),
]
