"""The routes of the older Django frontend (``/api/gemini/…``, DRF token auth) through Django's
test client, against the fake Gemini server."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from crm.models import Customer, Employee
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.support import AssistantTestCase, read_compat_events, tool_then_answer, types_of

ANSWER = "You have one customer: Initech."
ELSEWHERE = "org_elsewhere"  # an organization this site does not serve


def token_of(user: User) -> str:
    return Token.objects.create(user=user).key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def content_of(events: list[dict[str, Any]]) -> str:
    return "".join(event["content"] for event in events if event["type"] == "message")


class CompatAccessTests(AssistantTestCase):
    ROUTES = (
        ("get", "/api/gemini/status/"),
        ("post", "/api/gemini/chat/"),
        ("post", "/api/gemini/actions/act_1/confirm/"),
        ("post", "/api/gemini/actions/act_1/reject/"),
    )

    def call(self, method: str, url: str, **headers: str) -> Any:
        body = json.dumps({"message": "hi"}) if method == "post" else None
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        return getattr(self.client, method)(url, **kwargs)

    def assert_401(self, response: Any) -> None:
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response["WWW-Authenticate"], "Token")
        self.assertEqual(response.json()["error"]["code"], "unauthenticated")

    def test_no_token_a_bad_token_or_another_scheme_is_401(self) -> None:
        key = token_of(self.owner())
        inactive = User.objects.create_user("gone", is_staff=True, is_active=False)
        for label, headers in [
            ("no header", {}),
            ("unknown key", auth("0" * 40)),
            ("no key", {"Authorization": "Token"}),
            ("two keys", {"Authorization": f"Token {key} {key}"}),
            ("bearer", {"Authorization": f"Bearer {key}"}),
            ("basic", {"Authorization": "Basic b2xpdmU6cGFzc3dvcmQ="}),
            ("inactive user", auth(token_of(inactive))),
        ]:
            for method, url in self.ROUTES:
                with self.subTest(label, url=url):
                    self.assert_401(self.call(method, url, **headers))

    def test_a_session_login_is_not_enough(self) -> None:
        self.client.force_login(self.owner())
        self.assertEqual(self.client.get("/assistant/status").status_code, 200)
        for method, url in self.ROUTES:
            with self.subTest(url=url):
                self.assert_401(self.call(method, url))

    def test_token_routes_need_no_csrf_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        headers = auth(token_of(self.owner()))
        response = client.post("/api/gemini/actions/act_missing/reject/", headers=headers)
        self.assertEqual((response.status_code, response.json()["error"]["code"]), (404, "not_found"))
        # The session routes still want one.
        client.force_login(User.objects.get(username="olive"))
        self.assertEqual(client.post("/assistant/actions/act_missing/reject").status_code, 403)

    def test_status_in_the_old_shape(self) -> None:
        owner = self.owner()
        status = self.client.get("/api/gemini/status/", headers=auth(token_of(owner))).json()
        self.assertEqual(set(status), {"available", "model", "api_key_configured", "user_context"})
        self.assertEqual(
            (status["available"], status["model"], status["api_key_configured"]), (True, "gemini-test", True)
        )
        user = status["user_context"]
        self.assertEqual((user["user_id"], user["organization_id"], user["role"]), (str(owner.pk), self.org, "owner"))
        self.assertGreater(user["permissions_count"], 0)
        # The session route tells the same caller the same.
        self.client.force_login(owner)
        native = self.client.get("/assistant/status").json()
        self.assertEqual(user["permissions_count"], native["user"]["permission_count"])
        self.assertEqual(user["tool_count"], native["tool_count"])

        support = self.employee("sam", "support_agent")
        cora = self.customer_login("cora", self.customer("Cora Ltd"))
        seen = {}
        for label, person in [("support", support), ("customer", cora)]:
            response = self.client.get("/api/gemini/status/", headers=auth(token_of(person)))
            seen[label] = response.json()["user_context"]
        self.assertEqual((seen["support"]["user_id"], seen["support"]["role"]), (str(support.pk), "employee"))
        self.assertEqual((seen["customer"]["user_id"], seen["customer"]["role"]), (str(cora.pk), "customer"))
        self.assertLess(seen["support"]["permissions_count"], user["permissions_count"])
        self.assertLess(seen["customer"]["permissions_count"], seen["support"]["permissions_count"])

    def test_users_without_a_role_here_get_403(self) -> None:
        drifter = self.employee("drifter", record=False)
        # Logins linked to CRM rows of an organization this site does not serve.
        elsewhere_customer = User.objects.create_user("far-customer")
        Customer.objects.create(organization_id=ELSEWHERE, name="Far Away Ltd", login=elsewhere_customer)
        elsewhere_employee = User.objects.create_user("far-employee")
        Employee.objects.create(
            organization_id=ELSEWHERE, login=elsewhere_employee, first_name="Far", last_name="Away", email="f@x.test"
        )
        for user in (drifter, elsewhere_customer, elsewhere_employee):
            headers = auth(token_of(user))
            for method, url in self.ROUTES:
                with self.subTest(user=user.username, url=url):
                    response = self.call(method, url, **headers)
                    self.assertEqual(response.status_code, 403)
                    self.assertEqual(response.json()["error"]["code"], "permission_denied")

    def test_a_bad_chat_body_is_400(self) -> None:
        headers = auth(token_of(self.owner()))
        for body in ["not json", json.dumps({"message": ""}), json.dumps({"message": "hi", "conversation_id": 7})]:
            with self.subTest(body=body):
                response = self.client.post("/api/gemini/chat/", body, content_type="application/json", headers=headers)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"]["code"], "invalid_argument")


class CompatChatTests(AssistantTestCase):
    async def token(self, user: User) -> str:
        return await sync_to_async(token_of)(user)

    async def chat(self, key: str, message: str, conversation_id: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"message": message}
        if conversation_id is not None:
            body["conversation_id"] = conversation_id
        response = await self.async_client.post(
            "/api/gemini/chat/", body, content_type="application/json", headers=auth(key)
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/event-stream")
        return await read_compat_events(response)

    async def post(self, key: str, url: str) -> Any:
        return await self.async_client.post(url, headers=auth(key))

    async def test_a_turn_in_the_old_stream_encoding(self) -> None:
        await sync_to_async(self.customer)("Initech", email="hello@initech.example")
        await Customer.objects.acreate(organization_id=ELSEWHERE, name="Not Ours Inc")
        key = await self.token(await sync_to_async(self.owner)())
        self.fake.script(
            [
                *tool_then_answer("customers", [{"name": "list_customers", "args": {}}], ANSWER),
                {"when": {"user_text_contains": "And now"}, "reply": {"text": "Still here."}},
            ]
        )

        events = await self.chat(key, "Who are my customers?")

        kinds = types_of(events)
        # Tool calls and results have no counterpart in this encoding: text deltas only.
        self.assertEqual(kinds[0], "connected")
        self.assertEqual(kinds[-1], "completed")
        self.assertEqual(set(kinds[1:-1]), {"message"})
        self.assertGreater(len(kinds), 3, "the answer streams in several deltas")
        self.assertEqual(content_of(events), ANSWER)
        self.assertTrue(events[0]["conversation_id"])
        self.assertIn("usage", events[-1])
        # What the model was given came from this organization's rows only.
        (sent,) = self.fake.function_responses()
        self.assertIn("hello@initech.example", json.dumps(sent["response"]))
        self.assertNotIn("Not Ours", json.dumps(sent["response"]))

        # The conversation goes on when its id is sent back.
        again = await self.chat(key, "And now?", events[0]["conversation_id"])
        self.assertEqual(again[0], {"type": "connected", "conversation_id": events[0]["conversation_id"]})
        self.assertEqual((content_of(again), types_of(again)[-1]), ("Still here.", "completed"))

    async def test_a_failed_turn_ends_in_an_error_event(self) -> None:
        key = await self.token(await sync_to_async(self.owner)())
        self.fake.script([{"when": {"user_text_contains": "hello"}, "reply": {"error": {"status": 400}}}])

        events = await self.chat(key, "hello there")

        self.assertEqual(types_of(events)[0], "connected")
        last = events[-1]
        self.assertEqual(last["type"], "error")
        self.assertEqual(last["code"], "model")
        self.assertIn("400", last["error"])
        self.assertNotIn("completed", types_of(events))

    async def propose_customer(self, key: str, name: str) -> str:
        """Chats until the model proposes ``create_customer``; answers the pending action's id."""
        args = {"name": name, "customer_type": "business", "email": "hello@initech.example"}
        self.fake.script(
            tool_then_answer("customer", [{"name": "create_customer", "args": args}], "Please confirm it.")
        )
        events = await self.chat(key, f"Add a customer: {name}")
        cards = [e for e in events if e.get("action_id")]
        self.assertEqual(len(cards), 1, events)
        (card,) = cards
        self.assertEqual(card["type"], "message")
        self.assertIn("Confirmation needed", card["content"])
        self.assertIn(card["action_id"], card["content"])
        self.assertEqual(types_of(events)[-1], "completed")
        return card["action_id"]

    async def test_a_proposed_write_is_confirmed_through_the_token_route(self) -> None:
        key = await self.token(await sync_to_async(self.owner)())
        action = await self.propose_customer(key, "Initech")
        self.assertEqual(await Customer.objects.acount(), 0, "nothing is written before the user confirms")

        response = await self.post(key, f"/api/gemini/actions/{action}/confirm/")

        self.assertEqual(response.status_code, 200)
        done = response.json()
        self.assertEqual((done["action"]["id"], done["action"]["status"]), (action, "succeeded"))
        customer = await Customer.objects.aget()
        self.assertEqual(done["result"]["id"], customer.id)
        self.assertEqual(
            (customer.name, customer.customer_type, customer.email, customer.organization_id),
            ("Initech", "business", "hello@initech.example", self.org),
        )
        # Once only.
        again = await self.post(key, f"/api/gemini/actions/{action}/confirm/")
        self.assertEqual((again.status_code, again.json()["error"]["code"]), (409, "conflict"))

    async def test_a_rejected_write_writes_nothing(self) -> None:
        key = await self.token(await sync_to_async(self.owner)())
        action = await self.propose_customer(key, "Globex")

        response = await self.post(key, f"/api/gemini/actions/{action}/reject/")

        self.assertEqual(response.status_code, 200)
        self.assertEqual((response.json()["id"], response.json()["status"]), (action, "rejected"))
        self.assertEqual(await Customer.objects.acount(), 0)
        confirmed = await self.post(key, f"/api/gemini/actions/{action}/confirm/")
        self.assertEqual(confirmed.status_code, 409)
        self.assertEqual(await Customer.objects.acount(), 0)
        missing = await self.post(key, "/api/gemini/actions/act_missing/confirm/")
        self.assertEqual((missing.status_code, missing.json()["error"]["code"]), (404, "not_found"))

    async def test_another_users_pending_action_is_not_theirs(self) -> None:
        key = await self.token(await sync_to_async(self.owner)())
        action = await self.propose_customer(key, "Initech")
        other_owner = await self.token(await sync_to_async(self.owner)("otto"))
        no_role = await self.token(await sync_to_async(self.employee)("drifter", record=False))

        for verb in ("confirm", "reject"):
            with self.subTest(verb=verb):
                response = await self.post(other_owner, f"/api/gemini/actions/{action}/{verb}/")
                self.assertEqual((response.status_code, response.json()["error"]["code"]), (404, "not_found"))
                response = await self.post(no_role, f"/api/gemini/actions/{action}/{verb}/")
                self.assertEqual(response.status_code, 403)
        self.assertEqual(await Customer.objects.acount(), 0)
        # Still pending for the user it was proposed to.
        response = await self.post(key, f"/api/gemini/actions/{action}/confirm/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(await Customer.objects.acount(), 1)
