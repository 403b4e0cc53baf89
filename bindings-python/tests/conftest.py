"""Shared setup of the binding's tests: the fake Gemini server (the one stand-in; it speaks the
real wire protocol), a seeded SQLite database per test, and the demo users' contexts.

The fake-gemini binary is taken from FAKE_GEMINI_BIN, else CRM_AGENT_BIN_DIR (which the
project's scripts set), else the workspace's plain debug build (target/debug).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import crm_agent
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
BIN_DIR = pathlib.Path(os.environ.get("CRM_AGENT_BIN_DIR", TARGET / "debug"))
FAKE_GEMINI_BIN = os.environ.get("FAKE_GEMINI_BIN", str(BIN_DIR / "fake-gemini"))


class FakeGemini:
    """A running fake-gemini process and its control endpoints."""

    def __init__(self, script_path: pathlib.Path) -> None:
        script_path.write_text(json.dumps({"turns": []}))
        self.process = subprocess.Popen(
            [FAKE_GEMINI_BIN, "--script", str(script_path), "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        assert line.startswith("FAKE_GEMINI_URL="), f"unexpected first line {line!r}"
        self.url = line.removeprefix("FAKE_GEMINI_URL=")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def script(self, turns: list[dict]) -> None:
        """Replaces the script (and forgets earlier requests and violations)."""
        self._call("POST", "/_fake/reset", {"turns": turns})

    def requests(self) -> list[dict]:
        return self._call("GET", "/_fake/requests")

    def violations(self) -> list[str]:
        return self._call("GET", "/_fake/violations")

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGemini]:
    server = FakeGemini(tmp_path_factory.mktemp("fake") / "script.json")
    yield server
    server.stop()


@dataclass
class Demo:
    """A seeded agent and the demo users' contexts."""

    agent: crm_agent.Agent
    owner: crm_agent.UserContext
    rep: crm_agent.UserContext
    customer: crm_agent.UserContext
    other_owner: crm_agent.UserContext
    fake: FakeGemini


@pytest.fixture
def demo(tmp_path: pathlib.Path, fake: FakeGemini) -> Iterator[Demo]:
    fake.script([])
    agent = crm_agent.Agent(
        database=f"sqlite:///{tmp_path / 'crm.db'}",
        gemini_api_key="test-key",
        gemini_base_url=fake.url,
        model="gemini-test",
    )
    agent.seed_demo()
    yield Demo(
        agent=agent,
        owner=agent.context("acme-owner"),
        rep=agent.context("acme-rep"),
        customer=agent.context("acme-customer"),
        other_owner=agent.context("globex-owner"),
        fake=fake,
    )
    assert fake.violations() == [], "the client broke the Gemini protocol"
    agent.close()


def types_of(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def text_of(events: list[dict]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "text")
