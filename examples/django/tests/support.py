"""What the tests share: the fake Gemini server, a test case class that points the assistant at
it, users of each kind, and reading an SSE response (in either encoding).

The fake server (the workspace's ``fake-gemini`` binary; the only stand-in for the Gemini API)
speaks Gemini's wire protocol and answers from a script each test sets. It is found at
``FAKE_GEMINI_BIN``, else in the workspace's debug build (``run-tests`` sets the variable).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from pathlib import Path
from typing import Any

from crm.agent import organization_id
from crm.models import Customer, Employee
from crm_agent.testing import FakeGemini
from django.contrib.auth.models import Group, User
from django.http import StreamingHttpResponse
from django.test import TransactionTestCase, override_settings

REPO = Path(__file__).resolve().parents[3]


def workspace_bin(name: str, override: str) -> str:
    """A binary of the workspace: ``$override`` if set, else the debug build's (``run-tests``
    sets both variables)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    bin_dir = Path(os.environ.get("CRM_AGENT_BIN_DIR", target / "debug"))
    return os.environ.get(override, str(bin_dir / name))


def fake_gemini_bin() -> str:
    return workspace_bin("fake-gemini", "FAKE_GEMINI_BIN")


_fake: FakeGemini | None = None
_fake_lock = threading.Lock()


def fake_gemini() -> FakeGemini:
    """The one fake server of the test run, started on first use."""
    global _fake
    with _fake_lock:
        if _fake is None:
            _fake = FakeGemini(fake_gemini_bin())
            atexit.register(_fake.stop)
        return _fake


class AssistantTestCase(TransactionTestCase):
    """Each test gets empty tables, a fresh agent (its own in-memory bookkeeping database)
    talking to the fake server, and the site's organization.

    A TransactionTestCase, not a TestCase: the store runs on the agent's threads with their
    own database connections, which would not see rows inside a test's open transaction.
    """

    fake: FakeGemini
    org: str

    def setUp(self) -> None:
        self.fake = fake_gemini()
        self.fake.script([])
        settings = override_settings(
            CRM_AGENT_DATABASE="sqlite::memory:",
            CRM_AGENT_GEMINI_API_KEY="test-key",
            CRM_AGENT_GEMINI_BASE_URL=self.fake.url,
            CRM_AGENT_MODEL="gemini-test",
            CRM_AGENT_ORGANIZATION="acme",
            CRM_AGENT_ORGANIZATION_NAME="Acme Inc",
        )
        settings.enable()  # a new agent is built from these on first use
        self.addCleanup(settings.disable)
        self.org = organization_id()
        self.addCleanup(self._no_protocol_violations)

    def _no_protocol_violations(self) -> None:
        self.assertEqual(self.fake.violations(), [], "the assistant broke the Gemini protocol")

    # --- people ---------------------------------------------------------------------------

    def customer(self, name: str, **fields: Any) -> Customer:
        return Customer.objects.create(organization_id=self.org, name=name, **fields)

    def owner(self, username: str = "olive") -> User:
        return User.objects.create_user(username, is_staff=True, first_name="Olive")

    def employee(self, username: str, *roles: str, record: bool = True) -> User:
        user = User.objects.create_user(username)
        for role in roles:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        if record:
            Employee.objects.create(
                organization_id=self.org, login=user, first_name=username, last_name="Staff", email=f"{username}@x.test"
            )
        return user

    def customer_login(self, username: str, customer: Customer) -> User:
        user = User.objects.create_user(username)
        customer.login = user
        customer.save(update_fields=["login"])
        return user


async def read_events(response: StreamingHttpResponse) -> list[dict[str, Any]]:
    """The events of an SSE response, checking each frame's ``event:`` matches its type."""
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    events = []
    for frame in body.split("\n\n"):
        if not frame:
            continue
        fields = dict(line.split(": ", 1) for line in frame.split("\n"))
        event = json.loads(fields["data"])
        assert event["type"] == fields["event"], frame
        events.append(event)
    return events


async def read_compat_events(response: StreamingHttpResponse) -> list[dict[str, Any]]:
    """The events of a stream in the older Django frontend's encoding: every frame is one
    ``data: <json>`` line, with no ``event:`` line."""
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    assert body.endswith("\n\n"), body
    events = []
    for frame in body.removesuffix("\n\n").split("\n\n"):
        assert frame.startswith("data: ") and "\n" not in frame, frame
        events.append(json.loads(frame.removeprefix("data: ")))
    return events


def tool_then_answer(question: str, calls: list[dict[str, Any]], answer: str) -> list[dict[str, Any]]:
    """A two-step turn: the model calls tools, then answers once it has their results."""
    return [
        {"when": {"user_text_contains": question}, "reply": {"function_calls": calls, "signatures": True}},
        {"when": {"function_response": calls[-1]["name"]}, "reply": {"text": answer, "chunk_size": 7}},
    ]


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(event["delta"] for event in events if event["type"] == "text")
