"""Prompts, completions, resources, paged tool lists and limited tokens, through the official MCP
Python client."""

from __future__ import annotations

import json

import httpx2
import mcp.types as types
import pytest
from conftest import Demo, bearer_client, crm_agent, http_session, start_http
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio

# The tools each prompt relies on: a user is shown a prompt when they may use all of them.
PROMPT_TOOLS = {
    "customer_briefing": {"list_customers", "get_customer"},
    "issue_triage": {"list_issues"},
    "pipeline_review": {"list_deals", "aggregate_records"},
}
INVALID_PARAMS = -32602
# The headers of a request the stateless server's direct path would take.
DIRECT_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}
RESOURCE_NOT_FOUND = -32002


async def test_prompts_are_listed_per_user_and_fill_in_their_arguments(demo: Demo, http_url: str) -> None:
    for user in ["acme-owner", "acme-rep", "acme-customer"]:
        usable = set(demo.tool_names(user))
        async with http_session(http_url, demo.tokens[user]) as session:
            listed = [p.name for p in (await session.list_prompts()).prompts]
        assert listed == sorted(name for name, tools in PROMPT_TOOLS.items() if tools <= usable), user

    async with http_session(http_url, demo.tokens["acme-owner"]) as owner:
        prompts = {p.name: p for p in (await owner.list_prompts()).prompts}
        assert [(a.name, a.required) for a in prompts["customer_briefing"].arguments] == [("customer", True)]
        briefing = await owner.get_prompt("customer_briefing", {"customer": "Northwind Traders"})
        assert len(briefing.messages) == 1 and briefing.messages[0].role == "user"
        text = briefing.messages[0].content.text
        assert '"Northwind Traders"' in text and "list_customers" in text and "get_customer" in text

        triage = await owner.get_prompt("issue_triage", {"priority": "urgent", "category": "billing"})
        assert "priority urgent, category billing" in triage.messages[0].content.text
        review = await owner.get_prompt("pipeline_review", {})
        assert "this_month" in review.messages[0].content.text

        for name, arguments, says in [
            ("customer_briefing", {}, "needs the argument `customer`"),
            ("issue_triage", {"priority": "soon"}, "low, medium, high, urgent"),
            ("issue_triage", {"owner": "me"}, "no argument `owner`"),
            ("no_such_prompt", {}, "pipeline_review, customer_briefing, issue_triage"),
        ]:
            with pytest.raises(MCPError) as refused:
                await owner.get_prompt(name, arguments)
            assert refused.value.code == INVALID_PARAMS and says in refused.value.message, refused.value.message


async def test_prompt_arguments_complete_within_what_the_user_may_see(demo: Demo, http_url: str) -> None:
    triage = types.PromptReference(type="ref/prompt", name="issue_triage")
    briefing = types.PromptReference(type="ref/prompt", name="customer_briefing")
    async with http_session(http_url, demo.tokens["acme-owner"]) as owner:
        priority = await owner.complete(triage, {"name": "priority", "value": "h"})
        assert priority.completion.values == ["high"]
        everything = await owner.complete(triage, {"name": "category", "value": ""})
        assert len(everything.completion.values) == 7 and everything.completion.has_more is False

        customers = (await owner.call_tool("list_customers", {"limit": 100})).structured_content["items"]
        target = customers[0]["name"]
        found = await owner.complete(briefing, {"name": "customer", "value": target[:6]})
        assert target in found.completion.values, (target, found.completion)
        # The whole list: a page of names and the count of all of them.
        all_names = await owner.complete(briefing, {"name": "customer", "value": ""})
        assert len(all_names.completion.values) == 10
        assert all_names.completion.total == len(customers) and all_names.completion.has_more is True

        with pytest.raises(MCPError) as refused:
            await owner.complete(triage, {"name": "colour", "value": ""})
        assert refused.value.code == INVALID_PARAMS

    async with http_session(http_url, demo.tokens["acme-customer"]) as customer:
        me = (await customer.call_tool("list_customers", {})).structured_content["items"]
        assert len(me) == 1
        own = await customer.complete(briefing, {"name": "customer", "value": me[0]["name"]})
        assert own.completion.values == [me[0]["name"]] and own.completion.total == 1
        # The search runs in the user's scope: another customer's name completes to nothing.
        other = next(c["name"] for c in customers if c["name"] != me[0]["name"])
        others = await customer.complete(briefing, {"name": "customer", "value": other})
        assert others.completion.values == [], others.completion

    # Another organization's owner completes ids among their own records only.
    async with http_session(http_url, demo.tokens["globex-owner"]) as globex:
        template = types.ResourceTemplateReference(type="ref/resource", uri="crm://customers/{id}")
        foreign = await globex.complete(template, {"name": "id", "value": target})
        assert customers[0]["id"] not in foreign.completion.values


