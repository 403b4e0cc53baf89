"""Official MCP clients other than the project's own against crm-agent over Streamable HTTP
with sessions (installed by scripts/mcp-sdk-clients): every answer parses, and nothing in what
the server sends makes them warn.

- The Python SDK 1.12.4 and the TypeScript SDK 1.17.5 come from before protocol 2025-11-25 and
  read the SSE priming event that later versions expect (an id and a retry time, no data) as a
  message: the Python SDK logged an "Error parsing SSE message" traceback per response, the
  TypeScript SDK fired `onerror: Unexpected end of JSON input`. With the priming event sent to
  them (checked by switching it back on) both reported four such errors in this exchange;
  crm-agent now sends it only from 2025-11-25 on.
- The TypeScript SDK 1.32 validates tool schemas and warns about every `format` JSON Schema does
  not define (schemars' `uint64` and the like); the published schemas use none.
- The MCP Inspector's CLI (2.12) checks that tool schemas are portable to models that take a
  single-`type` dialect of JSON Schema: it found 641 type arrays before schemas were reshaped
  (204 in input schemas), and finds nothing now.
"""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest
from conftest import ROOT, Demo

HERE = pathlib.Path(__file__).resolve().parent / "sdk_clients"


@pytest.fixture(scope="session")
def older_python() -> str:
    done = subprocess.run([str(ROOT / "scripts/mcp-sdk-clients")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def run(command: list[str]) -> dict:
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=HERE)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_python_sdk_1_12_reads_every_answer(demo: Demo, http_url: str, older_python: str) -> None:
    report = run([older_python, str(HERE / "py_client.py"), http_url, demo.tokens["acme-owner"]])
    assert report["tools"] == len(demo.tool_names("acme-owner")) and report["called"]
    assert report["errors"] == []


@pytest.mark.parametrize("sdk", ["sdk-1.17", "sdk-1.32"])
def test_typescript_sdks_read_every_answer_without_a_warning(
    demo: Demo, http_url: str, older_python: str, sdk: str
) -> None:
    report = run(["node", str(HERE / "ts_client.mjs"), sdk, http_url, demo.tokens["acme-rep"]])
    assert report["tools"] == len(demo.tool_names("acme-rep")) and report["called"]
    assert report["errors"] == []


def test_the_inspectors_portability_check_finds_nothing(demo: Demo, http_url: str, older_python: str) -> None:
    inspector = HERE / "node_modules/inspector-2.12/clients/launcher/build/index.js"
    authorization = f"Authorization: Bearer {demo.tokens['acme-owner']}"
    done = subprocess.run(
        ["node", str(inspector), "--cli", http_url, "--method", "tools/list", "--strict", "--header", authorization],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=HERE,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(json.loads(done.stdout)["tools"]) == len(demo.tool_names("acme-owner"))
    assert "Warning" not in done.stderr and "portability" not in done.stderr, done.stderr[-3000:]
