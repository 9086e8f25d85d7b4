"""What every page's template needs from settings."""

from django.conf import settings


def portal(request):
    return {"feedback_team_email": settings.FEEDBACK_TEAM_EMAIL}
