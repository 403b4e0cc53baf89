"""The assistant's endpoints, under ``/assistant/`` (see ``crm_site.urls``)."""

from __future__ import annotations

from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("", views.assistant, name="assistant"),
    path("chat", views.chat, name="chat"),
    path("status", views.status, name="status"),
    path("tools", views.tools, name="tools"),
    path("actions/<str:action_id>/confirm", views.confirm, name="confirm"),
    path("actions/<str:action_id>/reject", views.reject, name="reject"),
]
