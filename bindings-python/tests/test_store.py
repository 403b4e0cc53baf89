"""Stores written in Python: the core's conformance suite, tool hiding, exceptions that come
back unchanged, and store calls while a chat stream is being consumed."""

from __future__ import annotations

import asyncio
import threading

import crm_agent
import pytest
from conftest import FakeGemini, text_of, types_of
from crm_agent.testing import assert_store_conforms
from memory_store import AsyncMemoryStore, MemoryStore

# The cases a store of employees, customers and issues must pass (the rest are skipped).
MUST_RUN = [
    "customers_crud_and_filters",
    "customer_dates_and_orders",
    "pagination_totals",
    "issues_numbers_and_comments",
    "customer_isolation",
    "issue_isolation",
    # Kept by the agent's own database, in front of which the Python store sits.
    "conversations_crud_and_pages",
    "pending_action_lifecycle",
    "audit_events",
]


def test_a_sync_python_store_passes_the_conformance_suite() -> None:
    results = assert_store_conforms(MemoryStore, must_run=MUST_RUN)
    skipped = {r["name"] for r in results if r["outcome"] == "skipped"}
    assert "deals_and_pipelines" in skipped and "tenant_isolation" in skipped


def test_an_async_python_store_passes_the_conformance_suite() -> None:
    assert_store_conforms(AsyncMemoryStore, must_run=MUST_RUN)


def test_a_broken_store_fails_the_suite() -> None:
    class Leaky(MemoryStore):
        """Ignores the organization when reading a customer."""

        def get_customer(self, scope: dict, id: str) -> dict:
            with self._lock:
                return {k: v for k, v in self._customers[id].items() if not k.startswith("_")}

    with pytest.raises(AssertionError, match="customer_isolation"):
        assert_store_conforms(Leaky)


def agent_over(store: crm_agent.Store, fake: FakeGemini) -> tuple[crm_agent.Agent, crm_agent.UserContext]:
    agent = crm_agent.Agent(store=store, gemini_api_key="k", gemini_base_url=fake.url, model="gemini-test")
    org = agent.ensure_organization("acme", "Acme")
    owner = crm_agent.UserContext("owner-1", org["id"], "owner", display_name="Olive")
    return agent, owner


def test_tools_the_store_cannot_serve_are_hidden(fake: FakeGemini) -> None:
    agent, owner = agent_over(MemoryStore(), fake)
    names = {t["name"] for t in agent.tools(owner)}
    assert {"list_customers", "create_customer", "list_issues", "create_issue"} <= names
    assert not {"list_deals", "list_leads", "list_orders", "create_activity"} & names
    with pytest.raises(crm_agent.NotFound):
        agent.call_tool(owner, "list_deals", {})


def test_the_agent_uses_the_python_store(fake: FakeGemini) -> None:
    store = MemoryStore()
    agent, owner = agent_over(store, fake)
    created = agent.call_tool(owner, "create_customer", {"name": "Initech", "email": "hi@initech.example"})
    assert created["name"] == "Initech" and created["id"] in store._customers
    issue = agent.call_tool(owner, "create_issue", {"title": "Printer on fire", "customer_id": created["id"]})
    assert issue["number"].startswith("ISS-")
    # A customer user of the same organization sees only their own records.
    other = agent.call_tool(owner, "create_customer", {"name": "Other"})
    me = crm_agent.UserContext("cust-1", owner.organization_id, "customer", customer_id=created["id"])
    assert [c["id"] for c in agent.call_tool(me, "list_customers", {})["items"]] == [created["id"]]
    with pytest.raises(crm_agent.NotFound):
        agent.call_tool(me, "get_customer", {"customer_id": other["id"]})
    # Another organization sees nothing of this one.
    elsewhere = crm_agent.UserContext("o2", agent.ensure_organization("globex")["id"], "owner")
    assert agent.call_tool(elsewhere, "list_customers", {})["total"] == 0
    with pytest.raises(crm_agent.NotFound):
        agent.call_tool(elsewhere, "get_issue", {"issue_id": issue["id"]})


def test_bad_input_is_refused_before_the_store_sees_it(fake: FakeGemini) -> None:
    store = MemoryStore()
    agent, owner = agent_over(store, fake)
    with pytest.raises(crm_agent.InvalidArgument):
        agent.call_tool(owner, "create_customer", {"name": "Bad", "email": "not-an-email"})
    assert store._customers == {}


class Boom(Exception):
    """A host exception the agent knows nothing about."""


def test_store_exceptions_come_back_as_the_same_object(fake: FakeGemini) -> None:
    raised: list[BaseException] = []

    class Failing(MemoryStore):
        def get_customer(self, scope: dict, id: str) -> dict:
            error = Boom("the ORM is down")
            raised.append(error)
            raise error

    agent, owner = agent_over(Failing(), fake)
    with pytest.raises(Boom) as caught:
        agent.call_tool(owner, "get_customer", {"customer_id": "cus_1"})
    assert caught.value is raised[0]


