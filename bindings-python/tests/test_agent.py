"""Every Agent API, sync and async, against a seeded SQLite database and the fake Gemini server."""

from __future__ import annotations

import asyncio
import pathlib
import time

import crm_agent
import pytest
from conftest import Demo, text_of, types_of

ANSWER = {"text": "You have customers, and Acme is doing well.", "chunk_size": 6}


def list_then_answer(question: str) -> list[dict]:
    """A two-step turn: the model lists customers, then answers."""
    return [
        {
            "when": {"user_text_contains": question},
            "reply": {"function_calls": [{"name": "list_customers", "args": {"limit": 3}}], "signatures": True},
        },
        {"when": {"function_response": "list_customers"}, "reply": ANSWER},
    ]


def test_tools_are_what_the_caller_may_use(demo: Demo) -> None:
    owner_tools = {t["name"] for t in demo.agent.tools(demo.owner)}
    customer_tools = {t["name"] for t in demo.agent.tools(demo.customer)}
    assert {"list_customers", "create_customer", "get_dashboard_stats"} <= owner_tools
    assert "list_leads" not in customer_tools and "create_customer" not in customer_tools
    assert customer_tools < owner_tools
    tool = next(t for t in demo.agent.tools(demo.owner) if t["name"] == "get_customer")
    assert tool["parameters"]["type"] == "object" and tool["description"] and tool["title"]
    assert tool["annotations"]["read_only"] is True


def test_call_tool_sync(demo: Demo) -> None:
    page = demo.agent.call_tool(demo.owner, "list_customers", {"limit": 5})
    assert len(page["items"]) == 5 and page["total"] > 5
    first = page["items"][0]
    again = demo.agent.call_tool(demo.owner, "get_customer", {"customer_id": first["id"]})
    assert again["id"] == first["id"]


async def test_call_tool_async(demo: Demo) -> None:
    page, stats = await asyncio.gather(
        demo.agent.call_tool_async(demo.owner, "list_customers", {"limit": 2}),
        demo.agent.call_tool_async(demo.owner, "get_customer_stats"),
    )
    assert len(page["items"]) == 2 and stats["total"] == page["total"]


def test_tenants_and_customers_are_isolated(demo: Demo) -> None:
    acme = demo.agent.call_tool(demo.owner, "list_customers", {"limit": 1})["items"][0]
    with pytest.raises(crm_agent.NotFound):
        demo.agent.call_tool(demo.other_owner, "get_customer", {"customer_id": acme["id"]})
    mine = demo.agent.call_tool(demo.customer, "list_customers", {})
    assert mine["total"] == 1 and mine["items"][0]["id"] == demo.customer.customer_id


def test_customers_never_see_staff_fields(demo: Demo) -> None:
    own = demo.customer.customer_id
    demo.agent.call_tool(
        demo.owner,
        "update_customer",
        {"customer_id": own, "notes": "INTERNAL: slow payer", "credit_limit": 5000, "custom_fields": {"risk": "high"}},
    )
    seen = demo.agent.call_tool(demo.customer, "get_customer", {"customer_id": own})
    assert seen["id"] == own
    assert not {"notes", "credit_limit", "assigned_to"} & seen.keys() and seen["custom_fields"] == {}
    staff = demo.agent.call_tool(demo.owner, "get_customer", {"customer_id": own})
    assert staff["notes"] == "INTERNAL: slow payer" and staff["custom_fields"] == {"risk": "high"}
    with pytest.raises(crm_agent.PermissionDenied):
        demo.agent.call_tool(demo.customer, "list_customers", {"assigned_to": "emp_anyone"})


