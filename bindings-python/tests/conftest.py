"""Shared setup of the binding's tests: the fake Gemini server (the one stand-in; it speaks the
real wire protocol), a seeded SQLite database per test, and the demo users' contexts.

The fake-gemini binary is taken from FAKE_GEMINI_BIN, else CRM_AGENT_BIN_DIR (which the
project's scripts set), else the workspace's plain debug build (target/debug).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

import crm_agent
import pytest
from crm_agent.testing import FakeGemini

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
BIN_DIR = pathlib.Path(os.environ.get("CRM_AGENT_BIN_DIR", TARGET / "debug"))
FAKE_GEMINI_BIN = os.environ.get("FAKE_GEMINI_BIN", str(BIN_DIR / "fake-gemini"))


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(FAKE_GEMINI_BIN, turns=[]) as server:
        yield server


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
