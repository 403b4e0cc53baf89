"""ASGI entry point: serve with an ASGI server (uvicorn, daphne) so chat answers stream."""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")

application = get_asgi_application()
if settings.DEBUG:
    # The admin's CSS and scripts, as runserver would serve them; a deployment serves static
    # files from elsewhere.
    application = ASGIStaticFilesHandler(application)