def test_errors_map_to_exceptions_with_the_core_kind(demo: Demo) -> None:
    with pytest.raises(crm_agent.NotFound) as not_found:
        demo.agent.call_tool(demo.owner, "get_customer", {"customer_id": "cus_missing"})
    assert not_found.value.kind == "not_found" and isinstance(not_found.value, crm_agent.CrmAgentError)
    with pytest.raises(crm_agent.PermissionDenied) as denied:
        demo.agent.call_tool(demo.customer, "create_lead", {"name": "sneaky"})
    assert denied.value.kind == "permission_denied"
    with pytest.raises(crm_agent.InvalidArgument) as invalid:
        demo.agent.call_tool(demo.owner, "create_customer", {"name": "x", "customer_type": "martian"})
    assert "customer_type" in str(invalid.value)
    # A role is read under the agent's policy, on first use (see test_a_context_is_read_under_the_policy).
    wizard = crm_agent.UserContext("u", demo.owner.organization_id, "wizard")
    with pytest.raises(crm_agent.InvalidArgument, match="wizard"):
        demo.agent.tools(wizard)
    with pytest.raises(crm_agent.InvalidArgument, match="unknown role"):
        demo.agent.tools(crm_agent.UserContext("u", demo.owner.organization_id, "employee", roles=["pirate"]))
    for cls in (crm_agent.Conflict, crm_agent.ModelError, crm_agent.StoreError, crm_agent.Unsupported):
        assert issubclass(cls, crm_agent.CrmAgentError)
    assert crm_agent.ModelError.kind == "model" and crm_agent.StoreError.kind == "store"


async def test_errors_map_the_same_way_async(demo: Demo) -> None:
    with pytest.raises(crm_agent.NotFound):
        await demo.agent.call_tool_async(demo.owner, "get_customer", {"customer_id": "cus_missing"})
    action = await _pending_action(demo)
    await demo.agent.reject_async(demo.owner, action)
    with pytest.raises(crm_agent.Conflict) as conflict:
        await demo.agent.reject_async(demo.owner, action)
    assert conflict.value.kind == "conflict"


def test_a_streamed_turn_with_a_tool_call(demo: Demo) -> None:
    demo.fake.script(list_then_answer("customers"))
    events = list(demo.agent.chat(demo.owner, "How are my customers?"))
    assert types_of(events)[0] == "started" and types_of(events)[-1] == "done"
    call = next(e for e in events if e["type"] == "tool_call")
    result = next(e for e in events if e["type"] == "tool_result")
    assert (call["name"], call["args"], result["ok"]) == ("list_customers", {"limit": 3}, True)
    assert text_of(events) == ANSWER["text"]
    assert events[-1]["usage"]["steps"] == 2
    # The second request echoed the model's call (with its signature) and the tool's result.
    second = demo.fake.requests()[1]["body"]["contents"]
    assert any("functionResponse" in p for c in second for p in c["parts"])


async def test_a_streamed_turn_async(demo: Demo) -> None:
    demo.fake.script(list_then_answer("customers"))
    events = [event async for event in demo.agent.chat(demo.owner, "How are my customers?")]
    assert types_of(events)[0] == "started" and types_of(events)[-1] == "done"
    assert text_of(events) == ANSWER["text"]


def stored_after_cancel(demo: Demo, conversation: str) -> list[str]:
    """The roles stored by a cancelled turn. It hangs up on the model, then stores what it keeps
    in one write: wait for both (no sleep), then answer what that write held."""
    demo.fake.wait_for_stream("abandoned")
    deadline = time.monotonic() + 10
    while True:
        messages = demo.agent.conversation(demo.owner, conversation)["messages"]
        if messages or time.monotonic() > deadline:
            return [m["role"] for m in messages]
        time.sleep(0.01)


def test_breaking_out_cancels_the_turn(demo: Demo) -> None:
    demo.fake.script([{"reply": {"text": "word " * 60, "chunk_size": 5, "chunk_delay_ms": 50}}])
    stream = demo.agent.chat(demo.owner, "tell me a long story")
    conversation = next(stream)["conversation_id"]
    for event in stream:
        assert event["type"] == "text"
        break
    del stream
    # Only the question was stored: the cancelled answer left nothing half-written.
    assert stored_after_cancel(demo, conversation) == ["user"]


