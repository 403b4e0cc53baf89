"""WSGI entry point. Under WSGI, Django collects an async streaming response before sending it,
so the chat answer arrives in one piece; use ``asgi.py`` to stream."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")

application = get_wsgi_application()
