"""The binding on PostgreSQL (CRM_AGENT_TEST_POSTGRES; skipped with a notice when unset)."""

from __future__ import annotations

import os
import uuid

import crm_agent
import pytest
from conftest import FakeGemini, text_of

URL = os.environ.get("CRM_AGENT_TEST_POSTGRES")


@pytest.mark.skipif(not URL, reason="CRM_AGENT_TEST_POSTGRES is not set: PostgreSQL tests skipped")
def test_tools_and_chat_on_postgres(fake: FakeGemini) -> None:
    # A fresh schema per run; scripts/test drops the crm_test_* schemas of earlier runs.
    schema = f"crm_test_py_{uuid.uuid4().hex[:12]}"
    agent = crm_agent.Agent(
        database=URL, database_schema=schema, gemini_api_key="k", gemini_base_url=fake.url, model="gemini-test"
    )
    agent.seed_demo()
    owner, other = agent.context("acme-owner"), agent.context("globex-owner")
    page = agent.call_tool(owner, "list_customers", {"limit": 2})
    assert len(page["items"]) == 2
    with pytest.raises(crm_agent.NotFound):
        agent.call_tool(other, "get_customer", {"customer_id": page["items"][0]["id"]})
    fake.script([{"reply": {"text": "Hello from PostgreSQL."}}])
    events = list(agent.chat(owner, "hello"))
    assert text_of(events) == "Hello from PostgreSQL."
    assert agent.conversations(owner)["total"] == 1
    agent.close()
