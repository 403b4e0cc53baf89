"""Shared setup of the MCP interoperability tests: a seeded SQLite database, one API token per
demo user, and crm-agent MCP servers (stdio sessions are started per test; HTTP servers once).

The crm-agent binary is taken from CRM_AGENT_BIN, else CRM_AGENT_BIN_DIR (which the project's
scripts set), else the workspace's plain debug build (target/debug).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx2
import mcp.types as types
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

ROOT = pathlib.Path(__file__).resolve().parents[3]
BIN_DIR = pathlib.Path(os.environ.get("CRM_AGENT_BIN_DIR", ROOT / "target/debug"))
BIN = os.environ.get("CRM_AGENT_BIN", str(BIN_DIR / "crm-agent"))
USERS = ["acme-owner", "acme-rep", "acme-customer", "globex-owner"]
# These tests call tools faster than a person's client would: the servers they start have no
# per-user call limit, except where a test sets one to check it.
os.environ["CRM_AGENT_MCP_CALLS_PER_MINUTE"] = "0"


def crm_agent(*args: str) -> str:
    """Runs the crm-agent CLI and returns its standard output."""
    done = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"crm-agent {' '.join(args)} failed: {done.stderr}")
    return done.stdout


@dataclass
class Demo:
    db: str
    tokens: dict[str, str]

    def tool_names(self, user: str) -> list[str]:
        """What the registry lists for `user`, straight from the CLI."""
        import json

        return [t["name"] for t in json.loads(crm_agent("tools", "--db", self.db, "--user", user, "--json"))]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("mcp")
    db = f"sqlite://{folder / 'crm.db'}"
    crm_agent("seed", "--db", db, "--quiet", "--customers", "15", "--leads", "10", "--deals", "10")
    tokens = {
        user: crm_agent("token", "create", "--db", db, "--user", user, "--name", "pytest").strip() for user in USERS
    }
    return Demo(db=db, tokens=tokens)


def start_http(demo: Demo, *extra: str) -> Iterator[str]:
    """Starts `crm-agent mcp --http` and yields its /mcp URL."""
    process = subprocess.Popen(
        [BIN, "mcp", "--db", demo.db, "--http", "127.0.0.1:0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("MCP_URL="), (
            f"unexpected first line {line!r}: {process.stderr.read() if process.stderr else ''}"
        )
        yield line.removeprefix("MCP_URL=")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def http_url(demo: Demo) -> Iterator[str]:
    yield from start_http(demo)


@pytest.fixture(scope="session")
def stateless_url(demo: Demo) -> Iterator[str]:
    yield from start_http(demo, "--stateless")


async def approve(context: object, params: types.ElicitRequestParams) -> types.ElicitResult:
    """An MCP client whose user approves every change it is asked about."""
    return types.ElicitResult(action="accept", content={"approve": True})


async def decline(context: object, params: types.ElicitRequestParams) -> types.ElicitResult:
    """An MCP client whose user declines."""
    return types.ElicitResult(action="decline")


@contextlib.asynccontextmanager
async def stdio_session(
    demo: Demo, user: str, elicitation=None, extra: tuple[str, ...] = ()
) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=BIN, args=["mcp", "--db", demo.db, *extra], env={"CRM_AGENT_TOKEN": demo.tokens[user]}
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, elicitation_callback=elicitation) as session:
            await session.initialize()
            yield session


def bearer_client(token: str, **headers: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}", **headers}, timeout=30)


@contextlib.asynccontextmanager
async def http_session(url: str, token: str, elicitation=None) -> AsyncIterator[ClientSession]:
    async with bearer_client(token) as client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write, elicitation_callback=elicitation) as session:
                await session.initialize()
                yield session