async def test_records_read_as_resources_with_the_tools_permissions(demo: Demo, http_url: str) -> None:
    async with http_session(http_url, demo.tokens["acme-owner"]) as owner:
        templates = [t.uri_template for t in (await owner.list_resource_templates()).resource_templates]
        assert "crm://customers/{id}" in templates and "crm://employees/{id}" in templates
        assert [r.uri for r in (await owner.list_resources()).resources] == ["crm://me", "crm://organization"]

        customer = (await owner.call_tool("list_customers", {"limit": 1})).structured_content["items"][0]
        uri = f"crm://customers/{customer['id']}"
        read = await owner.read_resource(uri)
        assert len(read.contents) == 1 and read.contents[0].mime_type == "application/json"
        assert str(read.contents[0].uri) == uri
        record = json.loads(read.contents[0].text)
        assert record == (await owner.call_tool("get_customer", {"customer_id": customer["id"]})).structured_content
        me = json.loads((await owner.read_resource("crm://me")).contents[0].text)
        assert me["user_id"] == "acme-owner"

        # The resource template completes ids from the list tool's text search.
        by_name = await owner.complete(
            types.ResourceTemplateReference(type="ref/resource", uri="crm://customers/{id}"),
            {"name": "id", "value": customer["name"]},
        )
        assert customer["id"] in by_name.completion.values
        # Payments have no text search to complete from.
        payments = await owner.complete(
            types.ResourceTemplateReference(type="ref/resource", uri="crm://payments/{id}"),
            {"name": "id", "value": "PAY"},
        )
        assert payments.completion.values == []
        for segment in ["leads", "deals", "issues", "orders", "activities", "employees"]:
            template = types.ResourceTemplateReference(type="ref/resource", uri=f"crm://{segment}/{{id}}")
            answer = await owner.complete(template, {"name": "id", "value": ""})
            assert all(isinstance(v, str) for v in answer.completion.values), segment

        for missing in ["crm://customers/cus_missing", "crm://planets/1", "https://example.com/x"]:
            with pytest.raises(MCPError) as refused:
                await owner.read_resource(missing)
            # Protocol versions before 2026-07-28 keep the code of a missing resource.
            assert refused.value.code == RESOURCE_NOT_FOUND, missing
            assert refused.value.data == {"uri": missing}

    # Another organization's record, and another customer's, are not found either.
    async with http_session(http_url, demo.tokens["globex-owner"]) as globex:
        with pytest.raises(MCPError) as refused:
            await globex.read_resource(uri)
        assert refused.value.code == RESOURCE_NOT_FOUND and refused.value.data == {"uri": uri}

    async with http_session(http_url, demo.tokens["acme-customer"]) as customer_session:
        templates = [t.uri_template for t in (await customer_session.list_resource_templates()).resource_templates]
        assert "crm://customers/{id}" in templates and "crm://employees/{id}" not in templates
        own = (await customer_session.call_tool("list_customers", {})).structured_content["items"][0]
        mine = json.loads((await customer_session.read_resource(f"crm://customers/{own['id']}")).contents[0].text)
        assert mine["id"] == own["id"] and "notes" not in mine
        if own["id"] != customer["id"]:
            with pytest.raises(MCPError) as refused:
                await customer_session.read_resource(uri)
            assert refused.value.code == RESOURCE_NOT_FOUND
        with pytest.raises(MCPError) as refused:
            await customer_session.read_resource("crm://employees/emp_any")
        assert refused.value.code != RESOURCE_NOT_FOUND and "permission_denied" in refused.value.message