async def test_breaking_out_of_async_for_cancels_the_turn(demo: Demo) -> None:
    demo.fake.script([{"reply": {"text": "word " * 60, "chunk_size": 5, "chunk_delay_ms": 50}}])
    async with demo.agent.chat(demo.owner, "tell me a long story") as stream:
        async for event in stream:
            if event["type"] == "started":
                conversation = event["conversation_id"]
            if event["type"] == "text":
                break
    assert await asyncio.to_thread(stored_after_cancel, demo, conversation) == ["user"]


async def _pending_action(demo: Demo) -> str:
    """Chats until the model proposes a write; answers the pending action's id."""
    demo.fake.script(
        [
            {
                "when": {"user_text_contains": "add"},
                "reply": {"function_calls": [{"name": "create_customer", "args": {"name": "Initech"}}]},
            },
            {"when": {"function_response": "create_customer"}, "reply": {"text": "Please confirm."}},
        ]
    )
    events = [e async for e in demo.agent.chat(demo.owner, "add Initech as a customer")]
    card = next(e for e in events if e["type"] == "confirmation_required")
    assert card["tool"] == "create_customer"
    return card["action_id"]


async def test_confirm_runs_the_write_once(demo: Demo) -> None:
    action = await _pending_action(demo)
    done = demo.agent.confirm(demo.owner, action)
    assert done["action"]["status"] == "succeeded" and done["result"]["name"] == "Initech"
    with pytest.raises(crm_agent.Conflict):
        demo.agent.confirm(demo.owner, action)
    action = await _pending_action(demo)
    done = await demo.agent.confirm_async(demo.owner, action)
    assert done["result"]["name"] == "Initech"


async def test_reject_writes_nothing(demo: Demo) -> None:
    before = demo.agent.call_tool(demo.owner, "list_customers", {"search": "Initech"})["total"]
    rejected = demo.agent.reject(demo.owner, await _pending_action(demo))
    assert rejected["status"] == "rejected"
    rejected = await demo.agent.reject_async(demo.owner, await _pending_action(demo))
    assert rejected["status"] == "rejected"
    assert demo.agent.call_tool(demo.owner, "list_customers", {"search": "Initech"})["total"] == before
    with pytest.raises(crm_agent.NotFound):
        demo.agent.confirm(demo.rep, rejected["id"])


async def test_conversations_sync_and_async(demo: Demo) -> None:
    demo.fake.script([{"times": 0, "reply": {"text": "Hello!"}}])
    first = next(iter(demo.agent.chat(demo.owner, "hi")))["conversation_id"]
    events = [e async for e in demo.agent.chat(demo.owner, "hi again")]
    second = events[0]["conversation_id"]
    listed = demo.agent.conversations(demo.owner)
    assert {c["id"] for c in listed["items"]} == {first, second} and listed["total"] == 2
    assert (await demo.agent.conversations_async(demo.owner, limit=1))["next_cursor"] is not None
    assert demo.agent.conversations(demo.rep)["total"] == 0
    renamed = demo.agent.rename_conversation(demo.owner, second, "Greetings")
    assert renamed["title"] == "Greetings"
    assert (await demo.agent.rename_conversation_async(demo.owner, second, "Hi"))["title"] == "Hi"
    detail = demo.agent.conversation(demo.owner, second)
    assert [m["role"] for m in detail["messages"]] == ["user", "model"]
    assert (await demo.agent.conversation_async(demo.owner, second))["conversation"]["id"] == second
    demo.agent.delete_conversation(demo.owner, first)
    await demo.agent.delete_conversation_async(demo.owner, second)
    assert demo.agent.conversations(demo.owner)["total"] == 0
    with pytest.raises(crm_agent.NotFound):
        demo.agent.conversation(demo.owner, first)


async def test_status_sync_and_async(demo: Demo) -> None:
    status = demo.agent.status(demo.owner)
    assert status["model"] == "gemini-test" and status["api_key_configured"] is True
    assert status["available"] is True and status["user"]["user_id"] == "acme-owner"
    assert status["tool_count"] == len(demo.agent.tools(demo.owner))
    assert (await demo.agent.status_async(demo.customer))["tool_count"] < status["tool_count"]
    unconfigured = crm_agent.Agent(gemini_api_key="", gemini_base_url=demo.fake.url)
    org = unconfigured.ensure_organization("solo")
    status = unconfigured.status(crm_agent.UserContext("u", org["id"], "owner"))
    assert status["available"] is False


