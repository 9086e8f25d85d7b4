"""WSGI entry point (gunicorn federation_portal.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "federation_portal.settings.production")

application = get_wsgi_application()
