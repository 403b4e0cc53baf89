"""The site's URLs: the admin, Django's login pages, the assistant, and the assistant under the
routes of the older Django frontend (``/api/gemini/``, token auth)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="crm:assistant")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("assistant/", include("crm.urls")),
    path("api/gemini/", include("crm.compat_urls")),
]