async def test_2026_07_28_a_missing_resource_is_invalid_params_naming_its_uri(demo: Demo, http_url: str) -> None:
    async with bearer_client(demo.tokens["acme-owner"]) as http:
        async with Client(streamable_http_client(http_url, http_client=http), mode="2026-07-28") as client:
            with pytest.raises(MCPError) as refused:
                await client.read_resource("crm://deals/deal_missing")
            assert refused.value.code == INVALID_PARAMS
            assert refused.value.data == {"uri": "crm://deals/deal_missing"}
            # Lists answer a time to live of 0, private to the user, on this version too.
            listed = await client.list_prompts()
            assert listed.ttl_ms == 0 and listed.cache_scope == "private"


async def test_lists_and_reads_carry_private_caching_hints(demo: Demo, stateless_url: str) -> None:
    headers = {
        "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {demo.tokens['acme-owner']}",
        "MCP-Protocol-Version": "2025-11-25",
    }
    async with httpx2.AsyncClient(timeout=10) as raw:
        for n, method in enumerate(["prompts/list", "resources/list", "resources/templates/list", "resources/read"]):
            params = {"uri": "crm://organization"} if method == "resources/read" else {}
            body = {"jsonrpc": "2.0", "id": n, "method": method, "params": params}
            answer = await raw.post(stateless_url, json=body, headers=headers)
            assert answer.status_code == 200, answer.text
            result = answer.json()["result"]
            # Each caller sees their own prompts, templates and records.
            assert result["ttlMs"] == 0 and result["cacheScope"] == "private", (method, result)


@pytest.mark.parametrize("stateless", [False, True])
async def test_tools_list_pages_when_the_server_is_given_a_page_size(demo: Demo, stateless: bool) -> None:
    expected = demo.tool_names("acme-owner")
    extra = ("--stateless",) if stateless else ()
    for url in start_http(demo, "--mcp-tools-page-size", "7", *extra):
        async with http_session(url, demo.tokens["acme-owner"]) as session:
            names, cursor, pages = [], None, 0
            while True:
                page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
                assert len(page.tools) <= 7
                names += [t.name for t in page.tools]
                pages += 1
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert names == expected and pages == -(-len(expected) // 7)
            with pytest.raises(MCPError) as refused:
                await session.list_tools(params=types.PaginatedRequestParams(cursor="not-a-cursor"))
            assert refused.value.code == INVALID_PARAMS
        if stateless:
            # A bare request of the kind the stateless server otherwise answers from its cached
            # whole list gets the first page too.
            headers = {**DIRECT_HEADERS, "Authorization": f"Bearer {demo.tokens['acme-owner']}"}
            async with httpx2.AsyncClient(timeout=10) as raw:
                body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                answer = (await raw.post(url, json=body, headers=headers)).json()["result"]
            assert [t["name"] for t in answer["tools"]] == expected[:7] and answer["nextCursor"]


async def test_a_limited_token_lists_and_calls_only_what_it_is_limited_to(demo: Demo, http_url: str) -> None:
    reader = crm_agent("token", "create", "--db", demo.db, "--user", "acme-owner", "--read-only").strip()
    seller = crm_agent("token", "create", "--db", demo.db, "--user", "acme-rep", "--toolset", "sales").strip()
    async with http_session(http_url, demo.tokens["acme-owner"]) as owner:
        everything = (await owner.list_tools()).tools
    async with http_session(http_url, reader) as session:
        listed = [t.name for t in (await session.list_tools()).tools]
        assert listed == [t.name for t in everything if t.annotations.read_only_hint]
        refused = await session.call_tool("create_customer", {"name": "Not Written"})
        assert refused.is_error and "permission_denied" in refused.content[0].text
        assert "may only read" in refused.content[0].text
        assert not (await session.call_tool("list_customers", {})).is_error
        # Prompts follow the tools: a read-only token still gets the reviews, which only read.
        assert [p.name for p in (await session.list_prompts()).prompts] == sorted(PROMPT_TOOLS)
    async with http_session(http_url, seller) as session:
        listed = [t.name for t in (await session.list_tools()).tools]
        assert "create_deal" in listed and "list_issues" not in listed and "list_customers" not in listed
        assert set(listed) <= set(demo.tool_names("acme-rep"))
        refused = await session.call_tool("list_issues", {})
        assert refused.is_error and "toolsets sales" in refused.content[0].text
