"""The assistant's endpoints through Django's test client, against the fake Gemini server."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from asgiref.sync import sync_to_async
from crm.models import Customer, Issue

from tests.support import AssistantTestCase, read_events, text_of, tool_then_answer, types_of

ANSWER = "You have two customers: Initech and Globex."


class AccessTests(AssistantTestCase):
    def test_anonymous_requests_get_401_json(self) -> None:
        for method, url in [
            ("get", "/assistant/status"),
            ("get", "/assistant/tools"),
            ("post", "/assistant/chat"),
            ("post", "/assistant/actions/act_1/confirm"),
            ("post", "/assistant/actions/act_1/reject"),
        ]:
            with self.subTest(url=url):
                response = getattr(self.client, method)(url, content_type="application/json")
                self.assertEqual(response.status_code, 401)
                self.assertEqual(response.json()["error"]["code"], "unauthenticated")

    def test_a_user_without_a_crm_role_gets_403(self) -> None:
        self.client.force_login(self.employee("drifter", record=False))
        response = self.client.get("/assistant/status")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["error"]["code"], "permission_denied")

    def test_the_page_needs_a_login(self) -> None:
        self.assertRedirects(self.client.get("/assistant/"), "/accounts/login/?next=/assistant/")
        self.client.force_login(self.owner())
        self.assertContains(self.client.get("/assistant/"), "CRM assistant")

    def test_status_for_a_staff_user(self) -> None:
        self.client.force_login(self.owner())
        response = self.client.get("/assistant/status")
        self.assertEqual(response.status_code, 200)
        status = response.json()
        self.assertEqual(status["model"], "gemini-test")
        self.assertIs(status["available"], True)
        user = status["user"]
        self.assertEqual((user["role"], user["display_name"]), ("owner", "Olive"))
        self.assertEqual((user["organization_id"], user["organization_name"]), (self.org, "Acme Inc"))
        tools = self.client.get("/assistant/tools").json()["tools"]
        self.assertEqual(status["tool_count"], len(tools))

    def test_tools_follow_the_django_user(self) -> None:
        names = {}
        for label, user in [
            ("owner", self.owner()),
            ("support", self.employee("sam", "support_agent")),
            ("customer", self.customer_login("cora", self.customer("Cora Ltd"))),
        ]:
            self.client.force_login(user)
            names[label] = {tool["name"] for tool in self.client.get("/assistant/tools").json()["tools"]}
        # The store keeps these entities only: tools of others (deals, orders, …) are hidden.
        self.assertIn("create_issue", names["owner"])
        self.assertNotIn("list_deals", names["owner"])
        self.assertIn("resolve_issue", names["support"])
        self.assertNotIn("create_customer", names["support"])
        self.assertLess(names["customer"], names["support"])
        self.assertNotIn("list_employees", names["customer"])

    def test_a_bad_chat_body_is_400(self) -> None:
        self.client.force_login(self.owner())
        for body in ["not json", json.dumps({"message": ""}), json.dumps({"message": "hi", "conversation_id": 7})]:
            with self.subTest(body=body):
                response = self.client.post("/assistant/chat", body, content_type="application/json")
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], "invalid_argument")


class ChatTests(AssistantTestCase):
    async def chat(self, message: str, conversation_id: str | None = None) -> list[dict[str, Any]]:
        response = await self.async_client.post(
            "/assistant/chat", {"message": message, "conversation_id": conversation_id}, content_type="application/json"
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/event-stream")
        return await read_events(response)

    async def test_a_streamed_turn_served_from_the_orm(self) -> None:
        await sync_to_async(self.customer)("Initech", email="hello@initech.example")
        await sync_to_async(self.customer)("Globex", customer_type="business")
        await self.async_client.aforce_login(await sync_to_async(self.owner)())
        self.fake.script(
            [
                *tool_then_answer("customers", [{"name": "list_customers", "args": {}}], ANSWER),
                {"when": {"user_text_contains": "And now"}, "reply": {"text": "Still here."}},
            ]
        )

        events = await self.chat("Who are my customers?")

        kinds = types_of(events)
        self.assertEqual(kinds[:4], ["started", "tool_call", "tool_result", "text"])
        self.assertEqual(kinds[-1], "done")
        self.assertEqual(set(kinds), {"started", "tool_call", "tool_result", "text", "done"})
        call, result = events[1], events[2]
        self.assertEqual((call["name"], result["name"], result["ok"]), ("list_customers", "list_customers", True))
        self.assertEqual(text_of(events), ANSWER)
        # What the model was given came from the Django tables.
        (sent,) = self.fake.function_responses()
        page = json.dumps(sent["response"])
        self.assertIn("Initech", page)
        self.assertIn("hello@initech.example", page)
        self.assertIn("Globex", page)

        # The conversation goes on when its id is sent back.
        again = await self.chat("And now?", events[0]["conversation_id"])
        self.assertEqual(again[0]["conversation_id"], events[0]["conversation_id"])
        self.assertEqual(text_of(again), "Still here.")

    async def test_a_customer_sees_only_their_own_customer(self) -> None:
        mine = await sync_to_async(self.customer)("Cora Ltd")
        other = await sync_to_async(self.customer)("Someone Else Inc")
        await self.async_client.aforce_login(await sync_to_async(self.customer_login)("cora", mine))
        calls = [
            {"name": "list_customers", "args": {}},
            {"name": "get_customer", "args": {"customer_id": other.id}},
        ]
        self.fake.script(tool_then_answer("customers", calls, "Here is what I can see."))

        events = await self.chat("Which customers are there?")

        results = {e["name"]: e for e in events if e["type"] == "tool_result"}
        self.assertIs(results["list_customers"]["ok"], True)
        self.assertIs(results["get_customer"]["ok"], False)  # another customer does not exist
        sent = {r["name"]: r["response"] for r in self.fake.function_responses()}
        listed = json.dumps(sent["list_customers"])
        self.assertIn(mine.id, listed)
        self.assertNotIn(other.id, listed)
        self.assertNotIn("Someone Else", json.dumps(sent))
        self.assertEqual(types_of(events)[-1], "done")

    async def propose_issue(self, customer: Customer) -> str:
        """Chats until the model proposes ``create_issue``; answers the pending action's id."""
        args = {"title": "Printer on fire", "customer_id": customer.id, "priority": "urgent"}
        self.fake.script(
            tool_then_answer("issue", [{"name": "create_issue", "args": args}], "Please confirm the new issue.")
        )
        events = await self.chat("Open an issue: the printer is on fire")
        (card,) = [e for e in events if e["type"] == "confirmation_required"]
        self.assertEqual((card["tool"], card["args"]["title"]), ("create_issue", "Printer on fire"))
        self.assertEqual(types_of(events)[-1], "done")
        return card["action_id"]

    async def test_a_proposed_write_waits_for_confirmation(self) -> None:
        customer = await sync_to_async(self.customer)("Initech")
        await self.async_client.aforce_login(await sync_to_async(self.employee)("sam", "support_agent"))
        action = await self.propose_issue(customer)
        self.assertEqual(await Issue.objects.acount(), 0, "nothing is written before the user confirms")

        response = await self.async_client.post(f"/assistant/actions/{action}/confirm")

        self.assertEqual(response.status_code, 200)
        done = response.json()
        self.assertEqual(done["action"]["status"], "succeeded")
        issue = await Issue.objects.select_related("customer").aget()
        year = datetime.now(timezone.utc).year
        self.assertEqual(done["result"]["number"], f"ISS-{year}-0001")
        self.assertEqual((issue.id, issue.number), (done["result"]["id"], f"ISS-{year}-0001"))
        self.assertEqual((issue.title, issue.priority, issue.customer), ("Printer on fire", "urgent", customer))
        self.assertEqual(issue.organization_id, self.org)
        # Once only.
        again = await self.async_client.post(f"/assistant/actions/{action}/confirm")
        self.assertEqual((again.status_code, again.json()["error"]["code"]), (409, "conflict"))

    async def test_a_rejected_write_writes_nothing(self) -> None:
        customer = await sync_to_async(self.customer)("Initech")
        await self.async_client.aforce_login(await sync_to_async(self.owner)())
        action = await self.propose_issue(customer)

        response = await self.async_client.post(f"/assistant/actions/{action}/reject")

        self.assertEqual((response.status_code, response.json()["status"]), (200, "rejected"))
        self.assertEqual(await Issue.objects.acount(), 0)
        missing = await self.async_client.post("/assistant/actions/act_missing/confirm")
        self.assertEqual(missing.status_code, 404)
