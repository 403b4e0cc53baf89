"""The process's one crm-agent ``Agent``, and this site's crm-agent organization.

An ``Agent`` holds a connection pool and the runtime that runs chat turns; it is thread-safe
and meant to be shared, so it is built once per process, on first use (not at import, so
``manage.py migrate`` and friends never open it). The organization is looked up (or created)
once and its id kept. Changing a ``CRM_AGENT_*`` setting (``override_settings`` in tests)
drops both, and the next use builds them from the new settings.
"""

from __future__ import annotations

import threading
from typing import Any

import crm_agent
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from crm.store import DjangoStore

_lock = threading.Lock()
_agent: crm_agent.Agent | None = None
_organization_id: str | None = None


def _build() -> crm_agent.Agent:
    return crm_agent.Agent(
        database=settings.CRM_AGENT_DATABASE,
        store=DjangoStore(),
        gemini_api_key=settings.CRM_AGENT_GEMINI_API_KEY,
        gemini_base_url=settings.CRM_AGENT_GEMINI_BASE_URL,
        model=settings.CRM_AGENT_MODEL,
    )


def get_agent() -> crm_agent.Agent:
    """The agent of this process. Blocks while it is first built (opening and migrating its
    database): call it from async code through ``sync_to_async``."""
    global _agent
    with _lock:
        if _agent is None:
            _agent = _build()
        return _agent


def organization_id() -> str:
    """The id of this site's organization (``CRM_AGENT_ORGANIZATION``), created on first use."""
    global _organization_id
    agent = get_agent()
    with _lock:
        if _organization_id is None:
            organization = agent.ensure_organization(
                settings.CRM_AGENT_ORGANIZATION, settings.CRM_AGENT_ORGANIZATION_NAME
            )
            _organization_id = organization["id"]
        return _organization_id


def reset() -> None:
    """Closes the agent and forgets the organization; the next use starts afresh."""
    global _agent, _organization_id
    with _lock:
        agent, _agent, _organization_id = _agent, None, None
    if agent is not None:
        agent.close()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting.startswith("CRM_AGENT_"):
        reset()
