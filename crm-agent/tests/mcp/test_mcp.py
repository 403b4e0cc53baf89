"""The official MCP Python client against crm-agent's MCP server, over stdio and Streamable HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid

import anyio
import httpx2
import mcp.types as types
import pytest
from conftest import (
    BIN,
    Demo,
    approve,
    bearer_client,
    crm_agent,
    decline,
    http_session,
    start_http,
    stdio_session,
)
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.anyio


async def customer_count(session, name: str) -> int:
    found = await session.call_tool("list_customers", {"search": name})
    assert not found.is_error, found.content
    return found.structured_content["total"]


# --- stdio ---------------------------------------------------------------------------------


async def test_stdio_lists_exactly_what_each_user_may_use(demo: Demo) -> None:
    async with stdio_session(demo, "acme-owner") as owner:
        owner_tools = [t.name for t in (await owner.list_tools()).tools]
    async with stdio_session(demo, "acme-customer") as customer:
        customer_tools = [t.name for t in (await customer.list_tools()).tools]
    assert owner_tools == demo.tool_names("acme-owner")
    assert customer_tools == demo.tool_names("acme-customer")
    assert "list_leads" in owner_tools and "list_leads" not in customer_tools
    assert len(customer_tools) < len(owner_tools)


async def test_stdio_tools_carry_schemas_and_annotations(demo: Demo) -> None:
    async with stdio_session(demo, "acme-owner") as owner:
        tools = {t.name: t for t in (await owner.list_tools()).tools}
    get_customer = tools["get_customer"]
    assert "customer_id" in get_customer.input_schema["properties"]
    assert get_customer.output_schema["type"] == "object"
    assert get_customer.annotations.read_only_hint is True
    assert tools["deactivate_customer"].annotations.destructive_hint is True
    assert tools["create_customer"].annotations.read_only_hint is False
    # Tools whose result is a list declare it wrapped in an object.
    assert tools["list_roles"].output_schema["properties"]["result"]["type"] == "array"


async def test_stdio_read_tool_returns_structured_content(demo: Demo) -> None:
    async with stdio_session(demo, "acme-owner") as owner:
        stats = await owner.call_tool("get_customer_stats", {})
        roles = await owner.call_tool("list_roles", {})
    assert not stats.is_error
    assert stats.structured_content["total"] >= 15
    assert isinstance(roles.structured_content["result"], list)
    async with stdio_session(demo, "acme-customer") as customer:
        mine = await customer.call_tool("list_customers", {"limit": 100})
    assert mine.structured_content["total"] == 1, "a customer sees only their own record"


async def test_stdio_bad_arguments_are_an_error_result(demo: Demo) -> None:
    async with stdio_session(demo, "acme-owner") as owner:
        result = await owner.call_tool("list_customers", {"status": "gold"})
    assert result.is_error
    assert "invalid_argument" in result.content[0].text and "status" in result.content[0].text


async def test_stdio_a_tool_the_user_may_not_use_is_refused(demo: Demo) -> None:
    async with stdio_session(demo, "acme-customer") as customer:
        result = await customer.call_tool("list_leads", {})
    assert result.is_error
    assert "permission_denied" in result.content[0].text


async def test_stdio_unknown_tool_is_a_protocol_error(demo: Demo) -> None:
    async with stdio_session(demo, "acme-owner") as owner:
        with pytest.raises(Exception, match="unknown tool"):
            await owner.call_tool("drop_all_tables", {})


async def test_stdio_customers_never_see_staff_fields(demo: Demo) -> None:
    async with stdio_session(demo, "acme-customer") as customer:
        own = (await customer.call_tool("list_customers", {})).structured_content["items"][0]
    call_as(demo, "acme-owner", "update_customer", {"customer_id": own["id"], "notes": "INTERNAL: slow payer"})
    async with stdio_session(demo, "acme-customer") as customer:
        seen = await customer.call_tool("get_customer", {"customer_id": own["id"]})
        assert not seen.is_error and seen.structured_content["id"] == own["id"]
        assert "notes" not in seen.structured_content and "slow payer" not in seen.content[0].text
        probe = await customer.call_tool("list_orders", {"search": "slow"})
        assert probe.is_error and "permission_denied" in probe.content[0].text


async def test_stdio_writes_are_confirmed_by_the_user_through_elicitation(demo: Demo) -> None:
    approved, declined = f"Approved {uuid.uuid4().hex[:8]}", f"Declined {uuid.uuid4().hex[:8]}"
    async with stdio_session(demo, "acme-owner", elicitation=approve) as owner:
        created = await owner.call_tool("create_customer", {"name": approved})
        assert not created.is_error, created.content
        assert created.structured_content["name"] == approved
        assert await customer_count(owner, approved) == 1
    async with stdio_session(demo, "acme-owner", elicitation=decline) as owner:
        refused = await owner.call_tool("create_customer", {"name": declined})
        assert refused.is_error and "did not approve" in refused.content[0].text
        assert await customer_count(owner, declined) == 0


async def test_stdio_writes_without_elicitation_follow_the_server_setting(demo: Demo) -> None:
    refused_name, trusted_name = f"Refused {uuid.uuid4().hex[:8]}", f"Trusted {uuid.uuid4().hex[:8]}"
    async with stdio_session(demo, "acme-owner") as owner:
        refused = await owner.call_tool("create_customer", {"name": refused_name})
        assert refused.is_error and "cannot ask its user" in refused.content[0].text
        assert await customer_count(owner, refused_name) == 0
    async with stdio_session(demo, "acme-owner", extra=("--trust-client-approval",)) as owner:
        trusted = await owner.call_tool("create_customer", {"name": trusted_name})
        assert not trusted.is_error, trusted.content
        assert await customer_count(owner, trusted_name) == 1


async def test_stdio_a_bad_token_is_refused_at_start(demo: Demo) -> None:
    import subprocess

    from conftest import BIN

    done = subprocess.run(
        [BIN, "mcp", "--db", demo.db, "--token", "crm_" + "0" * 64], capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0
    assert "unauthenticated" in done.stderr


# --- Streamable HTTP -----------------------------------------------------------------------


def initialize_body() -> dict:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    }


MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def test_serve_runs_mcp_stateless_when_asked(demo: Demo) -> None:
    process = subprocess.Popen(
        [BIN, "serve", "--db", demo.db, "--addr", "127.0.0.1:0", "--no-demo", "--mcp-stateless"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = next(line for line in process.stdout if line.startswith("CRM_AGENT_URL=")).strip()
        mcp_url = url.removeprefix("CRM_AGENT_URL=") + "/mcp"
        async with bearer_client(demo.tokens["acme-owner"]) as raw:
            opened = await raw.post(mcp_url, json=initialize_body(), headers=MCP_HEADERS)
            assert opened.status_code == 200 and "mcp-session-id" not in opened.headers
            assert opened.headers["content-type"].startswith("application/json"), opened.headers
            listed = await raw.post(
                mcp_url,
                json={"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
                headers={**MCP_HEADERS, "MCP-Protocol-Version": "2025-06-18"},
            )
            names = [tool["name"] for tool in listed.json()["result"]["tools"]]
            assert names == demo.tool_names("acme-owner")
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_http_rejects_missing_bad_and_cross_origin_requests(demo: Demo, http_url: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as raw:
        missing = await raw.post(http_url, json=initialize_body(), headers=MCP_HEADERS)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        # The same error code as every other route of the HTTP API.
        assert missing.json()["error"]["code"] == "unauthenticated"
        bad = await raw.post(
            http_url, json=initialize_body(), headers={**MCP_HEADERS, "Authorization": "Bearer crm_nope"}
        )
        assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["www-authenticate"]
        assert bad.json()["error"]["code"] == "unauthenticated"
        token = demo.tokens["acme-owner"]
        evil = await raw.post(
            http_url,
            json=initialize_body(),
            headers={**MCP_HEADERS, "Authorization": f"Bearer {token}", "Origin": "https://evil.example"},
        )
        assert evil.status_code == 403
        local = await raw.post(
            http_url,
            json=initialize_body(),
            headers={**MCP_HEADERS, "Authorization": f"Bearer {token}", "Origin": "http://localhost:5173"},
        )
        assert local.status_code == 200
        huge = await raw.post(
            http_url,
            content=b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + b"x" * (2 << 20) + b'"}}',
            headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"},
        )
        assert huge.status_code == 413


async def test_http_lists_per_user_and_calls_tools(demo: Demo, http_url: str) -> None:
    async with http_session(http_url, demo.tokens["acme-owner"]) as owner:
        assert [t.name for t in (await owner.list_tools()).tools] == demo.tool_names("acme-owner")
        stats = await owner.call_tool("get_deal_stats", {})
        assert not stats.is_error and stats.structured_content["total"] == 10
        bad = await owner.call_tool("get_customer", {"customer_id": 42})
        assert bad.is_error and "customer_id" in bad.content[0].text
    async with http_session(http_url, demo.tokens["acme-rep"]) as rep:
        rep_tools = [t.name for t in (await rep.list_tools()).tools]
        assert rep_tools == demo.tool_names("acme-rep") and "create_role" not in rep_tools
        refused = await rep.call_tool("create_role", {"name": "spy", "permissions": ["*:*"]})
        assert refused.is_error and "permission_denied" in refused.content[0].text


async def test_elicitations_carry_no_progress_token_the_client_did_not_ask_for(demo: Demo, http_url: str) -> None:
    seen: list = []

    async def approve_and_note(context: object, params) -> types.ElicitResult:
        seen.append(params.meta)
        return await approve(context, params)

    async with http_session(http_url, demo.tokens["acme-owner"], elicitation=approve_and_note) as owner:
        assert not (await owner.call_tool("create_customer", {"name": f"No Progress {uuid.uuid4().hex[:8]}"})).is_error
    async with stdio_session(demo, "acme-owner", elicitation=approve_and_note) as owner:
        assert not (await owner.call_tool("create_customer", {"name": f"No Progress {uuid.uuid4().hex[:8]}"})).is_error
    assert len(seen) == 2
    assert all(meta is None or meta.progress_token is None for meta in seen), seen


async def test_http_write_confirmed_through_elicitation(demo: Demo, http_url: str) -> None:
    name = f"Http Approved {uuid.uuid4().hex[:8]}"
    async with http_session(http_url, demo.tokens["acme-owner"], elicitation=approve) as owner:
        created = await owner.call_tool("create_customer", {"name": name})
        assert not created.is_error, created.content
        assert await customer_count(owner, name) == 1


def call_as(demo: Demo, user: str, tool: str, args: dict) -> dict:
    """Calls a tool through the CLI: another process, as a second server would be."""
    return json.loads(crm_agent("call", tool, "--db", demo.db, "--user", user, "--args", json.dumps(args)))


async def test_an_approved_elicitation_runs_with_the_callers_permissions_at_that_time(demo: Demo) -> None:
    # A server of its own: the identity it caches while the permission is gone dies with it.
    server = start_http(demo)
    http_url = next(server)
    rep_role = next(r for r in call_as(demo, "acme-owner", "list_roles", {}) if r["name"] == "sales_rep")
    customer = call_as(demo, "acme-rep", "list_customers", {"limit": 1})["items"][0]
    without_update = [p for p in rep_role["grants"] if p != "customer:update"]
    assert without_update != rep_role["grants"]

    async def lose_permission_then_approve(context: object, params) -> types.ElicitResult:
        call_as(
            demo, "acme-owner", "update_role_permissions", {"role_id": rep_role["id"], "permissions": without_update}
        )
        # Past the authenticator's cache time, as a user answering later would be.
        await anyio.sleep(5.5)
        return await approve(context, params)

    try:
        async with http_session(http_url, demo.tokens["acme-rep"], elicitation=lose_permission_then_approve) as rep:
            changed = await rep.call_tool(
                "update_customer", {"customer_id": customer["id"], "notes": "approved after losing the right"}
            )
    finally:
        call_as(
            demo,
            "acme-owner",
            "update_role_permissions",
            {"role_id": rep_role["id"], "permissions": rep_role["grants"]},
        )
        server.close()
    assert changed.is_error and "permission_denied" in changed.content[0].text, changed.content
    after = call_as(demo, "acme-owner", "get_customer", {"customer_id": customer["id"]})
    assert after.get("notes") == customer.get("notes")


async def test_http_2026_07_28_write_confirmed_through_an_input_required_result(demo: Demo, http_url: str) -> None:
    approved, declined = f"Modern {uuid.uuid4().hex[:8]}", f"Modern No {uuid.uuid4().hex[:8]}"
    async with bearer_client(demo.tokens["acme-owner"]) as http:
        async with Client(
            streamable_http_client(http_url, http_client=http), mode="2026-07-28", elicitation_callback=approve
        ) as client:
            created = await client.call_tool("create_customer", {"name": approved})
            assert not created.is_error, created.content
            assert created.structured_content["name"] == approved
            assert await customer_count(client, approved) == 1
    async with bearer_client(demo.tokens["acme-owner"]) as http:
        async with Client(
            streamable_http_client(http_url, http_client=http), mode="2026-07-28", elicitation_callback=decline
        ) as client:
            refused = await client.call_tool("create_customer", {"name": declined})
            assert refused.is_error
            assert await customer_count(client, declined) == 0


async def test_http_stateless_tool_lists_match_the_session_server(
    demo: Demo, stateless_url: str, http_url: str
) -> None:
    # Stateless answers splice in a tool list encoded once per set of tools: each user still
    # gets exactly their own list, with the same declarations a session-based server gives.
    for user in ["acme-owner", "acme-rep", "acme-customer", "acme-owner", "globex-owner"]:
        async with http_session(stateless_url, demo.tokens[user]) as stateless:
            spliced = (await stateless.list_tools()).tools
        async with http_session(http_url, demo.tokens[user]) as stateful:
            built = (await stateful.list_tools()).tools
        assert [t.name for t in spliced] == demo.tool_names(user)
        assert [t.model_dump() for t in spliced] == [t.model_dump() for t in built]


async def test_http_stateless_mode_serves_reads_and_says_why_it_cannot_ask_on_older_protocols(
    demo: Demo, stateless_url: str
) -> None:
    # The client can answer elicitations, but a stateless 2025-11-25 server cannot send it one.
    async with http_session(stateless_url, demo.tokens["acme-owner"], elicitation=approve) as owner:
        stats = await owner.call_tool("get_lead_stats", {})
        assert not stats.is_error and stats.structured_content["total"] == 10
        write = await owner.call_tool("create_customer", {"name": "Stateless"})
        message = write.content[0].text
        assert write.is_error and "stateless" in message and "cannot send its client a request" in message
        assert "2026-07-28" in message and "without --stateless" in message and "chat" in message
        assert await customer_count(owner, "Stateless") == 0


async def test_http_stateless_2026_07_28_writes_are_confirmed_through_input_required(
    demo: Demo, stateless_url: str
) -> None:
    approved, declined = f"Stateless Ok {uuid.uuid4().hex[:8]}", f"Stateless No {uuid.uuid4().hex[:8]}"
    for name, answer in [(approved, approve), (declined, decline)]:
        async with bearer_client(demo.tokens["acme-owner"]) as http:
            async with Client(
                streamable_http_client(stateless_url, http_client=http), mode="2026-07-28", elicitation_callback=answer
            ) as client:
                result = await client.call_tool("create_customer", {"name": name})
                assert result.is_error == (answer is decline), result.content
                assert await customer_count(client, name) == (1 if answer is approve else 0)


MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
    "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
}


async def test_an_input_required_retry_without_answers_asks_again(demo: Demo, stateless_url: str) -> None:
    name = f"Asked Twice {uuid.uuid4().hex[:8]}"
    headers = {
        **MCP_HEADERS,
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "create_customer",
    }
    params = {"name": "create_customer", "arguments": {"name": name}, "_meta": MODERN_META}

    async def call(extra: dict) -> dict:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {**params, **extra}}
        async with bearer_client(demo.tokens["acme-owner"]) as raw:
            answer = await raw.post(stateless_url, json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()["result"]

    first = await call({})
    state = first["requestState"]
    again = await call({"requestState": state})
    assert again["requestState"] == state and "confirm_write" in again["inputRequests"], again
    done = await call(
        {"requestState": state, "inputResponses": {"confirm_write": {"action": "accept", "content": {"approve": True}}}}
    )
    assert not done.get("isError") and done["structuredContent"]["name"] == name, done


async def test_unanswered_input_required_calls_are_capped_per_user(demo: Demo, stateless_url: str) -> None:
    headers = {**MCP_HEADERS, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call"}
    async with bearer_client(demo.tokens["globex-owner"]) as raw:

        async def call(name: str, extra: dict | None = None) -> dict:
            params = {"name": "create_customer", "arguments": {"name": name}, "_meta": MODERN_META, **(extra or {})}
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
            answer = await raw.post(stateless_url, json=body, headers={**headers, "Mcp-Name": "create_customer"})
            assert answer.status_code == 200, answer.text
            return answer.json()["result"]

        decline = {"inputResponses": {"confirm_write": {"action": "decline"}}}
        waiting: list[tuple[str, str]] = []
        refused = None
        for i in range(60):
            name = f"Unanswered {i} {uuid.uuid4().hex[:6]}"
            result = await call(name)
            if result.get("isError"):
                refused = result
                break
            waiting.append((name, result["requestState"]))
        assert refused is not None and len(waiting) <= 50, len(waiting)
        assert "waiting for your decision" in refused["content"][0]["text"], refused
        # Deciding them makes room again.
        for name, state in waiting:
            assert (await call(name, {"requestState": state, **decline})).get("isError")
        name = f"Room Again {uuid.uuid4().hex[:6]}"
        room = await call(name)
        assert "requestState" in room, room
        await call(name, {"requestState": room["requestState"], **decline})


@pytest.mark.parametrize(
    ("params", "says"),
    [
        (None, "needs params"),
        ({"arguments": {}}, "need `name`"),
        ({"name": 42}, "`name` must be a string"),
        ({"name": "get_customer_stats", "arguments": "status=active"}, "`arguments` must be an object"),
        ({"name": "get_customer_stats", "arguments": ["active"]}, "not an array"),
    ],
)
async def test_malformed_tools_call_params_are_invalid_params(
    demo: Demo, http_url: str, params: dict | None, says: str
) -> None:
    body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call"}
    if params is not None:
        body["params"] = params
    async with bearer_client(demo.tokens["acme-owner"]) as raw:
        answer = await raw.post(http_url, json=body, headers={**MCP_HEADERS, "MCP-Protocol-Version": "2025-06-18"})
    error = answer.json()["error"]
    assert (answer.json()["id"], error["code"]) == (9, -32602) and says in error["message"], error


async def test_unparseable_json_is_a_parse_error(demo: Demo, http_url: str) -> None:
    async with bearer_client(demo.tokens["acme-owner"]) as raw:
        answer = await raw.post(http_url, content=b'{"jsonrpc": "2.0", "id": 1, "method"', headers=MCP_HEADERS)
    assert answer.status_code == 400
    assert answer.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error: the message is not valid JSON"},
    }


async def test_ending_a_session_answers_204_and_an_unknown_one_404(demo: Demo, http_url: str) -> None:
    async with bearer_client(demo.tokens["acme-owner"]) as raw:
        opened = await raw.post(http_url, json=initialize_body(), headers=MCP_HEADERS)
        session = opened.headers["mcp-session-id"]
        headers = {"mcp-session-id": session, "MCP-Protocol-Version": "2025-06-18"}
        assert (await raw.delete(http_url, headers=headers)).status_code == 204
        assert (await raw.delete(http_url, headers=headers)).status_code == 404
        unknown = {"mcp-session-id": "no-such-session", "MCP-Protocol-Version": "2025-06-18"}
        assert (await raw.delete(http_url, headers=unknown)).status_code == 404


def test_stdio_answers_bad_lines_with_json_rpc_errors(demo: Demo) -> None:
    lines = [
        "{this is not json",
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": 7}}),
    ]
    done = subprocess.run(
        [BIN, "mcp", "--db", demo.db],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CRM_AGENT_TOKEN": demo.tokens["acme-owner"]},
    )
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert answers[0] == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error: the message is not valid JSON"},
    }
    assert answers[1]["id"] == 3 and answers[1]["error"]["code"] == -32602, answers


async def test_http_stateless_direct_answers_equal_rmcps(demo: Demo, stateless_url: str) -> None:
    # Stateless `tools/list` and read-only `tools/call` are answered without rmcp's per-request
    # service, but only for requests without an Origin header: the same request from an allowed
    # origin goes through rmcp, so the two answers can be compared byte for byte (as JSON).
    calls = [
        ("tools/list", {}),
        ("tools/list", None),
        ("tools/call", {"name": "get_current_organization", "arguments": {}}),
        ("tools/call", {"name": "list_customers", "arguments": {"limit": 2}}),
        ("tools/call", {"name": "list_customers"}),
        ("tools/call", {"name": "get_customer", "arguments": {"customer_id": "cus_missing"}}),
        ("tools/call", {"name": "list_customers", "arguments": {"limit": "many"}}),
        ("tools/call", {"name": "list_leads", "arguments": {}}),
        ("tools/call", {"name": "get_dashboard_stats", "arguments": {}}),
        ("tools/call", {"name": "create_customer", "arguments": {"name": "Direct"}}),
        ("tools/call", {"name": "no_such_tool", "arguments": {}}),
    ]
    async with httpx2.AsyncClient(timeout=10) as raw:
        for user in ["acme-owner", "acme-customer", "acme-rep"]:
            for version in ["2025-06-18", "2025-11-25"]:
                for n, (method, params) in enumerate(calls):
                    body = {"jsonrpc": "2.0", "id": n if n % 2 else f"req-{n}", "method": method}
                    if params is not None:
                        body["params"] = params
                    headers = {
                        **MCP_HEADERS,
                        "Authorization": f"Bearer {demo.tokens[user]}",
                        "MCP-Protocol-Version": version,
                    }
                    direct = await raw.post(stateless_url, json=body, headers=headers)
                    via_rmcp = await raw.post(
                        stateless_url, json=body, headers={**headers, "Origin": "http://localhost:5173"}
                    )
                    what = f"{user} {version} {body}"
                    assert direct.status_code == via_rmcp.status_code == 200, what
                    assert direct.headers["content-type"] == via_rmcp.headers["content-type"], what
                    assert direct.json() == via_rmcp.json(), what


async def test_two_organizations_concurrently_never_see_each_other(demo: Demo, http_url: str) -> None:
    seen: dict[str, set[str]] = {"acme-owner": set(), "globex-owner": set()}
    orgs: dict[str, str] = {}

    async def worker(user: str) -> None:
        async with http_session(http_url, demo.tokens[user]) as session:
            org = await session.call_tool("get_current_organization", {})
            orgs[user] = org.structured_content["id"]
            for _ in range(15):
                page = await session.call_tool("list_customers", {"limit": 100})
                seen[user].update(item["organization_id"] for item in page.structured_content["items"])
                deals = await session.call_tool("list_deals", {"limit": 100})
                seen[user].update(item["organization_id"] for item in deals.structured_content["items"])

    async with anyio.create_task_group() as group:
        for user in ["acme-owner", "globex-owner"] * 3:
            group.start_soon(worker, user)
    assert orgs["acme-owner"] != orgs["globex-owner"]
    assert seen["acme-owner"] == {orgs["acme-owner"]}
    assert seen["globex-owner"] == {orgs["globex-owner"]}


async def test_http_a_session_belongs_to_the_user_who_opened_it(demo: Demo, http_url: str) -> None:
    owner = {**MCP_HEADERS, "Authorization": f"Bearer {demo.tokens['acme-owner']}"}
    other = {**MCP_HEADERS, "Authorization": f"Bearer {demo.tokens['globex-owner']}"}
    list_tools = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    async with httpx2.AsyncClient(timeout=10) as raw:
        opened = await raw.post(http_url, json=initialize_body(), headers=owner)
        assert opened.status_code == 200
        session = opened.headers["mcp-session-id"]
        version = {"MCP-Protocol-Version": "2025-06-18", "Mcp-Session-Id": session}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await raw.post(http_url, json=initialized, headers={**owner, **version})).status_code == 202
        # Another organization's valid token cannot use (or answer questions in) this session.
        hijack = await raw.post(http_url, json=list_tools, headers={**other, **version})
        assert hijack.status_code == 404
        mine = await raw.post(http_url, json=list_tools, headers={**owner, **version})
        assert mine.status_code == 200 and "get_customer" in mine.text


async def test_tool_calls_are_limited_per_user_across_processes(demo: Demo) -> None:
    """Two servers on one database share each user's budget of tool calls: 12 a minute, at most
    10 at once, spent through either."""
    limited = ("--stateless", "--mcp-calls-per-minute", "12")
    with (
        contextlib.contextmanager(start_http)(demo, *limited) as first,
        contextlib.contextmanager(start_http)(demo, *limited) as second,
    ):
        async with (
            http_session(first, demo.tokens["acme-rep"]) as on_first,
            http_session(second, demo.tokens["acme-rep"]) as on_second,
        ):
            for _ in range(10):
                answer = await on_first.call_tool("get_customer_stats", {})
                assert not answer.is_error, answer
            for session in (on_second, on_first):
                refused = await session.call_tool("get_customer_stats", {})
                assert refused.is_error, refused
                text = refused.content[0].text
                assert "rate limit" in text and "12 tool calls a minute" in text and "unavailable" in text, text
            # Another user's budget is their own.
            async with http_session(second, demo.tokens["acme-owner"]) as owner:
                assert not (await owner.call_tool("get_customer_stats", {})).is_error
