"""The site's URLs: the admin, Django's login pages, the assistant, the assistant under the
routes of the older Django frontend (``/api/gemini/``, token auth), and the OAuth authorization
server MCP clients of ``crm-agent serve`` get their tokens from (``/o/``)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from oauth2_provider import urls as oauth2_urls

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="crm:assistant")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("assistant/", include("crm.urls")),
    path("api/gemini/", include("crm.compat_urls")),
    # The OAuth authorization server (issuer http://…/o), and its RFC 8414 metadata where
    # clients look first: /.well-known/oauth-authorization-server/o.
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("", include((oauth2_urls.metadata_urlpatterns, "oauth2_provider"), namespace="oauth2_metadata")),
]
