"""MCP clients connecting to ``crm-agent serve`` with this site as their OAuth authorization
server (django-oauth-toolkit), end to end: the official MCP Python client discovers the site from
crm-agent's protected-resource metadata, registers itself, runs the authorization code flow with
PKCE (the test plays the user: it logs in and clicks "Authorize" on the site's consent page), and
calls tools with the token; crm-agent checks each token by introspection at the site.

Bad tokens each get their own test, minted by the site itself so that only crm-agent's checks
stand between them and the tools.
"""

from __future__ import annotations

import asyncio
import datetime
import html
import os
import re
import secrets
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
from django.contrib.auth.models import User
from django.test import LiveServerTestCase
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from oauth2_provider.models import AccessToken, Application

from tests.support import workspace_bin

INTROSPECTION_CLIENT = ("crm-agent", "introspection-secret")


class MemoryStorage:
    """The MCP client's token storage (``mcp.client.auth.TokenStorage``), in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class OAuthMcpTests(LiveServerTestCase):
    """``crm-agent serve --oauth-issuer <this site>/o`` over crm-agent's demo organizations, whose
    user ids (``acme-rep``, ``acme-owner``…) are this site's usernames."""

    crm_agent: subprocess.Popen[str]
    mcp_url: str

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.folder = tempfile.TemporaryDirectory()
        db = f"sqlite://{Path(cls.folder.name) / 'crm.db'}"
        binary = workspace_bin("crm-agent", "CRM_AGENT_BIN")
        seed = [binary, "seed", "--db", db, "--quiet", "--customers", "12", "--leads", "4", "--deals", "4"]
        subprocess.run(seed, check=True, capture_output=True, timeout=120)
        cls.crm_agent = subprocess.Popen(
            [
                binary, "serve", "--db", db, "--addr", "127.0.0.1:0", "--no-demo",
                "--oauth-issuer", f"{cls.live_server_url}/o",
                "--oauth-user-claim", "username",
                "--oauth-client-id", INTROSPECTION_CLIENT[0],
            ],
            env={
                **os.environ,
                "CRM_AGENT_OAUTH_CLIENT_SECRET": INTROSPECTION_CLIENT[1],
                "CRM_AGENT_MCP_CALLS_PER_MINUTE": "0",
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert cls.crm_agent.stdout is not None
        for line in cls.crm_agent.stdout:
            if line.startswith("CRM_AGENT_URL="):
                cls.mcp_url = line.strip().removeprefix("CRM_AGENT_URL=") + "/mcp"
                break
        else:
            cls.crm_agent.wait(timeout=10)
            raise RuntimeError(
                f"crm-agent serve did not start: {cls.crm_agent.stderr.read() if cls.crm_agent.stderr else ''}"
            )

    @classmethod
    def tearDownClass(cls) -> None:
        cls.crm_agent.terminate()
        cls.crm_agent.wait(timeout=10)
        for stream in (cls.crm_agent.stdout, cls.crm_agent.stderr):
            if stream is not None:
                stream.close()
        cls.folder.cleanup()
        super().tearDownClass()

    def setUp(self) -> None:
        for username in ("acme-rep", "acme-owner", "stranger"):
            User.objects.create_user(username, password="pw")
        # crm-agent's own client, for introspection (RFC 7662 needs the caller authenticated).
        Application.objects.create(
            name="crm-agent",
            client_id=INTROSPECTION_CLIENT[0],
            client_secret=INTROSPECTION_CLIENT[1],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        )
        self.app = Application.objects.create(
            name="some MCP client",
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris="http://127.0.0.1:9/callback",
        )

    # -- helpers ---------------------------------------------------------------------------------

    def token(self, username: str, scope: str = "crm:read crm:write", **fields: Any) -> str:
        """An access token the site issued to ``username``, bound to crm-agent's /mcp."""
        value = secrets.token_urlsafe(24)
        AccessToken.objects.create(
            user=User.objects.get(username=username),
            application=self.app,
            token=value,
            scope=scope,
            expires=fields.pop("expires", datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)),
            resource=fields.pop("resource", [self.mcp_url]),
            **fields,
        )
        return value

    def post_initialize(self, token: str) -> httpx2.Response:
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
        return httpx2.post(self.mcp_url, json=body, headers=headers, timeout=30)

    async def tools_with(self, token: str) -> list[str]:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as client:
            async with streamable_http_client(self.mcp_url, http_client=client) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return [tool.name for tool in (await session.list_tools()).tools]

    # -- the whole flow --------------------------------------------------------------------------

    def test_the_mcp_client_signs_in_through_the_site_and_calls_tools(self) -> None:
        self.client.force_login(User.objects.get(username="acme-rep"))
        session_cookie = self.client.cookies["sessionid"].value
        consent_pages: list[str] = []
        redirect: dict[str, str | None] = {}

        async def click_authorize(authorization_url: str) -> None:
            """The user's browser: the site's consent page, signed in, and "Authorize"."""
            async with httpx2.AsyncClient(cookies={"sessionid": session_cookie}, timeout=30) as browser:
                page = await browser.get(authorization_url)
                self.assertEqual(page.status_code, 200, page.text[:500])
                consent_pages.append(page.text)
                fields = {
                    name: html.unescape(value)
                    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
                }
                fields["allow"] = "Authorize"
                answer = await browser.post(authorization_url, data=fields)
                self.assertEqual(answer.status_code, 302, answer.text[:500])
                query = parse_qs(urlparse(answer.headers["location"]).query)
                redirect["code"] = query["code"][0]
                redirect["state"] = query.get("state", [None])[0]

        async def callback() -> AuthorizationCodeResult:
            return AuthorizationCodeResult(code=redirect["code"] or "", state=redirect["state"])

        async def connect() -> tuple[list[str], Any, MemoryStorage]:
            storage = MemoryStorage()
            provider = OAuthClientProvider(
                server_url=self.mcp_url,
                client_metadata=OAuthClientMetadata(
                    client_name="crm-agent e2e",
                    redirect_uris=["http://127.0.0.1:9/callback"],
                    grant_types=["authorization_code", "refresh_token"],
                    response_types=["code"],
                    token_endpoint_auth_method="none",
                ),
                storage=storage,
                redirect_handler=click_authorize,
                callback_handler=callback,
            )
            async with httpx2.AsyncClient(auth=provider, timeout=30) as client:
                async with streamable_http_client(self.mcp_url, http_client=client) as (read, write):
                    async with ClientSession(read, write) as session:
                        await session.initialize()
                        tools = [tool.name for tool in (await session.list_tools()).tools]
                        customers = await session.call_tool("list_customers", {"limit": 3})
            return tools, customers, storage

        tools, customers, storage = asyncio.run(connect())

        self.assertEqual(len(consent_pages), 1)
        # The consent page named what the client asked for (the scopes of crm-agent's challenge).
        self.assertIn("Change your CRM records", consent_pages[0])
        # The client registered itself at the site and got a token bound to crm-agent's /mcp.
        self.assertIsNotNone(storage.client)
        self.assertIsNotNone(storage.tokens)
        issued = AccessToken.objects.get(token_checksum=_checksum(storage.tokens.access_token))
        self.assertEqual(issued.user.username, "acme-rep")
        self.assertEqual(issued.resource, [self.mcp_url])
        self.assertEqual(set(issued.scope.split()), {"crm:read", "crm:write"})
        # The tools are acme-rep's: a sales rep's writes, and no owner-only tool.
        self.assertIn("create_lead", tools)
        self.assertNotIn("create_role", tools)
        self.assertFalse(customers.is_error, customers.content)
        self.assertTrue(customers.structured_content["items"])

    # -- tokens crm-agent must refuse ------------------------------------------------------------

    def test_a_read_scope_token_lists_only_read_tools(self) -> None:
        tools = asyncio.run(self.tools_with(self.token("acme-owner", scope="crm:read")))
        self.assertIn("list_customers", tools)
        self.assertNotIn("create_customer", tools)
        full = asyncio.run(self.tools_with(self.token("acme-owner")))
        self.assertIn("create_customer", full)

    def test_a_token_for_another_resource_is_refused(self) -> None:
        answer = self.post_initialize(self.token("acme-rep", resource=["http://localhost:1/other-mcp"]))
        self.assert_invalid_token(answer)

    def test_an_expired_token_is_refused(self) -> None:
        past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
        self.assert_invalid_token(self.post_initialize(self.token("acme-rep", expires=past)))

    def test_a_token_the_site_never_issued_is_refused(self) -> None:
        self.assert_invalid_token(self.post_initialize(secrets.token_urlsafe(24)))
        # A JWT signed by anyone: this site publishes no keys, so it is introspected, and unknown.
        forged = "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJhY21lLW93bmVyIn0.c2lnbmF0dXJl"
        self.assert_invalid_token(self.post_initialize(forged))

    def test_a_token_of_someone_who_is_no_member_is_refused(self) -> None:
        self.assert_invalid_token(self.post_initialize(self.token("stranger")))

    def test_a_token_without_a_crm_scope_is_forbidden_with_insufficient_scope(self) -> None:
        answer = self.post_initialize(self.token("acme-rep", scope="openid"))
        self.assertEqual(answer.status_code, 403, answer.text)
        challenge = answer.headers["www-authenticate"]
        self.assertIn('error="insufficient_scope"', challenge)
        self.assertIn('scope="crm:read crm:write"', challenge)
        self.assertEqual(answer.json()["error"]["code"], "permission_denied")

    def assert_invalid_token(self, answer: httpx2.Response) -> None:
        self.assertEqual(answer.status_code, 401, answer.text)
        challenge = answer.headers["www-authenticate"]
        self.assertIn('error="invalid_token"', challenge)
        self.assertIn("resource_metadata=", challenge)


def _checksum(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()
