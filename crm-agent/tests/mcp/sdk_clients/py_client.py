"""Lists the tools and calls one with the MCP Python SDK 1.12.4 (protocol 2025-06-18) over
Streamable HTTP; prints {"tools": N, "called": bool, "errors": [...]} where errors are the
problems the SDK logged (it logs an SSE event it cannot parse instead of failing).

Usage: python py_client.py URL TOKEN
"""

import asyncio
import json
import logging
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def main(url: str, token: str) -> None:
    errors = Collect()
    logging.getLogger().addHandler(errors)
    headers = {"Authorization": f"Bearer {token}"}
    async with streamablehttp_client(url, headers=headers) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            called = await session.call_tool("get_current_user_context", {})
    print(json.dumps({"tools": len(tools.tools), "called": not called.isError, "errors": errors.messages}))


asyncio.run(main(sys.argv[1], sys.argv[2]))
