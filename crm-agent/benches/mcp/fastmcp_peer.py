"""The peer for the MCP benchmark: an equivalent FastMCP (Python) server over the same SQLite file.

It does what crm-agent does for `tools/call get_customer`: checks the bearer token against the
hashed `api_tokens` table (unknown, revoked or expired tokens get 401), resolves the token's
membership, and reads the customer by id inside that organization. Served over Streamable HTTP,
stateless with JSON responses, like `crm-agent mcp --http --stateless`.

Usage: python fastmcp_peer.py --db PATH --port PORT
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import threading
import time

from fastmcp import FastMCP
from fastmcp.server.dependencies import get_http_headers

local = threading.local()
DB_PATH = ""


def db() -> sqlite3.Connection:
    if not hasattr(local, "conn"):
        local.conn = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True, check_same_thread=False)
        local.conn.row_factory = sqlite3.Row
    return local.conn


def caller() -> tuple[str, str]:
    """(organization id, user id) of the bearer token, or an exception."""
    header = get_http_headers(include_all=True).get("authorization", "")
    if not header.startswith("Bearer "):
        raise PermissionError("missing token")
    digest = hashlib.sha256(header.removeprefix("Bearer ").encode()).hexdigest()
    row = (
        db()
        .execute(
            "SELECT organization_id, user_id, expires_at, revoked_at FROM api_tokens WHERE secret_hash = ?", (digest,)
        )
        .fetchone()
    )
    now_us = int(time.time() * 1_000_000)
    if row is None or row["revoked_at"] is not None or (row["expires_at"] is not None and row["expires_at"] <= now_us):
        raise PermissionError("unknown token")
    member = (
        db()
        .execute(
            "SELECT role FROM members WHERE organization_id = ? AND user_id = ?",
            (row["organization_id"], row["user_id"]),
        )
        .fetchone()
    )
    if member is None:
        raise PermissionError("not a member")
    return row["organization_id"], row["user_id"]


mcp = FastMCP("crm-peer")


@mcp.tool
def get_customer(customer_id: str) -> dict:
    """One customer by id."""
    organization, _user = caller()
    row = (
        db()
        .execute("SELECT * FROM customers WHERE id = ? AND organization_id = ?", (customer_id, organization))
        .fetchone()
    )
    if row is None:
        raise ValueError(f"customer not found: {customer_id}")
    record = dict(row)
    for key in ("tags", "custom_fields"):
        if isinstance(record.get(key), str):
            record[key] = json.loads(record[key])
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    DB_PATH = args.db
    mcp.run(
        transport="http",
        host="127.0.0.1",
        port=args.port,
        stateless_http=True,
        json_response=True,
        show_banner=False,
        log_level="warning",
    )
