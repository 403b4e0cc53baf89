"""The routes of the older Django frontend, under ``/api/gemini/`` (see ``crm_site.urls``)."""

from __future__ import annotations

from django.urls import path

from crm import compat

app_name = "gemini"

urlpatterns = [
    path("chat/", compat.chat, name="chat"),
    path("status/", compat.status, name="status"),
    path("actions/<str:action_id>/confirm/", compat.confirm, name="confirm"),
    path("actions/<str:action_id>/reject/", compat.reject, name="reject"),
]
