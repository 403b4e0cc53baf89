"""The CRM app: the site's own tables, and the assistant built on them."""

from __future__ import annotations

from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        # Connects the handler that drops the agent when CRM_AGENT_* settings change.
        from crm import agent  # noqa: F401