async def test_async_store_exceptions_come_back_as_the_same_object(fake: FakeGemini) -> None:
    raised: list[BaseException] = []

    class Failing(AsyncMemoryStore):
        async def list_customers(self, scope: dict, filter: dict, page: dict) -> dict:
            error = crm_agent.StoreError("database is locked")
            raised.append(error)
            raise error

    agent, owner = agent_over(Failing(), fake)
    with pytest.raises(crm_agent.StoreError) as caught:
        await agent.call_tool_async(owner, "list_customers", {})
    assert caught.value is raised[0] and caught.value.kind == "store"


def test_a_store_raising_not_found_is_not_found_to_the_core(fake: FakeGemini) -> None:
    agent, owner = agent_over(MemoryStore(), fake)
    with pytest.raises(crm_agent.NotFound) as caught:
        agent.call_tool(owner, "get_customer", {"customer_id": "cus_missing"})
    assert caught.value.kind == "not_found"


def test_a_sync_store_method_may_call_the_blocking_api(fake: FakeGemini) -> None:
    """A host store that asks the agent something while answering (here: a customer read that
    first lists customers through the agent) gets an answer, not a panic or a deadlock."""
    agents: list[tuple[crm_agent.Agent, crm_agent.UserContext]] = []

    class Reentrant(MemoryStore):
        def get_customer(self, scope: dict, id: str) -> dict:
            agent, owner = agents[0]
            listed = agent.call_tool(owner, "list_customers", {})
            assert listed["total"] == 1
            return super().get_customer(scope, id)

    agents.append(agent_over(Reentrant(), fake))
    agent, owner = agents[0]
    created = agent.call_tool(owner, "create_customer", {"name": "Initech"})
    done = threading.Event()
    timer = threading.Timer(30, lambda: done.is_set() or print("DEADLOCK"))
    timer.start()
    try:
        assert agent.call_tool(owner, "get_customer", {"customer_id": created["id"]})["name"] == "Initech"
    finally:
        done.set()
        timer.cancel()


async def test_an_async_store_method_awaits_the_agent_instead_of_blocking(fake: FakeGemini) -> None:
    """Inside an ``async def`` store method the blocking API would wait for store calls that only
    the store loop it blocks can run: it raises at once, and the ``_async`` form, awaited there,
    answers."""
    agents: list[tuple[crm_agent.Agent, crm_agent.UserContext]] = []
    listed: list[int] = []

    class Reentrant(AsyncMemoryStore):
        blocking = True

        async def get_customer(self, scope: dict, id: str) -> dict:
            agent, owner = agents[0]
            if self.blocking:
                agent.call_tool(owner, "list_customers", {})
            else:
                listed.append((await agent.call_tool_async(owner, "list_customers", {}))["total"])
            return MemoryStore.get_customer(self, scope, id)

    store = Reentrant()
    agents.append(agent_over(store, fake))
    agent, owner = agents[0]
    created = await agent.call_tool_async(owner, "create_customer", {"name": "Initech"})

    with pytest.raises(RuntimeError, match="_async"):
        await asyncio.wait_for(agent.call_tool_async(owner, "get_customer", {"customer_id": created["id"]}), 30)

    store.blocking = False
    got = await asyncio.wait_for(agent.call_tool_async(owner, "get_customer", {"customer_id": created["id"]}), 30)
    assert got["name"] == "Initech" and listed == [1]


TOOL_TURN = [
    {
        "when": {"user_text_contains": "customers"},
        "reply": {"function_calls": [{"name": "list_customers", "args": {}}], "signatures": True},
    },
    {"when": {"function_response": "list_customers"}, "reply": {"text": "You have one customer."}},
]


def test_a_sync_store_called_while_a_chat_is_consumed_with_for(fake: FakeGemini) -> None:
    store = MemoryStore()
    agent, owner = agent_over(store, fake)
    agent.call_tool(owner, "create_customer", {"name": "Initech"})
    fake.script(TOOL_TURN)
    done = threading.Event()
    # A watchdog: a deadlock fails the test instead of hanging it.
    timer = threading.Timer(30, lambda: done.is_set() or print("DEADLOCK"))
    timer.start()
    events = list(agent.chat(owner, "how many customers do I have?"))
    done.set()
    timer.cancel()
    assert text_of(events) == "You have one customer." and store.calls.count("list_customers") == 1


@pytest.mark.parametrize("store_class", [MemoryStore, AsyncMemoryStore])
async def test_a_store_called_while_a_chat_is_consumed_with_async_for(fake: FakeGemini, store_class: type) -> None:
    store = store_class()
    agent, owner = agent_over(store, fake)
    await agent.call_tool_async(owner, "create_customer", {"name": "Initech"})
    fake.script(TOOL_TURN * 10)

    async def one() -> list[dict]:
        return [e async for e in agent.chat(owner, "how many customers do I have?")]

    # Ten chats at once, each calling the store, while this loop also calls it directly.
    runs = asyncio.gather(*(one() for _ in range(10)))
    direct = [await agent.call_tool_async(owner, "list_customers", {}) for _ in range(5)]
    results = await asyncio.wait_for(runs, timeout=60)
    assert all(types_of(r)[-1] == "done" for r in results)
    assert all(p["total"] == 1 for p in direct)