def test_sse_encode(demo: Demo) -> None:
    assert (
        crm_agent.sse_encode({"type": "text", "delta": "hi"}) == 'event: text\ndata: {"type":"text","delta":"hi"}\n\n'
    )
    with pytest.raises(crm_agent.InvalidArgument):
        crm_agent.sse_encode({"type": "nonsense"})


def test_the_older_frontends_encodings(demo: Demo) -> None:
    assert crm_agent.compat_encode({"type": "text", "delta": "hi"}) == {"type": "message", "content": "hi"}
    assert crm_agent.compat_encode({"type": "tool_call", "id": "1", "name": "x", "args": {}}) is None
    status = crm_agent.compat_status(demo.agent.status(demo.rep))
    assert set(status) == {"available", "model", "api_key_configured", "user_context"}
    context = status["user_context"]
    assert (context["user_id"], context["role"]) == ("acme-rep", "employee")
    assert 0 < context["permissions_count"] < 52, "a sales rep holds some permissions, not all"
    with pytest.raises(crm_agent.InvalidArgument):
        crm_agent.compat_status({"model": "m"})


async def test_many_concurrent_chats_in_one_event_loop(demo: Demo) -> None:
    demo.fake.script([{"times": 0, "reply": {"text": "Short answer for everyone.", "chunk_size": 4}}])

    async def one(i: int) -> str:
        events = [e async for e in demo.agent.chat(demo.owner, f"question {i}")]
        assert types_of(events)[-1] == "done", events[-1]
        return text_of(events)

    answers = await asyncio.gather(*(one(i) for i in range(100)))
    assert answers == ["Short answer for everyone."] * 100


def test_ensure_organization_is_idempotent(demo: Demo) -> None:
    first = demo.agent.ensure_organization("initrode", "Initrode")
    assert demo.agent.ensure_organization("initrode")["id"] == first["id"]
    assert demo.agent.ensure_organization("acme")["name"].startswith("Acme")


async def test_a_replayed_stream_needs_no_model() -> None:
    events = [{"type": "started", "conversation_id": "c1"}, {"type": "text", "delta": "hi"}]
    events.append({"type": "done", "usage": {"prompt_tokens": 1, "output_tokens": 2, "total_tokens": 3, "steps": 1}})
    assert list(crm_agent.ChatStream.replay(events)) == events
    assert [e async for e in crm_agent.ChatStream.replay(events)] == events
    with pytest.raises(crm_agent.InvalidArgument):
        crm_agent.ChatStream.replay([{"type": "bogus"}])


def test_a_context_is_read_under_the_policy(tmp_path: pathlib.Path) -> None:
    policy = (
        '[role_names]\nmanager = "employee"\n\n[roles.deal_desk]\ndescription = "Deals only."\ngrants = ["deal:read"]\n'
    )
    agent = crm_agent.Agent(database=f"sqlite:///{tmp_path / 'custom.db'}", policy=policy)
    try:
        agent.seed_demo()
        organization_id = agent.context("acme-owner").organization_id
        desk = crm_agent.UserContext("d", organization_id, "manager", roles=["deal_desk"])
        assert len(agent.call_tool(desk, "list_deals", {"limit": 1})["items"]) == 1
        with pytest.raises(crm_agent.PermissionDenied):
            agent.call_tool(desk, "list_customers", {})
        # The built-in policy knows neither the host role name nor the system role.
        builtin = crm_agent.Agent(database=f"sqlite:///{tmp_path / 'custom.db'}")
        try:
            with pytest.raises(crm_agent.InvalidArgument, match="manager"):
                builtin.tools(desk)
        finally:
            builtin.close()
    finally:
        agent.close()
