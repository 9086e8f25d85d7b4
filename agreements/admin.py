"""The DCB1596 criteria, kept current by the Feedback team. A request's agreement and evidence
are worked in the workbench."""

from django.contrib import admin

from .models import EvidenceCriterion


@admin.register(EvidenceCriterion)
class EvidenceCriterionAdmin(admin.ModelAdmin):
    list_display = ("position", "title", "required")
    list_display_links = ("title",)
    ordering = ("position",)

    def has_delete_permission(self, request, obj=None):
        return False  # evidence refers to it; mark it not required instead
